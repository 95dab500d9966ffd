import { parseQueueMessageBody, type QueueMessageBody } from "../domain/events.ts";
import { asNotifierError, describeError, InvalidEventError, type NotifierError } from "../errors.ts";
import type { DeliveryQueue, DeliverySettlement, QueuedMessage } from "../ports.ts";
import type { DeliveryWatch } from "./delivery-watch.ts";
import { deliverDigest } from "./digest.ts";
import { type NotifyPorts, notify, type TargetOutcome } from "./notify.ts";

/**
 * The notifier's delivery policy: what to do with one queued message. The notifier Lambda and
 * the local queue consumer both run exactly this, so the policy the reliability suite proves
 * is the one deployed.
 */
export type DeliveryDecision =
  | { action: "acknowledge" }
  | { action: "retry"; afterSeconds: number; reason: string }
  | { action: "dead_letter"; reason: string };

export interface DeliveryPorts extends NotifyPorts {
  /** With an ops channel: tells the operators what needs a person (see delivery-watch.ts). */
  watch?: DeliveryWatch | undefined;
}

/**
 * A message that failed this many deliveries goes to the dead-letter queue (the queues' redrive
 * policy, deployed and local). With the backoff below that is about 37 minutes of a Slack outage
 * or a rejected token before an alert is parked (kept, alarmed, `dlq redrive` sends it again).
 */
export const MAX_DELIVERY_ATTEMPTS = 12;

/** The shortest visibility change: a message retried "at once" still lets the queue breathe. */
export const MIN_RETRY_SECONDS = 1;
/** Retries back off from 1 s, doubling, up to this. */
export const MAX_BACKOFF_SECONDS = 600;
/**
 * After an attempt that may have posted, the next one reads the channel back: it waits at least
 * this long first, so that a post Slack was still carrying out has landed by then.
 */
export const READ_BACK_SETTLE_SECONDS = 5;
/** SQS's longest visibility timeout. */
export const MAX_RETRY_SECONDS = 43_200;

export async function decideDelivery(message: QueuedMessage, ports: DeliveryPorts): Promise<DeliveryDecision> {
  const body = parseMessage(message);
  if (body instanceof InvalidEventError) return { action: "dead_letter", reason: body.message };
  if (body.kind === "digest") {
    if (!ports.digests) {
      return { action: "retry", afterSeconds: MAX_BACKOFF_SECONDS, reason: "this notifier has no digest store" };
    }
    const outcomes = await deliverDigest(body.digest, { ...ports, digests: ports.digests });
    return decisionFor(outcomes, message.receiveCount);
  }
  const outcomes = await notify(body.event, ports);
  await ports.watch?.afterDelivery(body.event, outcomes);
  return decisionFor(outcomes, message.receiveCount);
}

function parseMessage(message: QueuedMessage): QueueMessageBody | InvalidEventError {
  let json: unknown;
  try {
    json = JSON.parse(message.body);
  } catch {
    return new InvalidEventError(`message ${message.messageId} is not JSON, so not a new-reply event`);
  }
  const parsed = parseQueueMessageBody(json);
  if ("problem" in parsed) return new InvalidEventError(`message ${message.messageId} is ${parsed.problem}`);
  return parsed;
}

/** Acknowledged once no channel asks for a retry; otherwise retried after the longest wait any channel needs. */
export function decisionFor(outcomes: readonly TargetOutcome[], receiveCount: number): DeliveryDecision {
  const retries = outcomes.flatMap((outcome) => (outcome.status === "retry" ? [outcome] : []));
  if (retries.length === 0) return { action: "acknowledge" };
  const afterSeconds = Math.max(...retries.map((retry) => retryDelaySeconds(retry.error, receiveCount)));
  const reason = retries.map((retry) => `${retry.channelId}: ${retry.error.message}`).join("; ");
  return { action: "retry", afterSeconds, reason };
}

/**
 * When the other side said (Slack's Retry-After, another notifier's lease), then. Otherwise at
 * once, backing off: 1 s after the first delivery, doubling each time, at most ten minutes; and
 * after an attempt that may have posted, not before its post has had time to land, so that the
 * read-back of the next attempt sees it.
 */
export function retryDelaySeconds(error: NotifierError, receiveCount: number): number {
  const backoff = Math.min(MAX_BACKOFF_SECONDS, 2 ** Math.max(0, receiveCount - 1));
  const seconds =
    error.retryAfterSeconds ?? (error.mayHaveTakenEffect ? Math.max(READ_BACK_SETTLE_SECONDS, backoff) : backoff);
  return Math.min(MAX_RETRY_SECONDS, Math.max(MIN_RETRY_SECONDS, Math.ceil(seconds)));
}

export interface DeliveryBatchResult {
  delivered: number;
  retried: number;
  deadLettered: number;
  /**
   * Messages left on the queue, the Lambda reports them as batch item failures: retried (back
   * after `retryAfterSeconds`), or not settled (undefined: back after the queue's visibility timeout).
   */
  unsettled: Array<{ message: QueuedMessage; retryAfterSeconds: number | undefined }>;
}

/**
 * Decides and settles a batch. Each conversation (message group) is taken in queue order: once a
 * message of it is retried, its later messages in the batch wait with it, as SQS FIFO would keep
 * them, so a conversation's alerts keep their order. Different conversations are delivered at
 * the same time: they are independent, and a busy channel (waiting for Slack's pace) does not hold
 * up the others. A settlement that fails leaves the message to the queue's own visibility
 * timeout: nothing is lost.
 */
export async function deliverBatch(
  messages: readonly QueuedMessage[],
  ports: DeliveryPorts,
  settlement: DeliverySettlement,
): Promise<DeliveryBatchResult> {
  const groups = new Map<string, QueuedMessage[]>();
  for (const message of messages) {
    const key = message.groupId ?? `message ${message.messageId}`;
    groups.set(key, [...(groups.get(key) ?? []), message]);
  }
  const settled = new Map<string, { decision: DeliveryDecision; settledOk: boolean }>();
  await Promise.all(
    [...groups.values()].map(async (group) => {
      let heldFor: number | undefined;
      for (const message of group) {
        const decision: DeliveryDecision =
          heldFor === undefined
            ? await decide(message, ports)
            : { action: "retry", afterSeconds: heldFor, reason: "an earlier alert of its conversation is retried" };
        if (decision.action === "retry") heldFor = decision.afterSeconds;
        settled.set(message.messageId, {
          decision,
          settledOk: await settleQuietly(message, decision, settlement, ports),
        });
      }
    }),
  );

  const result: DeliveryBatchResult = { delivered: 0, retried: 0, deadLettered: 0, unsettled: [] };
  for (const message of messages) {
    const outcome = settled.get(message.messageId);
    if (!outcome) continue;
    const { decision, settledOk } = outcome;
    if (!settledOk) {
      result.unsettled.push({ message, retryAfterSeconds: undefined });
      continue;
    }
    if (decision.action === "acknowledge") result.delivered += 1;
    if (decision.action === "dead_letter") result.deadLettered += 1;
    if (decision.action === "retry") {
      result.retried += 1;
      result.unsettled.push({ message, retryAfterSeconds: decision.afterSeconds });
    }
  }
  return result;
}

async function decide(message: QueuedMessage, ports: DeliveryPorts): Promise<DeliveryDecision> {
  try {
    return await decideDelivery(message, ports);
  } catch (error) {
    // notify() returns outcomes; reaching here is a bug, and a retry can only delay the alert.
    const afterSeconds = retryDelaySeconds(asNotifierError(error), message.receiveCount);
    return { action: "retry", afterSeconds, reason: describeError(error) };
  }
}

/** True when settled; false when the settlement failed and the queue's visibility timeout will bring the message back. */
async function settleQuietly(
  message: QueuedMessage,
  decision: DeliveryDecision,
  settlement: DeliverySettlement,
  ports: DeliveryPorts,
): Promise<boolean> {
  const context = { messageId: message.messageId, receiveCount: message.receiveCount };
  try {
    await settle(message, decision, settlement, ports, context);
    return true;
  } catch (error) {
    ports.log.warn("could not settle the message; the queue's visibility timeout brings it back", {
      ...context,
      reason: describeError(error),
    });
    return false;
  }
}

async function settle(
  message: QueuedMessage,
  decision: DeliveryDecision,
  settlement: DeliverySettlement,
  ports: DeliveryPorts,
  context: Record<string, unknown>,
): Promise<void> {
  switch (decision.action) {
    case "acknowledge":
      await settlement.acknowledge?.(message);
      return;
    case "retry":
      ports.log.warn("delivery will be retried", {
        ...context,
        afterSeconds: decision.afterSeconds,
        reason: decision.reason,
      });
      await settlement.retryLater(message, decision.afterSeconds);
      return;
    case "dead_letter":
      ports.log.error("message can never be delivered; moved to the dead letters", {
        ...context,
        reason: decision.reason,
      });
      await settlement.deadLetter(message, decision.reason);
      return;
  }
}

export interface DrainOptions {
  /**
   * Epoch ms until which messages that wait for a retry are waited for; absent: return as soon
   * as nothing is visible (what is waiting stays queued for a later drain). The drain also returns
   * early when every retry it scheduled itself comes back after this time.
   */
  waitUntil?: number;
  /** How long one receive waits for a message to become visible (SQS long polling). */
  receiveWaitSeconds?: number;
  now?: () => number;
  /** Told while messages wait for their retry. */
  onWaiting?: (pending: number, secondsLeft: number) => void;
}

export interface DrainResult {
  delivered: number;
  retried: number;
  deadLettered: number;
  /** Messages still queued when the drain returned (waiting for a retry, or in flight elsewhere). */
  pending: number;
}

const RECEIVE_BATCH = 10;

/**
 * The consumer outside Lambda (the local runtime, `poll --once`, `dlq redrive`): receives
 * batches and hands each to deliverBatch, exactly as the notifier Lambda's event source would,
 * until the queue is empty or the deadline passes.
 */
export async function drainQueue(
  queue: DeliveryQueue,
  ports: DeliveryPorts,
  options: DrainOptions = {},
): Promise<DrainResult> {
  const now = options.now ?? Date.now;
  const result: DrainResult = { delivered: 0, retried: 0, deadLettered: 0, pending: 0 };
  /** Per message, when the retry this drain scheduled is due (epoch ms). */
  const retriesDue = new Map<string, number>();
  for (;;) {
    const waiting = options.waitUntil !== undefined && now() < options.waitUntil;
    const messages = await queue.receive(RECEIVE_BATCH, waiting ? (options.receiveWaitSeconds ?? 1) : 0);
    if (messages.length > 0) {
      const batch = await deliverBatch(messages, ports, queue);
      result.delivered += batch.delivered;
      result.retried += batch.retried;
      result.deadLettered += batch.deadLettered;
      for (const message of messages) retriesDue.delete(message.messageId);
      for (const { message, retryAfterSeconds } of batch.unsettled) {
        if (retryAfterSeconds !== undefined) retriesDue.set(message.messageId, now() + retryAfterSeconds * 1000);
      }
      continue;
    }
    result.pending = await queue.pendingCount();
    if (result.pending === 0 || options.waitUntil === undefined || now() >= options.waitUntil) return result;
    // Everything left is a retry of ours that comes back too late: waiting would change nothing.
    const soonest = Math.min(...retriesDue.values());
    if (retriesDue.size >= result.pending && soonest > options.waitUntil) return result;
    options.onWaiting?.(result.pending, Math.ceil((options.waitUntil - now()) / 1000));
  }
}
