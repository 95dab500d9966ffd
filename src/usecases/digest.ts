import { DIGEST_EVENT_TYPE } from "../domain/alert.ts";
import { targetTimeZone } from "../domain/delivery-schedule.ts";
import { type DigestConversation, formatDigest } from "../domain/digest-message.ts";
import { type DigestDue, digestEventId } from "../domain/events.ts";
import { processTimeZone } from "../domain/local-time.ts";
import { asNotifierError, describeError } from "../errors.ts";
import type { Clock, DigestQueue, DigestRecord, DigestStore, HeldReply, Log } from "../ports.ts";
import { alertItem, deliverItem, type NotifyPorts, type TargetOutcome } from "./notify.ts";

/**
 * Digests: replies held in quiet hours or for a digest interval (notify.ts holds them) are
 * delivered as one message when the digest is due. The poller's tick finds due digests and
 * queues one message each (queueDueDigests); the notifier delivers it (deliverDigest) with the
 * same exactly-once path as an alert: ledger claim, read-back, post, record. Then each held reply
 * is settled: posted into its conversation's thread (thread-per-conversation subscriptions), or
 * recorded as shown in the digest. A redelivered digest finds its message and every settled reply
 * in the ledger and posts nothing twice.
 */

export interface DigestTickPorts {
  digests: Pick<DigestStore, "due" | "markQueued">;
  queue: DigestQueue;
  clock: Clock;
  log: Log;
}

/** At most this many due digests are queued per tick; the rest wait for the next. */
export const DUE_DIGESTS_PER_TICK = 100;
/** A digest queued this long ago and still due (its message lost, or dead-lettered) is queued again. */
export const DIGEST_REQUEUE_AFTER_MS = 15 * 60 * 1000;

/** The poller's step: queue every digest that is due. Returns how many; never throws. */
export async function queueDueDigests(ports: DigestTickPorts): Promise<number> {
  const now = ports.clock.now();
  try {
    const due = await ports.digests.due(now, { limit: DUE_DIGESTS_PER_TICK, requeueAfterMs: DIGEST_REQUEUE_AFTER_MS });
    if (due.length === 0) return 0;
    await ports.queue.sendDigests(due);
    for (const digest of due) await ports.digests.markQueued(digest, now);
    ports.log.info("due digests queued", { count: due.length });
    return due.length;
  } catch (error) {
    // The digests stay due: the next tick queues them.
    ports.log.warn("could not queue the due digests; the next poll tries again", { reason: describeError(error) });
    return 0;
  }
}

export type DigestPorts = NotifyPorts & { digests: DigestStore };

/**
 * Delivers one due digest to its channel: returns the outcome of the digest's message and of each
 * reply posted into a thread (a `retry` among them makes the queue message come back; what was done
 * is not done again).
 */
export async function deliverDigest(due: DigestDue, ports: DigestPorts): Promise<TargetOutcome[]> {
  const { digestId, channelId } = due;
  const context = { digestId, channelId };
  let record: DigestRecord | undefined;
  let held: HeldReply[];
  try {
    record = await ports.digests.close(digestId, ports.clock.now());
    if (!record) {
      ports.log.warn("a due digest is not stored (delivered and expired, or never written); nothing to post", context);
      return [];
    }
    held = await ports.digests.replies(digestId);
  } catch (error) {
    return [{ channelId, status: "retry", error: asNotifierError(error) }];
  }

  // Muted since they were held: recorded as handled, left out of the digest.
  const shown: HeldReply[] = [];
  for (const reply of held) {
    try {
      if (ports.mutes && (await ports.mutes.isMuted(reply.event.conversation.uid, channelId))) {
        await ports.ledger.settleHeld(reply.event.eventId, channelId, digestId, "muted", undefined, ports.clock.now());
        continue;
      }
    } catch (error) {
      return [{ channelId, status: "retry", error: asNotifierError(error) }];
    }
    shown.push(reply);
  }
  if (shown.length === 0) {
    await finishQuietly(record, ports);
    return [];
  }

  const timeZone = targetTimeZone(record.target, ports.timeZone ?? processTimeZone());
  const conversations = await digestConversations(shown, ports);
  const eventId = digestEventId(digestId);
  const message = await deliverItem(
    {
      ledgerId: eventId,
      channelId,
      eventType: DIGEST_EVENT_TYPE,
      threadTs: undefined,
      startsThreadOf: undefined,
      format: async (possiblyRepeated) =>
        formatDigest({
          digestId,
          eventId,
          target: record.target,
          quiet: record.quiet,
          since: new Date(record.since),
          conversations,
          timeZone,
          possiblyRepeated,
        }),
    },
    ports,
    context,
  );
  if (message.status !== "posted" && message.status !== "already_posted") {
    // Not posted: the replies stay held for it, and the queue brings the digest back (or it is
    // dropped with its channel, which can never take it).
    if (message.status === "failed_permanently") await finishQuietly(record, ports);
    return [message];
  }
  const digestTs = "ts" in message ? message.ts : undefined;

  const outcomes: TargetOutcome[] = [message];
  for (const reply of shown) outcomes.push(await settleReply(reply, record, digestTs, ports));
  if (!outcomes.some((outcome) => outcome.status === "retry")) await finishQuietly(record, ports);
  return outcomes;
}

/**
 * One held reply after its digest is posted: in a thread-per-conversation subscription it is
 * posted as an alert into its conversation's thread (into the digest's thread when the
 * conversation has none yet); otherwise the digest showed it, and the ledger says so.
 */
async function settleReply(
  reply: HeldReply,
  record: DigestRecord,
  digestTs: string | undefined,
  ports: DigestPorts,
): Promise<TargetOutcome> {
  const { event, target } = reply;
  const { channelId } = target;
  const context = {
    eventId: event.eventId,
    conversationUid: event.conversation.uid,
    channelId,
    digestId: record.digestId,
  };
  try {
    if (!target.threadPerConversation) {
      await ports.ledger.settleHeld(event.eventId, channelId, record.digestId, "digested", digestTs, ports.clock.now());
      return { channelId, status: "already_posted", ts: digestTs };
    }
    const conversationThread = await ports.threads.getThread(event.conversation.uid, channelId);
    const threadTs = conversationThread ?? digestTs;
    const item = (thread: string | undefined) => alertItem(event, target, thread, ports, { startsThread: false });
    return await deliverItem(item(threadTs), ports, context, {
      takeHeld: { digestId: record.digestId, threadTs },
      threadFromClaim: (recorded) => item(recorded),
    });
  } catch (error) {
    return { channelId, status: "retry", error: asNotifierError(error) };
  }
}

/** Each conversation once, in the order its first held reply came, with its latest reply and count. */
async function digestConversations(replies: readonly HeldReply[], ports: DigestPorts): Promise<DigestConversation[]> {
  const byConversation = new Map<string, DigestConversation>();
  const sorted = [...replies].sort(
    (a, b) => Date.parse(a.event.message.createdAt) - Date.parse(b.event.message.createdAt),
  );
  for (const { event } of sorted) {
    const known = byConversation.get(event.conversation.uid);
    if (known) {
      known.latest = event;
      known.replies += 1;
    } else {
      byConversation.set(event.conversation.uid, { latest: event, replies: 1 });
    }
  }
  const conversations = [...byConversation.values()];
  if (ports.projectNames) {
    for (const conversation of conversations) {
      const projectId = conversation.latest.conversation.projectId;
      if (!projectId) continue;
      try {
        conversation.project = await ports.projectNames.cachedLabel(projectId);
      } catch {
        // The id is shown instead.
      }
    }
  }
  return conversations;
}

async function finishQuietly(record: DigestRecord, ports: DigestPorts): Promise<void> {
  try {
    await ports.digests.finish(record.digestId, record.dueAt, ports.clock.now());
  } catch (error) {
    // Still listed as due: the next tick queues it again, and its delivery finds everything done.
    ports.log.warn("could not record the digest as delivered", {
      digestId: record.digestId,
      reason: describeError(error),
    });
  }
}
