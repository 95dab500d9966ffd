import { formatAlert } from "../domain/alert.ts";
import type { AlertTarget, NewReplyEvent } from "../domain/events.ts";
import { asNotifierError, DeliveryInProgressError, describeError, type NotifierError } from "../errors.ts";
import type { Claim, ClaimOutcome, Clock, DeliveryLedger, Log, Metrics, SlackPoster, ThreadStore } from "../ports.ts";

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
  /** Waits between read-back looks and ledger retries; tests make it instant. */
  sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

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
  let claimed: ClaimOutcome;
  try {
    claimed = await ports.ledger.claim(event.eventId, channelId, ports.clock.now(), leaseSeconds);
  } catch (error) {
    return retryOutcome(channelId, asNotifierError(error), ports, context);
  }
  if (claimed.status === "posted") {
    ports.metrics.count("AlertsSkippedDuplicate");
    ports.log.info("alert already posted; skipped", context);
    return { channelId, status: "already_posted" };
  }
  if (claimed.status === "in_progress") {
    const leaseLeft = Math.max(0, (claimed.leaseUntil.getTime() - ports.clock.now().getTime()) / 1000);
    const inProgress = new DeliveryInProgressError(
      "another notifier is posting this alert",
      Math.ceil(leaseLeft) + CLAIM_LEASE_MARGIN_SECONDS,
    );
    return retryOutcome(channelId, inProgress, ports, context);
  }
  const { claim } = claimed;
  const reclaimed = claimed.status === "reclaimed";
  const firstClaimedAt = claimed.status === "reclaimed" ? claimed.firstClaimedAt : undefined;

  let threadTs: string | undefined;
  let possiblyRepeated = false;
  let posted: { ts: string };
  try {
    threadTs = target.threadPerConversation
      ? await ports.threads.getThread(event.conversation.uid, channelId)
      : undefined;
    if (firstClaimedAt) {
      // An earlier attempt may have posted: look before posting again.
      const look = await readBack(event, channelId, threadTs, firstClaimedAt, ports);
      if (look.status === "found") return await recordFound(event, target, look, threadTs, ports, context);
      possiblyRepeated = look.status === "unreadable";
    }
    const message = formatAlert(event, target, {
      conversationUrlTemplate: ports.conversationUrlTemplate,
      possiblyRepeated,
    });
    posted = await ports.slack.post(channelId, message, threadTs);
  } catch (thrown) {
    const error = asNotifierError(thrown);
    if (error.mayHaveTakenEffect || reclaimed) {
      // The alert may be in the channel now (or an earlier attempt's may be): the claim stays, so
      // the next attempt looks first, and its lease ends now, so that attempt need not wait for it.
      await expireLeaseQuietly(event.eventId, channelId, claim, ports);
    } else {
      await releaseQuietly(event.eventId, channelId, ports);
    }
    return failureOutcome(channelId, error, ports, context);
  }

  // From here on Slack has the message. Failures below must not make the event retry a post
  // that succeeded: the ledger write is retried in place, and a lost thread id only means
  // the next alert of this conversation starts a new thread.
  if (possiblyRepeated) ports.metrics.count("AlertsPossiblyRepeated");
  if (target.threadPerConversation && threadTs === undefined) {
    await saveThreadQuietly(event.conversation.uid, channelId, posted.ts, ports, context);
  }
  await markPostedWithRetry(event.eventId, channelId, posted.ts, ports, context);
  ports.metrics.count("AlertsPosted");
  ports.log.info("alert posted", { ...context, ts: posted.ts, threadTs, possiblyRepeated });
  ports.onPosted?.({ event, target, ts: posted.ts, threadTs, possiblyRepeated });
  return { channelId, status: "posted", ts: posted.ts, possiblyRepeated };
}

/** How often a read-back looks before concluding "not there", and how long it waits in between. */
export const READ_BACK_ATTEMPTS = 3;
export const READ_BACK_PAUSE_MS = 700;
/** The read-back starts this long before the first attempt's claim: Slack's clock and ours may differ. */
const READ_BACK_SLACK_SECONDS = 60;

type ReadBack =
  | { status: "found"; ts: string; threadTs: string | undefined }
  | { status: "absent" }
  | { status: "unreadable"; reason: string };

/**
 * Is the alert in the channel already? Found by the event id in its message metadata, among the
 * replies of the conversation's thread (which include the thread's first message) or, without a
 * thread, among the channel's messages since just before the first attempt. Slack may show a
 * message a moment after it accepted it, so "absent" is concluded only after a few looks. When the
 * channel cannot be read (no history scope, or the reads keep failing), the answer is unknown.
 */
async function readBack(
  event: NewReplyEvent,
  channelId: string,
  threadTs: string | undefined,
  firstClaimedAt: Date,
  ports: NotifyPorts,
): Promise<ReadBack> {
  const search = {
    eventId: event.eventId,
    oldest: new Date(firstClaimedAt.getTime() - READ_BACK_SLACK_SECONDS * 1000),
    threadTs,
  };
  const sleep = ports.sleep ?? defaultSleep;
  let reason = "";
  for (let attempt = 1; attempt <= READ_BACK_ATTEMPTS; attempt += 1) {
    if (attempt > 1) await sleep(READ_BACK_PAUSE_MS * (attempt - 1));
    try {
      const found = await ports.slack.findAlert(channelId, search);
      if (found) return { status: "found", ...found };
      reason = "";
    } catch (thrown) {
      const error = asNotifierError(thrown);
      reason = error.message;
      // No history scope (or another refusal no retry changes): looking again cannot help.
      if (!error.retryable) break;
    }
  }
  if (!reason) {
    ports.log.info("an earlier attempt's alert is not in the channel; posting it", {
      eventId: event.eventId,
      channelId,
    });
    return { status: "absent" };
  }
  ports.log.warn("could not read the channel back; the alert is posted marked as a possible repeat", {
    eventId: event.eventId,
    channelId,
    reason,
  });
  return { status: "unreadable", reason };
}

/** An earlier attempt's post is in the channel: record it as the delivery, post nothing. */
async function recordFound(
  event: NewReplyEvent,
  target: AlertTarget,
  found: { ts: string; threadTs: string | undefined },
  storedThread: string | undefined,
  ports: NotifyPorts,
  context: Record<string, unknown>,
): Promise<TargetOutcome> {
  const { channelId } = target;
  if (target.threadPerConversation && storedThread === undefined) {
    await saveThreadQuietly(event.conversation.uid, channelId, found.threadTs ?? found.ts, ports, context);
  }
  await markPostedWithRetry(event.eventId, channelId, found.ts, ports, context);
  ports.metrics.count("AlertsFoundOnReadBack");
  ports.log.info("alert found in the channel from an earlier attempt; recorded, not posted again", {
    ...context,
    ts: found.ts,
  });
  return { channelId, status: "already_posted" };
}

async function saveThreadQuietly(
  conversationUid: string,
  channelId: string,
  ts: string,
  ports: NotifyPorts,
  context: Record<string, unknown>,
): Promise<void> {
  try {
    await ports.threads.saveThread(conversationUid, channelId, ts);
  } catch (error) {
    ports.log.warn("could not remember the conversation's thread", { ...context, reason: describeError(error) });
  }
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

async function expireLeaseQuietly(eventId: string, channelId: string, claim: Claim, ports: NotifyPorts): Promise<void> {
  try {
    await ports.ledger.expireLease(eventId, channelId, claim, ports.clock.now());
  } catch (error) {
    // The lease then runs out by itself; the retry waits for it.
    ports.log.warn("could not end the delivery claim's lease", { eventId, channelId, reason: describeError(error) });
  }
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
        // Slack has it, the ledger does not: a redelivery after the lease finds the claim
        // unconfirmed, reads the channel back, finds this post and records it then.
        ports.log.error("posted, but could not record it in the ledger; a retry will find it in the channel", {
          ...context,
          reason: describeError(error),
        });
        return;
      }
      await (ports.sleep ?? defaultSleep)(100 * 2 ** attempt);
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
