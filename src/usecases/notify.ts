import { formatAlert } from "../domain/alert.ts";
import type { AlertTarget, NewReplyEvent } from "../domain/events.ts";
import {
  DeliveryInProgressError,
  describeError,
  NotifierError,
  SlackAuthError,
  SlackChannelUnusableError,
  SlackRateLimitedError,
  SlackRejectedError,
} from "../errors.ts";
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

export type TargetOutcome =
  | { channelId: string; status: "posted"; ts: string; possiblyRepeated: boolean }
  | { channelId: string; status: "already_posted" }
  | { channelId: string; status: "failed_permanently"; reason: string; error: NotifierError }
  | {
      channelId: string;
      status: "retry";
      reason: string;
      retryAfterSeconds: number | undefined;
      /** Set when the cause is known to need a person (a rejected token), not just time. */
      error?: NotifierError;
    };

export interface NotifyResult {
  outcomes: TargetOutcome[];
}

/** Thrown when some channel of the event must be tried again; posted channels are skipped then. */
export class RetryDeliveryError extends NotifierError {
  readonly code = "slack_unavailable";
  readonly retryable = true;
  constructor(
    readonly outcomes: TargetOutcome[],
    readonly retryAfterSeconds: number | undefined,
  ) {
    const reasons = outcomes.flatMap((outcome) =>
      outcome.status === "retry" ? [`${outcome.channelId}: ${outcome.reason}`] : [],
    );
    super(`alert not delivered yet, will retry (${reasons.join("; ")})`);
  }
}

export const DEFAULT_CLAIM_LEASE_SECONDS = 60;

/**
 * Delivers one event to each of its target channels, exactly once per (event, channel):
 * claim in the ledger, post (in the conversation's thread), confirm. A channel that can never
 * accept the alert is reported and not retried; a channel that may accept it later makes the
 * whole event retry (the ledger skips the channels already done).
 */
export async function notify(event: NewReplyEvent, ports: NotifyPorts): Promise<NotifyResult> {
  const outcomes: TargetOutcome[] = [];
  for (const target of event.targets) {
    outcomes.push(await deliverToChannel(event, target, ports));
  }
  const retries = outcomes.filter((outcome) => outcome.status === "retry");
  if (retries.length > 0) {
    const retryAfter = Math.max(0, ...retries.map((outcome) => outcome.retryAfterSeconds ?? 0));
    throw new RetryDeliveryError(outcomes, retryAfter > 0 ? retryAfter : undefined);
  }
  return { outcomes };
}

async function deliverToChannel(event: NewReplyEvent, target: AlertTarget, ports: NotifyPorts): Promise<TargetOutcome> {
  const { channelId } = target;
  const context = { eventId: event.eventId, conversationUid: event.conversation.uid, channelId };
  let claim: Awaited<ReturnType<DeliveryLedger["claim"]>>;
  try {
    claim = await ports.ledger.claim(
      event.eventId,
      channelId,
      ports.clock.now(),
      ports.claimLeaseSeconds ?? DEFAULT_CLAIM_LEASE_SECONDS,
    );
  } catch (error) {
    return retryOutcome(channelId, error, ports, context);
  }
  if (claim === "posted") {
    ports.metrics.count("AlertsSkippedDuplicate");
    ports.log.info("alert already posted; skipped", context);
    return { channelId, status: "already_posted" };
  }
  if (claim === "in_progress") {
    return retryOutcome(
      channelId,
      new DeliveryInProgressError("another notifier is posting this alert"),
      ports,
      context,
    );
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
  } catch (error) {
    // A reclaimed claim stands for an earlier attempt that may have posted: giving it back would
    // let the next attempt post again unmarked. It is kept until its lease runs out instead.
    if (isDefinitelyNotPosted(error) && !possiblyRepeated) await releaseQuietly(event.eventId, channelId, ports);
    if (error instanceof SlackAuthError) {
      // The token is the workspace's problem, not this alert's: acknowledging would drop every
      // alert of the outage. The queue keeps retrying it, then parks it in the DLQ, from which
      // `dlq redrive` delivers it once the token is fixed. Counted (and alarmed) as permanent.
      ports.metrics.count("PermanentFailures");
      ports.log.error("Slack rejected the token; the alert is kept for a retry", { ...context, reason: error.message });
      return { channelId, status: "retry", reason: error.message, retryAfterSeconds: undefined, error };
    }
    if (error instanceof SlackChannelUnusableError || error instanceof SlackRejectedError) {
      ports.metrics.count("PermanentFailures");
      ports.log.error("alert cannot be delivered to this channel; not retried", { ...context, reason: error.message });
      return { channelId, status: "failed_permanently", reason: error.message, error };
    }
    return retryOutcome(channelId, error, ports, context);
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

/** Rate limits and explicit platform errors are answers: Slack did not post. Timeouts are not. */
function isDefinitelyNotPosted(error: unknown): boolean {
  return (
    error instanceof SlackRateLimitedError ||
    error instanceof SlackChannelUnusableError ||
    error instanceof SlackAuthError ||
    error instanceof SlackRejectedError ||
    !(error instanceof NotifierError)
  );
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
  error: unknown,
  ports: NotifyPorts,
  context: Record<string, unknown>,
): TargetOutcome {
  const retryAfterSeconds = error instanceof SlackRateLimitedError ? error.retryAfterSeconds : undefined;
  const reason = describeError(error);
  ports.metrics.count("AlertsRetried");
  ports.log.warn("alert will be retried", { ...context, reason, retryAfterSeconds });
  return { channelId, status: "retry", reason, retryAfterSeconds };
}
