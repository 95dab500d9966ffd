import { newReplyEventSchema } from "../domain/events.ts";
import { describeError, InvalidEventError } from "../errors.ts";
import type { Clock, Log } from "../ports.ts";
import { type DeliveryWatch, notifyAndWatch } from "../usecases/delivery-watch.ts";
import { type NotifyPorts, RetryDeliveryError } from "../usecases/notify.ts";

/** The part of the durable local queue the consumer uses (DynamoLocalQueue implements it). */
export interface LocalQueueConsumerPort {
  receive(max: number, now: Date): Promise<Array<{ id: string; groupId: string; body: string; receiveCount: number }>>;
  ack(message: { id: string }): Promise<void>;
  retryLater(
    message: { id: string; receiveCount: number },
    delaySeconds: number,
    now: Date,
    error?: string,
  ): Promise<void>;
  pendingCount?(): Promise<number>;
}

export interface DrainResult {
  delivered: number;
  retried: number;
  invalid: number;
}

/**
 * Hands queued events to the same `notify` use case the notifier Lambda runs, in queue
 * order, with the retry rules SQS would apply: a retryable failure makes the message visible
 * again later (honouring Slack's Retry-After), and the queue dead-letters it after its
 * maximum receives. With a `deliveryWatch` (an ops channel is set), each delivery's outcomes
 * are watched as in the notifier Lambda. Returns when nothing visible is left.
 */
export async function drainLocalQueue(
  queue: LocalQueueConsumerPort,
  ports: NotifyPorts & { clock: Clock; log: Log; deliveryWatch?: DeliveryWatch | undefined },
): Promise<DrainResult> {
  const result: DrainResult = { delivered: 0, retried: 0, invalid: 0 };
  for (;;) {
    const messages = await queue.receive(10, ports.clock.now());
    if (messages.length === 0) return result;
    const failedGroups = new Set<string>();
    for (const message of messages) {
      // Like SQS FIFO: once a message of a conversation fails, its later ones wait too.
      if (failedGroups.has(message.groupId)) continue;
      try {
        const parsed = newReplyEventSchema.safeParse(JSON.parse(message.body));
        if (!parsed.success) throw new InvalidEventError(`queue message ${message.id} is not a valid event`);
        await notifyAndWatch(parsed.data, ports, ports.deliveryWatch);
        await queue.ack(message);
        result.delivered += 1;
      } catch (error) {
        failedGroups.add(message.groupId);
        if (error instanceof InvalidEventError) result.invalid += 1;
        else result.retried += 1;
        const delaySeconds =
          error instanceof RetryDeliveryError && error.retryAfterSeconds !== undefined
            ? error.retryAfterSeconds
            : Math.min(2 ** message.receiveCount, 30);
        ports.log.warn("delivery failed; will retry", {
          messageId: message.id,
          reason: describeError(error),
          delaySeconds,
        });
        await queue.retryLater(message, delaySeconds, ports.clock.now(), describeError(error));
      }
    }
  }
}
