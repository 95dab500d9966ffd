import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { type DigestDue, digestEventId, type NewReplyEvent, serializeEvent } from "../domain/events.ts";
import { serializeTick } from "../domain/poll-chain.ts";
import { describeError, QueueUnavailableError } from "../errors.ts";
import type { DeliveryQueue, DigestQueue, EventQueue, PollTickQueue, QueuedMessage } from "../ports.ts";
import { isLoopback } from "./loopback.ts";

const SQS_BATCH_LIMIT = 10;

/**
 * Visibility changes never go below one second: SQS takes 0, but the local SQS emulator (fauxqs
 * 2.4 with persistence) fails a change to 0, and a retry one second later costs nothing.
 */
export const MIN_VISIBILITY_SECONDS = 1;

export interface SqsClientSettings {
  /** Undefined: the AWS SDK's default chain decides. */
  region: string | undefined;
  /** An SQS-compatible endpoint (the local emulator); absent: AWS. */
  endpoint?: string | undefined;
}

/** The SQS client with every setting stated: fail fast and let the caller's own retry take over. */
export function createSqsClient(settings: SqsClientSettings): SQSClient {
  return new SQSClient({
    region: settings.region,
    maxAttempts: 3,
    requestHandler: { connectionTimeout: 1_000, requestTimeout: 5_000 },
    ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
    // The local emulator accepts any credentials: dummy ones mean no AWS account is needed.
    ...(settings.endpoint && isLoopback(settings.endpoint)
      ? { credentials: { accessKeyId: "local", secretAccessKey: "local" } }
      : {}),
  });
}

/**
 * The poller -> notifier transport: an SQS FIFO queue. The group is the conversation
 * (alerts of one conversation are delivered in order); the deduplication id is the event id,
 * so a re-send within SQS's five-minute window is dropped by SQS itself.
 */
export class SqsEventQueue implements EventQueue, DigestQueue {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async sendEvents(events: readonly NewReplyEvent[]): Promise<void> {
    // Batches go one after the other so that per-conversation order is the order sent.
    for (let start = 0; start < events.length; start += SQS_BATCH_LIMIT) {
      await this.sendBatch(
        events.slice(start, start + SQS_BATCH_LIMIT).map((event) => ({
          body: serializeEvent(event),
          groupId: event.conversation.uid,
          deduplicationId: event.eventId,
        })),
        "events",
      );
    }
  }

  /** Due digests: one message group per channel, deduplicated by the digest. */
  async sendDigests(digests: readonly DigestDue[]): Promise<void> {
    for (let start = 0; start < digests.length; start += SQS_BATCH_LIMIT) {
      await this.sendBatch(
        digests.slice(start, start + SQS_BATCH_LIMIT).map((digest) => ({
          body: serializeEvent(digest),
          groupId: `digest-${digest.channelId}`,
          deduplicationId: digestEventId(digest.digestId),
        })),
        "due digests",
      );
    }
  }

  private async sendBatch(
    batch: ReadonlyArray<{ body: string; groupId: string; deduplicationId: string }>,
    what: string,
  ): Promise<void> {
    let pending = batch.map((message, index) => ({ id: String(index), message }));
    let lastError: unknown;
    let lastRefusal: string | undefined;
    for (let attempt = 1; attempt <= 3 && pending.length > 0; attempt += 1) {
      let failedIds: Set<string>;
      try {
        const result = await this.client.send(
          new SendMessageBatchCommand({
            QueueUrl: this.queueUrl,
            Entries: pending.map(({ id, message }) => ({
              Id: id,
              MessageBody: message.body,
              MessageGroupId: message.groupId,
              MessageDeduplicationId: message.deduplicationId,
            })),
          }),
        );
        const failed = result.Failed ?? [];
        failedIds = new Set(failed.map((failure) => failure.Id ?? ""));
        const first = failed[0];
        if (first) lastRefusal = `${first.Code ?? "unknown"}${first.Message ? `: ${first.Message}` : ""}`;
      } catch (error) {
        lastError = error;
        continue;
      }
      pending = pending.filter(({ id }) => failedIds.has(id));
    }
    if (pending.length === 0) return;
    if (lastError !== undefined && pending.length === batch.length) {
      throw new QueueUnavailableError(`could not queue ${what}: ${describeError(lastError)}`, { cause: lastError });
    }
    throw new QueueUnavailableError(
      `SQS refused ${pending.length} of ${batch.length} ${what} after 3 attempts${lastRefusal ? ` (${lastRefusal})` : ""}`,
      { cause: lastError },
    );
  }
}

/**
 * The fast-poll chain's delay queue: an SQS standard queue (FIFO queues take no per-message
 * delay), read by the poller's event source. The client's own retries (3 attempts) are all a
 * send gets: a chain whose next tick cannot be sent is restarted by the watchdog.
 */
export class SqsPollTickQueue implements PollTickQueue {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async send(tick: Parameters<PollTickQueue["send"]>[0], delaySeconds: number): Promise<void> {
    try {
      await this.client.send(
        new SendMessageCommand({
          QueueUrl: this.queueUrl,
          MessageBody: serializeTick(tick),
          DelaySeconds: delaySeconds,
        }),
      );
    } catch (error) {
      throw new QueueUnavailableError(`could not send the next poll tick: ${describeError(error)}`, { cause: error });
    }
  }
}

export interface SqsDeliveryQueueUrls {
  queueUrl: string;
  deadLetterQueueUrl: string | undefined;
}

/**
 * The notifier's side of the queue: settles each message as the delivery policy decided
 * (src/usecases/deliver.ts), and, for a consumer outside Lambda, receives them too.
 */
export class SqsDeliveryQueue implements DeliveryQueue {
  constructor(
    private readonly client: SQSClient,
    private readonly urls: SqsDeliveryQueueUrls,
  ) {}

  async receive(max: number, waitSeconds: number): Promise<QueuedMessage[]> {
    const result = await this.call("receive messages", () =>
      this.client.send(
        new ReceiveMessageCommand({
          QueueUrl: this.urls.queueUrl,
          MaxNumberOfMessages: Math.min(SQS_BATCH_LIMIT, max),
          WaitTimeSeconds: waitSeconds,
          MessageSystemAttributeNames: ["ApproximateReceiveCount", "MessageGroupId"],
        }),
      ),
    );
    return (result.Messages ?? []).map(toQueuedMessage);
  }

  async acknowledge(message: QueuedMessage): Promise<void> {
    await this.call(`acknowledge message ${message.messageId}`, () =>
      this.client.send(
        new DeleteMessageCommand({ QueueUrl: this.urls.queueUrl, ReceiptHandle: message.receiptHandle }),
      ),
    );
  }

  async retryLater(message: QueuedMessage, seconds: number): Promise<void> {
    await this.call(`delay message ${message.messageId}`, () =>
      this.client.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: this.urls.queueUrl,
          ReceiptHandle: message.receiptHandle,
          VisibilityTimeout: Math.max(MIN_VISIBILITY_SECONDS, Math.ceil(seconds)),
        }),
      ),
    );
  }

  /** Sends the body to the dead-letter queue, then removes the original: at worst it is in both, never in neither. */
  async deadLetter(message: QueuedMessage, _reason: string): Promise<void> {
    const deadLetterQueueUrl = this.urls.deadLetterQueueUrl;
    if (!deadLetterQueueUrl) {
      throw new QueueUnavailableError(
        `cannot dead-letter message ${message.messageId}: no dead-letter queue (DLQ_URL)`,
      );
    }
    await this.call(`dead-letter message ${message.messageId}`, () =>
      this.client.send(
        new SendMessageCommand({
          QueueUrl: deadLetterQueueUrl,
          MessageBody: message.body,
          MessageGroupId: message.groupId ?? message.messageId,
          MessageDeduplicationId: message.messageId,
        }),
      ),
    );
    await this.acknowledge(message);
  }

  async pendingCount(): Promise<number> {
    const result = await this.call("count pending messages", () =>
      this.client.send(
        new GetQueueAttributesCommand({
          QueueUrl: this.urls.queueUrl,
          AttributeNames: [
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
          ],
        }),
      ),
    );
    const attributes = result.Attributes ?? {};
    return (
      Number(attributes.ApproximateNumberOfMessages ?? 0) +
      Number(attributes.ApproximateNumberOfMessagesNotVisible ?? 0) +
      Number(attributes.ApproximateNumberOfMessagesDelayed ?? 0)
    );
  }

  private async call<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw new QueueUnavailableError(`could not ${what}: ${describeError(error)}`, { cause: error });
    }
  }
}

/** A message as SQS hands it over, with the attributes the delivery policy reads. */
export function toQueuedMessage(message: Message): QueuedMessage {
  const attributes = message.Attributes ?? {};
  const receives = Number(attributes.ApproximateReceiveCount);
  return {
    messageId: message.MessageId ?? "",
    receiptHandle: message.ReceiptHandle ?? "",
    groupId: attributes.MessageGroupId,
    body: message.Body ?? "",
    receiveCount: Number.isFinite(receives) && receives > 0 ? receives : 1,
  };
}
