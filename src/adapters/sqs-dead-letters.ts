import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
  StartMessageMoveTaskCommand,
} from "@aws-sdk/client-sqs";
import { describeError, QueueUnavailableError } from "../errors.ts";
import type { DeadLetterMessage, MoveTaskProgress, MoveTaskSource } from "../ports.ts";
import { MIN_VISIBILITY_SECONDS } from "./sqs-queue.ts";

export interface SqsDeadLetterQueueOptions {
  /** How long listed messages stay hidden at most, should the CLI die before making them visible again. */
  peekVisibilitySeconds?: number;
  /** A listing stops after this many messages. */
  maxMessages?: number;
}

const SQS_BATCH_LIMIT = 10;

/** `https://sqs.<region>.amazonaws.com/<account>/<name>` -> `<region>`; undefined for other URLs. */
export function regionOfQueueUrl(queueUrl: string): string | undefined {
  return /^https:\/\/sqs\.([a-z]{2}(?:-[a-z]+)+-\d)\.amazonaws\.com\//.exec(queueUrl)?.[1];
}

/**
 * The deployed notifier's SQS dead-letter queue, for `dlq list` and `dlq redrive`.
 *
 * SQS cannot peek: listing receives the messages with a short visibility timeout and makes
 * them visible again at once when done, so nothing is consumed. Redrive is SQS's own message
 * move task back to the source queue (the notifier's queue, from the redrive policy); the
 * notifier's ledger then skips every alert that was posted already.
 */
export class SqsDeadLetterQueue implements MoveTaskSource {
  private readonly peekVisibilitySeconds: number;
  private readonly maxMessages: number;

  constructor(
    private readonly client: SQSClient,
    readonly queueUrl: string,
    options: SqsDeadLetterQueueOptions = {},
  ) {
    this.peekVisibilitySeconds = options.peekVisibilitySeconds ?? 30;
    this.maxMessages = options.maxMessages ?? 100;
  }

  /**
   * SQS's approximate count of the dead letters, those a listing hides for a moment included:
   * right after `dlq list` every one of them is in flight until its release takes effect.
   */
  async approximateCount(): Promise<number> {
    const attributes = await this.attributes(["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]);
    return (
      Number(attributes.ApproximateNumberOfMessages ?? 0) +
      Number(attributes.ApproximateNumberOfMessagesNotVisible ?? 0)
    );
  }

  /** Reads up to `maxMessages` dead letters, then makes every one visible again. */
  async peek(onProgress?: (read: number) => void): Promise<{ messages: DeadLetterMessage[]; truncated: boolean }> {
    const received = new Map<string, Message>();
    let truncated = false;
    try {
      for (;;) {
        const wanted = Math.min(SQS_BATCH_LIMIT, this.maxMessages - received.size);
        if (wanted <= 0) {
          truncated = true;
          break;
        }
        const batch = await this.client.send(
          new ReceiveMessageCommand({
            QueueUrl: this.queueUrl,
            MaxNumberOfMessages: wanted,
            VisibilityTimeout: this.peekVisibilitySeconds,
            WaitTimeSeconds: 1,
            MessageSystemAttributeNames: ["ApproximateReceiveCount", "SentTimestamp", "MessageGroupId"],
          }),
        );
        const messages = batch.Messages ?? [];
        if (messages.length === 0) break;
        for (const message of messages) if (message.MessageId) received.set(message.MessageId, message);
        onProgress?.(received.size);
      }
    } catch (error) {
      await this.release([...received.values()]).catch(() => undefined);
      throw new QueueUnavailableError(`could not read the dead-letter queue: ${describeError(error)}`, {
        cause: error,
      });
    }
    await this.release([...received.values()]);
    return { messages: [...received.values()].map(toDeadLetter), truncated };
  }

  /** Starts moving every dead letter back to its source queue; returns the DLQ's ARN to follow the task with. */
  async startRedrive(): Promise<{ sourceArn: string; taskHandle: string | undefined }> {
    const sourceArn = (await this.attributes(["QueueArn"])).QueueArn;
    if (!sourceArn) throw new QueueUnavailableError(`SQS did not say the ARN of ${this.queueUrl}`);
    try {
      const result = await this.client.send(new StartMessageMoveTaskCommand({ SourceArn: sourceArn }));
      return { sourceArn, taskHandle: result.TaskHandle };
    } catch (error) {
      throw new QueueUnavailableError(
        `could not start the redrive: ${describeError(error)} (is DLQ_URL the dead-letter queue, stack output DeadLetterQueueUrl? is another redrive still running?)`,
        { cause: error },
      );
    }
  }

  /** The most recent move task of the queue, if any. */
  async redriveStatus(sourceArn: string): Promise<MoveTaskProgress | undefined> {
    try {
      const result = await this.client.send(new ListMessageMoveTasksCommand({ SourceArn: sourceArn, MaxResults: 1 }));
      const task = result.Results?.[0];
      if (!task) return undefined;
      return {
        status: task.Status ?? "UNKNOWN",
        moved: task.ApproximateNumberOfMessagesMoved ?? 0,
        toMove: task.ApproximateNumberOfMessagesToMove,
        failureReason: task.FailureReason,
      };
    } catch (error) {
      throw new QueueUnavailableError(`could not read the redrive's progress: ${describeError(error)}`, {
        cause: error,
      });
    }
  }

  private async attributes(
    names: Array<"ApproximateNumberOfMessages" | "ApproximateNumberOfMessagesNotVisible" | "QueueArn">,
  ): Promise<Record<string, string>> {
    try {
      const result = await this.client.send(
        new GetQueueAttributesCommand({ QueueUrl: this.queueUrl, AttributeNames: names }),
      );
      return result.Attributes ?? {};
    } catch (error) {
      throw new QueueUnavailableError(
        `could not read the dead-letter queue ${this.queueUrl}: ${describeError(error)} (check DLQ_URL, AWS_REGION and your AWS credentials)`,
        { cause: error },
      );
    }
  }

  /**
   * Moves every dead letter back to `queueUrl` one by one (receive, send, delete), for queues
   * without SQS's move task (the local emulator has none). A message is sent before it is
   * deleted: a failure in between leaves it in both queues, and the ledger skips the copy.
   */
  async moveEachTo(queueUrl: string): Promise<number> {
    let moved = 0;
    try {
      for (;;) {
        const batch = await this.client.send(
          new ReceiveMessageCommand({
            QueueUrl: this.queueUrl,
            MaxNumberOfMessages: SQS_BATCH_LIMIT,
            VisibilityTimeout: this.peekVisibilitySeconds,
            // Long enough for the letters a listing just released (MIN_VISIBILITY_SECONDS) to be seen.
            WaitTimeSeconds: MIN_VISIBILITY_SECONDS + 1,
            MessageSystemAttributeNames: ["MessageGroupId"],
          }),
        );
        const messages = batch.Messages ?? [];
        if (messages.length === 0) return moved;
        for (const message of messages) {
          await this.client.send(
            new SendMessageCommand({
              QueueUrl: queueUrl,
              MessageBody: message.Body ?? "",
              MessageGroupId: message.Attributes?.MessageGroupId ?? message.MessageId ?? "redriven",
              // A fresh id: the original one may still be inside the queue's five-minute deduplication window.
              MessageDeduplicationId: `${message.MessageId ?? ""}-redrive-${Date.now()}`,
            }),
          );
          await this.client.send(
            new DeleteMessageCommand({ QueueUrl: this.queueUrl, ReceiptHandle: message.ReceiptHandle ?? "" }),
          );
          moved += 1;
        }
      }
    } catch (error) {
      throw new QueueUnavailableError(
        `could not move the dead letters back (${moved} moved): ${describeError(error)}; run it again, nothing is lost`,
        { cause: error },
      );
    }
  }

  /** The listed messages are receivable again at once, by a redrive or the next listing. */
  private async release(messages: Message[]): Promise<void> {
    for (let start = 0; start < messages.length; start += SQS_BATCH_LIMIT) {
      const batch = messages.slice(start, start + SQS_BATCH_LIMIT);
      await this.client.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: batch.map((message, index) => ({
            Id: String(index),
            ReceiptHandle: message.ReceiptHandle ?? "",
            VisibilityTimeout: MIN_VISIBILITY_SECONDS,
          })),
        }),
      );
    }
  }
}

function toDeadLetter(message: Message): DeadLetterMessage {
  const attributes = message.Attributes ?? {};
  const sent = Number(attributes.SentTimestamp);
  const receives = Number(attributes.ApproximateReceiveCount);
  return {
    id: message.MessageId ?? "",
    body: message.Body ?? "",
    groupId: attributes.MessageGroupId,
    receiveCount: Number.isFinite(receives) && receives > 0 ? receives : undefined,
    sentAt: Number.isFinite(sent) && sent > 0 ? new Date(sent).toISOString() : undefined,
  };
}
