import { ALERT_EVENT_TYPE, formatAlert, type ProjectNaming, type SlackMessage } from "../domain/alert.ts";
import { deliveryPlan, targetTimeZone } from "../domain/delivery-schedule.ts";
import { type AlertTarget, digestIdFor, type NewReplyEvent } from "../domain/events.ts";
import { localDate, processTimeZone } from "../domain/local-time.ts";
import { asNotifierError, DeliveryInProgressError, describeError, type NotifierError } from "../errors.ts";
import type {
  Claim,
  ClaimOptions,
  ClaimOutcome,
  Clock,
  DeliveryLedger,
  DigestStore,
  Log,
  Metrics,
  MuteStore,
  ReplyCounter,
  SlackPoster,
  ThreadStore,
} from "../ports.ts";

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
  /** A muted (conversation, channel) gets no alert there; its replies are recorded as handled. */
  mutes?: Pick<MuteStore, "isMuted"> | undefined;
  /** Where replies wait for a digest (quiet hours, digest intervals); absent: every alert is posted at once. */
  digests?: DigestStore | undefined;
  /** Counts the replies alerted per conversation, channel and local day: "3rd reply today". */
  replyCounter?: ReplyCounter | undefined;
  /** Project names from the cache (src/usecases/project-names.ts); absent: alerts show project ids. */
  projectNames?: { cachedLabel(projectId: string): Promise<ProjectNaming> } | undefined;
  /** The zone of times for subscriptions without their own: `TZ` (processTimeZone) unless given. */
  timeZone?: string | undefined;
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
  /** Handled before (posted, or shown in a digest: `ts` when the ledger knows the message). */
  | { channelId: string; status: "already_posted"; ts?: string | undefined }
  /** Muted in this channel: recorded as handled, not posted. */
  | { channelId: string; status: "muted" }
  /** Held for a digest due at `dueAt` (undefined: held by an earlier delivery). */
  | { channelId: string; status: "held"; dueAt: Date | undefined }
  | { channelId: string; status: "failed_permanently"; error: NotifierError }
  | { channelId: string; status: "retry"; error: NotifierError };

export const DEFAULT_CLAIM_LEASE_SECONDS = 60;

/**
 * Delivers one event to each of its target channels, exactly once per (event, channel):
 * claim in the ledger, post (in the conversation's thread), confirm. A muted conversation is
 * recorded as handled instead of posted; a reply that falls into quiet hours or a digest interval
 * is held for its digest (src/usecases/digest.ts posts it). Returns one outcome per channel and
 * throws nothing: a channel that can never take the alert fails permanently, one that may take it
 * later asks for a retry (the ledger then skips the channels already done).
 */
export async function notify(event: NewReplyEvent, ports: NotifyPorts): Promise<TargetOutcome[]> {
  const outcomes: TargetOutcome[] = [];
  for (const target of event.targets) {
    outcomes.push(await deliverToChannel(event, target, ports));
  }
  return outcomes;
}

/** How often a hold is planned again when its digest closed meanwhile (its due time had come). */
const HOLD_ROUNDS = 3;

async function deliverToChannel(event: NewReplyEvent, target: AlertTarget, ports: NotifyPorts): Promise<TargetOutcome> {
  const { channelId } = target;
  const context = { eventId: event.eventId, conversationUid: event.conversation.uid, channelId };
  const claimed = await claimDelivery(event.eventId, channelId, ports, context);
  if ("outcome" in claimed) return claimed.outcome;
  const { claim, firstClaimedAt } = claimed;
  const reclaimed = firstClaimedAt !== undefined;

  let threadTs: string | undefined;
  try {
    if (ports.mutes && (await ports.mutes.isMuted(event.conversation.uid, channelId))) {
      await ports.ledger.settle(event.eventId, channelId, claim, "muted", ports.clock.now());
      ports.log.info("conversation muted in this channel; reply recorded, not posted", context);
      return { channelId, status: "muted" };
    }
    threadTs = target.threadPerConversation
      ? await ports.threads.getThread(event.conversation.uid, channelId)
      : undefined;
  } catch (thrown) {
    return await afterFailedAttempt(
      asNotifierError(thrown),
      event.eventId,
      channelId,
      claim,
      reclaimed,
      ports,
      context,
    );
  }

  const item = alertItem(event, target, threadTs, ports);
  let possiblyRepeated = false;
  if (firstClaimedAt) {
    // An earlier attempt may have posted: look before posting (or holding) again.
    const look = await readBack(item, firstClaimedAt, ports);
    if (look.status === "found") return await recordFound(item, look, ports, context);
    possiblyRepeated = look.status === "unreadable";
  }

  // A reply whose earlier attempt may be in the channel unseen is posted now, marked, rather than held.
  if (ports.digests && !possiblyRepeated) {
    const held = await holdForDigest(event, target, claim, ports, context);
    if (held) return held;
  }
  return await postClaimed(item, { claim, reclaimed, possiblyRepeated }, ports, context);
}

/** The claim of one delivery, or the outcome when there is nothing for this caller to post. */
async function claimDelivery(
  ledgerId: string,
  channelId: string,
  ports: NotifyPorts,
  context: Record<string, unknown>,
  options?: ClaimOptions,
): Promise<
  { claim: Claim; firstClaimedAt: Date | undefined; threadTs?: string | undefined } | { outcome: TargetOutcome }
> {
  const leaseSeconds = ports.claimLeaseSeconds ?? DEFAULT_CLAIM_LEASE_SECONDS;
  let claimed: ClaimOutcome;
  try {
    claimed = await ports.ledger.claim(ledgerId, channelId, ports.clock.now(), leaseSeconds, options);
  } catch (error) {
    return { outcome: retryOutcome(channelId, asNotifierError(error), ports, context) };
  }
  switch (claimed.status) {
    case "posted":
      ports.metrics.count("AlertsSkippedDuplicate");
      ports.log.info("alert already posted; skipped", context);
      return { outcome: { channelId, status: "already_posted", ts: claimed.messageTs } };
    case "settled":
      ports.log.info(`reply already handled (${claimed.how}); skipped`, context);
      return { outcome: { channelId, status: "already_posted", ts: claimed.messageTs } };
    case "held":
      ports.log.info("reply already held for its digest; skipped", { ...context, digestId: claimed.digestId });
      return { outcome: { channelId, status: "held", dueAt: undefined } };
    case "in_progress": {
      const leaseLeft = Math.max(0, (claimed.leaseUntil.getTime() - ports.clock.now().getTime()) / 1000);
      const inProgress = new DeliveryInProgressError(
        "another notifier is posting this alert",
        Math.ceil(leaseLeft) + CLAIM_LEASE_MARGIN_SECONDS,
      );
      return { outcome: retryOutcome(channelId, inProgress, ports, context) };
    }
    case "claimed":
      return { claim: claimed.claim, firstClaimedAt: undefined };
    case "reclaimed":
      return { claim: claimed.claim, firstClaimedAt: claimed.firstClaimedAt, threadTs: claimed.threadTs };
  }
}

/**
 * Quiet hours or a digest interval: the claim becomes "held for the digest due then" (one
 * transaction with the digest itself), and the digest's delivery posts it. Undefined when the
 * reply is to be posted now.
 */
async function holdForDigest(
  event: NewReplyEvent,
  target: AlertTarget,
  claim: Claim,
  ports: NotifyPorts,
  context: Record<string, unknown>,
): Promise<TargetOutcome | undefined> {
  const digests = ports.digests;
  if (!digests) return undefined;
  let now = ports.clock.now();
  for (let round = 1; round <= HOLD_ROUNDS; round += 1) {
    const plan = deliveryPlan(target, now, ports.timeZone ?? processTimeZone());
    if (plan.when === "now") return undefined;
    const digestId = digestIdFor(target.subscriptionId, plan.dueAt);
    try {
      const held = await digests.hold({
        digestId,
        dueAt: plan.dueAt,
        reason: plan.reason,
        reply: { event, target, heldAt: ports.clock.now().toISOString() },
        claim,
        now: ports.clock.now(),
      });
      if (held.status === "held") {
        ports.log.info("reply held for its digest", { ...context, digestId, dueAt: plan.dueAt.toISOString() });
        return { channelId: target.channelId, status: "held", dueAt: plan.dueAt };
      }
      if (held.status === "claim_lost") {
        return retryOutcome(
          target.channelId,
          new DeliveryInProgressError("another notifier took this alert over", CLAIM_LEASE_MARGIN_SECONDS),
          ports,
          context,
        );
      }
      // Its digest is being delivered already: the next one takes it, or it is posted now.
      now = new Date(Math.max(now.getTime(), held.dueAt.getTime()));
    } catch (error) {
      // Nothing was held: the claim is released (nothing was posted either) and the alert retried.
      await releaseQuietly(event.eventId, target.channelId, ports);
      return failureOutcome(target.channelId, asNotifierError(error), ports, context);
    }
  }
  return undefined;
}

/** What one post needs: where, which ledger entry, how to find it again, and the message. */
interface PostItem {
  /** The ledger and metadata id: the event's, or the digest's. */
  ledgerId: string;
  channelId: string;
  eventType: string;
  /** The thread to post into; undefined: the channel's top level. */
  threadTs: string | undefined;
  /** A post that starts a conversation's thread is remembered as that thread. */
  startsThreadOf: string | undefined;
  format(possiblyRepeated: boolean): Promise<SlackMessage>;
  /** For onPosted. */
  alert?: { event: NewReplyEvent; target: AlertTarget } | undefined;
}

/** A reply's alert in its channel (and thread), with its project's name, local times and the day's count. */
export function alertItem(
  event: NewReplyEvent,
  target: AlertTarget,
  threadTs: string | undefined,
  ports: NotifyPorts,
  options: { startsThread?: boolean } = {},
): PostItem {
  return {
    ledgerId: event.eventId,
    channelId: target.channelId,
    eventType: ALERT_EVENT_TYPE,
    threadTs,
    startsThreadOf:
      (options.startsThread ?? true) && target.threadPerConversation && threadTs === undefined
        ? event.conversation.uid
        : undefined,
    alert: { event, target },
    format: async (possiblyRepeated) => {
      const timeZone = targetTimeZone(target, ports.timeZone ?? processTimeZone());
      const [project, replyOfDay] = await Promise.all([
        projectNaming(event, ports),
        countReply(event, target.channelId, timeZone, ports),
      ]);
      return formatAlert(event, target, {
        conversationUrlTemplate: ports.conversationUrlTemplate,
        possiblyRepeated,
        project,
        timeZone,
        replyOfDay,
      });
    },
  };
}

async function projectNaming(event: NewReplyEvent, ports: NotifyPorts): Promise<ProjectNaming | undefined> {
  const projectId = event.conversation.projectId;
  if (!projectId || !ports.projectNames) return undefined;
  try {
    return await ports.projectNames.cachedLabel(projectId);
  } catch {
    return undefined;
  }
}

/** The reply's place in its conversation's day in this channel; undefined (not shown) when it cannot be counted. */
async function countReply(
  event: NewReplyEvent,
  channelId: string,
  timeZone: string,
  ports: NotifyPorts,
): Promise<number | undefined> {
  if (!ports.replyCounter) return undefined;
  const created = Date.parse(event.message.createdAt);
  if (Number.isNaN(created)) return undefined;
  try {
    const day = localDate(new Date(created), timeZone);
    return await ports.replyCounter.record(event.conversation.uid, channelId, day, event.eventId);
  } catch (error) {
    ports.log.debug("could not count the conversation's replies today; the alert goes without", {
      eventId: event.eventId,
      channelId,
      reason: describeError(error),
    });
    return undefined;
  }
}

/**
 * Posts a claimed item and records it: the post, then the thread it started, then the ledger.
 * Used for alerts, for a digest's message and for the replies a digest posts into threads.
 */
export async function postClaimed(
  item: PostItem,
  attempt: { claim: Claim; reclaimed: boolean; possiblyRepeated: boolean },
  ports: NotifyPorts,
  context: Record<string, unknown>,
): Promise<TargetOutcome> {
  const { channelId } = item;
  const { possiblyRepeated } = attempt;
  let posted: { ts: string };
  try {
    const message = await item.format(possiblyRepeated);
    posted = await ports.slack.post(channelId, message, item.threadTs);
  } catch (thrown) {
    return await afterFailedAttempt(
      asNotifierError(thrown),
      item.ledgerId,
      channelId,
      attempt.claim,
      attempt.reclaimed,
      ports,
      context,
    );
  }

  // From here on Slack has the message. Failures below must not make the event retry a post
  // that succeeded: the ledger write is retried in place, and a lost thread id only means
  // the next alert of this conversation starts a new thread.
  if (possiblyRepeated) ports.metrics.count("AlertsPossiblyRepeated");
  if (item.startsThreadOf !== undefined) {
    await saveThreadQuietly(item.startsThreadOf, channelId, posted.ts, ports, context);
  }
  await markPostedWithRetry(item.ledgerId, channelId, posted.ts, ports, context);
  ports.metrics.count("AlertsPosted");
  ports.log.info("alert posted", { ...context, ts: posted.ts, threadTs: item.threadTs, possiblyRepeated });
  if (item.alert) {
    ports.onPosted?.({ ...item.alert, ts: posted.ts, threadTs: item.threadTs, possiblyRepeated });
  }
  return { channelId, status: "posted", ts: posted.ts, possiblyRepeated };
}

/**
 * A failed attempt after our claim: if the alert may be in the channel now (or an earlier
 * attempt's may be), the claim stays, so the next attempt looks first, and its lease ends now, so
 * that attempt need not wait for it; otherwise the claim is released.
 */
async function afterFailedAttempt(
  error: NotifierError,
  ledgerId: string,
  channelId: string,
  claim: Claim,
  reclaimed: boolean,
  ports: NotifyPorts,
  context: Record<string, unknown>,
): Promise<TargetOutcome> {
  if (error.mayHaveTakenEffect || reclaimed) {
    await expireLeaseQuietly(ledgerId, channelId, claim, ports);
  } else {
    await releaseQuietly(ledgerId, channelId, ports);
  }
  return failureOutcome(channelId, error, ports, context);
}

/** Claims, reads back when an earlier attempt may have posted, and posts: the whole exactly-once path of one item. */
export async function deliverItem(
  item: PostItem,
  ports: NotifyPorts,
  context: Record<string, unknown>,
  options?: ClaimOptions & { threadFromClaim?: (threadTs: string | undefined) => PostItem },
): Promise<TargetOutcome> {
  const claimed = await claimDelivery(item.ledgerId, item.channelId, ports, context, options);
  if ("outcome" in claimed) return claimed.outcome;
  const { claim, firstClaimedAt } = claimed;
  // A takeover posts into the thread the earlier attempt recorded, and looks for it there.
  const target = claimed.threadTs && options?.threadFromClaim ? options.threadFromClaim(claimed.threadTs) : item;
  let possiblyRepeated = false;
  if (firstClaimedAt) {
    const look = await readBack(target, firstClaimedAt, ports);
    if (look.status === "found") return await recordFound(target, look, ports, context);
    possiblyRepeated = look.status === "unreadable";
  }
  return await postClaimed(
    target,
    { claim, reclaimed: firstClaimedAt !== undefined, possiblyRepeated },
    ports,
    context,
  );
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
async function readBack(item: PostItem, firstClaimedAt: Date, ports: NotifyPorts): Promise<ReadBack> {
  const { channelId } = item;
  const search = {
    eventId: item.ledgerId,
    oldest: new Date(firstClaimedAt.getTime() - READ_BACK_SLACK_SECONDS * 1000),
    threadTs: item.threadTs,
    eventType: item.eventType,
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
      eventId: item.ledgerId,
      channelId,
    });
    return { status: "absent" };
  }
  ports.log.warn("could not read the channel back; the alert is posted marked as a possible repeat", {
    eventId: item.ledgerId,
    channelId,
    reason,
  });
  return { status: "unreadable", reason };
}

/** An earlier attempt's post is in the channel: record it as the delivery, post nothing. */
async function recordFound(
  item: PostItem,
  found: { ts: string; threadTs: string | undefined },
  ports: NotifyPorts,
  context: Record<string, unknown>,
): Promise<TargetOutcome> {
  const { channelId } = item;
  if (item.startsThreadOf !== undefined) {
    await saveThreadQuietly(item.startsThreadOf, channelId, found.threadTs ?? found.ts, ports, context);
  }
  await markPostedWithRetry(item.ledgerId, channelId, found.ts, ports, context);
  ports.metrics.count("AlertsFoundOnReadBack");
  ports.log.info("alert found in the channel from an earlier attempt; recorded, not posted again", {
    ...context,
    ts: found.ts,
  });
  return { channelId, status: "already_posted", ts: found.ts };
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
