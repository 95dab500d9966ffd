import { SendMessageBatchCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { NewReplyEvent } from "../domain/events.ts";
import { describeError, QueueUnavailableError } from "../errors.ts";
import type { EventQueue } from "../ports.ts";

const SQS_BATCH_LIMIT = 10;

export function createSqsClient(region: string): SQSClient {
  return new SQSClient({
    region,
    maxAttempts: 3,
    requestHandler: { connectionTimeout: 1_000, requestTimeout: 5_000 },
  });
}

/**
 * The poller -> notifier transport in AWS: an SQS FIFO queue. The group is the conversation
 * (alerts of one conversation are delivered in order); the deduplication id is the event id,
 * so a re-send within SQS's five-minute window is dropped by SQS itself.
 */
export class SqsEventQueue implements EventQueue {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async sendEvents(events: readonly NewReplyEvent[]): Promise<void> {
    // Batches go one after the other so that per-conversation order is the order sent.
    for (let start = 0; start < events.length; start += SQS_BATCH_LIMIT) {
      await this.sendBatch(events.slice(start, start + SQS_BATCH_LIMIT));
    }
  }

  private async sendBatch(batch: readonly NewReplyEvent[]): Promise<void> {
    let pending = batch.map((event, index) => ({ id: String(index), event }));
    for (let attempt = 1; attempt <= 3 && pending.length > 0; attempt += 1) {
      let failedIds: Set<string>;
      try {
        const result = await this.client.send(
          new SendMessageBatchCommand({
            QueueUrl: this.queueUrl,
            Entries: pending.map(({ id, event }) => ({
              Id: id,
              MessageBody: JSON.stringify(event),
              MessageGroupId: event.conversation.uid,
              MessageDeduplicationId: event.eventId,
            })),
          }),
        );
        failedIds = new Set((result.Failed ?? []).map((failure) => failure.Id ?? ""));
      } catch (error) {
        if (attempt === 3) throw new QueueUnavailableError(`could not queue events: ${describeError(error)}`);
        continue;
      }
      pending = pending.filter(({ id }) => failedIds.has(id));
    }
    if (pending.length > 0) {
      throw new QueueUnavailableError(`SQS refused ${pending.length} of ${batch.length} events after 3 attempts`);
    }
  }
}
