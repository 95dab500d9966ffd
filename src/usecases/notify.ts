import { formatAlert } from "../domain/alert.ts";
import type { AlertTarget, NewReplyEvent } from "../domain/events.ts";
import { asNotifierError, DeliveryInProgressError, describeError, type NotifierError } from "../errors.ts";
import type { Clock, DeliveryLedger, Log, Metrics, SlackPoster, ThreadStore } from "../ports.ts";

export interface NotifyPorts {
  ledger: DeliveryLedger;
  threads: ThreadStore;
  slack: SlackPoster;
  clock: Clock;
  log: Log;
  metrics: Metrics;
  conversationUrlTemplate?: string | undefined;
  /**
   * How long a claim protects an alert from a second notifier. Longer than one Slack call
   * with its retries; shorter than the queue's visibility timeout, so that a redelivery after
   * a crash finds the claim expired and re-posts (marked) instead of waiting forever.
   */
  claimLeaseSeconds?: number;
  onPosted?: (posted: PostedAlert) => void;
}

export interface PostedAlert {
  event: NewReplyEvent;
  target: AlertTarget;
  ts: string;
  threadTs: string | undefined;
  possiblyRepeated: boolean;
}

/**
 * What happened to one channel of an event. `retry`: the alert is kept and must be tried again
 * (the error says when and why); `failed_permanently`: this channel will never take it.
 */
export type TargetOutcome =
  | { channelId: string; status: "posted"; ts: string; possiblyRepeated: boolean }
  | { channelId: string; status: "already_posted" }
  | { channelId: string; status: "failed_permanently"; error: NotifierError }
  | { channelId: string; status: "retry"; error: NotifierError };

export const DEFAULT_CLAIM_LEASE_SECONDS = 60;

/**
 * Delivers one event to each of its target channels, exactly once per (event, channel):
 * claim in the ledger, post (in the conversation's thread), confirm. Returns one outcome per
 * channel and throws nothing: a channel that can never take the alert fails permanently, one
 * that may take it later asks for a retry (the ledger then skips the channels already done).
 */
export async function notify(event: NewReplyEvent, ports: NotifyPorts): Promise<TargetOutcome[]> {
  const outcomes: TargetOutcome[] = [];
  for (const target of event.targets) {
    outcomes.push(await deliverToChannel(event, target, ports));
  }
  return outcomes;
}

async function deliverToChannel(event: NewReplyEvent, target: AlertTarget, ports: NotifyPorts): Promise<TargetOutcome> {
  const { channelId } = target;
  const context = { eventId: event.eventId, conversationUid: event.conversation.uid, channelId };
  const leaseSeconds = ports.claimLeaseSeconds ?? DEFAULT_CLAIM_LEASE_SECONDS;
  let claim: Awaited<ReturnType<DeliveryLedger["claim"]>>;
  try {
    claim = await ports.ledger.claim(event.eventId, channelId, ports.clock.now(), leaseSeconds);
  } catch (error) {
    return retryOutcome(channelId, asNotifierError(error), ports, context);
  }
  if (claim === "posted") {
    ports.metrics.count("AlertsSkippedDuplicate");
    ports.log.info("alert already posted; skipped", context);
    return { channelId, status: "already_posted" };
  }
  if (claim === "in_progress") {
    const inProgress = new DeliveryInProgressError(
      "another notifier is posting this alert",
      leaseSeconds + CLAIM_LEASE_MARGIN_SECONDS,
    );
    return retryOutcome(channelId, inProgress, ports, context);
  }
  const possiblyRepeated = claim === "reclaimed";

  let threadTs: string | undefined;
  let posted: { ts: string };
  try {
    threadTs = target.threadPerConversation
      ? await ports.threads.getThread(event.conversation.uid, channelId)
      : undefined;
    const message = formatAlert(event, target, {
      conversationUrlTemplate: ports.conversationUrlTemplate,
      possiblyRepeated,
    });
    posted = await ports.slack.post(channelId, message, threadTs);
  } catch (thrown) {
    const error = asNotifierError(thrown);
    // A reclaimed claim stands for an earlier attempt that may have posted: giving it back would
    // let the next attempt post again unmarked. It is kept until its lease runs out instead.
    if (!error.mayHaveTakenEffect && !possiblyRepeated) await releaseQuietly(event.eventId, channelId, ports);
    return failureOutcome(channelId, error, ports, context);
  }

  // From here on Slack has the message. Failures below must not make the event retry a post
  // that succeeded: the ledger write is retried in place, and a lost thread id only means
  // the next alert of this conversation starts a new thread.
  if (possiblyRepeated) ports.metrics.count("AlertsPossiblyRepeated");
  if (target.threadPerConversation && threadTs === undefined) {
    try {
      await ports.threads.saveThread(event.conversation.uid, channelId, posted.ts);
    } catch (error) {
      ports.log.warn("could not remember the conversation's thread", { ...context, reason: describeError(error) });
    }
  }
  await markPostedWithRetry(event.eventId, channelId, posted.ts, ports, context);
  ports.metrics.count("AlertsPosted");
  ports.log.info("alert posted", { ...context, ts: posted.ts, threadTs, possiblyRepeated });
  ports.onPosted?.({ event, target, ts: posted.ts, threadTs, possiblyRepeated });
  return { channelId, status: "posted", ts: posted.ts, possiblyRepeated };
}

/** A retry waits this much past a claim's lease, so that it finds the lease run out. */
export const CLAIM_LEASE_MARGIN_SECONDS = 5;

/**
 * What a failed post means for the alert, read off the error: one that a retry can fix, or that
 * reaches the whole service (a rejected token: the workspace's problem, not this alert's), keeps
 * the alert; one confined to this alert or channel that no retry can fix drops it for this channel.
 * A kept alert whose token was rejected retries until the queue parks it in the dead letters,
 * from which `dlq redrive` delivers it once the token is fixed.
 */
function failureOutcome(
  channelId: string,
  error: NotifierError,
  ports: NotifyPorts,
  context: Record<string, unknown>,
): TargetOutcome {
  if (error.retryable) return retryOutcome(channelId, error, ports, context);
  ports.metrics.count("PermanentFailures");
  if (error.reach === "service") {
    ports.log.error("the service refused the alert until someone acts; it is kept for a retry", {
      ...context,
      reason: error.message,
    });
    return { channelId, status: "retry", error };
  }
  ports.log.error("alert cannot be delivered to this channel; not retried", { ...context, reason: error.message });
  return { channelId, status: "failed_permanently", error };
}

async function releaseQuietly(eventId: string, channelId: string, ports: NotifyPorts): Promise<void> {
  try {
    await ports.ledger.release(eventId, channelId);
  } catch (error) {
    // The claim then simply expires; the retry finds it reclaimable.
    ports.log.warn("could not release the delivery claim", { eventId, channelId, reason: describeError(error) });
  }
}

const MARK_POSTED_ATTEMPTS = 3;

async function markPostedWithRetry(
  eventId: string,
  channelId: string,
  ts: string,
  ports: NotifyPorts,
  context: Record<string, unknown>,
): Promise<void> {
  for (let attempt = 1; attempt <= MARK_POSTED_ATTEMPTS; attempt += 1) {
    try {
      await ports.ledger.markPosted(eventId, channelId, ts, ports.clock.now());
      return;
    } catch (error) {
      if (attempt === MARK_POSTED_ATTEMPTS) {
        // The duplicate window: Slack accepted, the ledger did not hear. A redelivery after
        // the lease re-posts with a visible "may repeat" marker (AlertsPossiblyRepeated).
        ports.log.error("posted, but could not record it in the ledger; a retry may repeat it", {
          ...context,
          reason: describeError(error),
        });
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt));
    }
  }
}

function retryOutcome(
  channelId: string,
  error: NotifierError,
  ports: NotifyPorts,
  context: Record<string, unknown>,
): TargetOutcome {
  ports.metrics.count("AlertsRetried");
  ports.log.warn("alert will be retried", {
    ...context,
    reason: error.message,
    retryAfterSeconds: error.retryAfterSeconds,
  });
  return { channelId, status: "retry", error };
}
