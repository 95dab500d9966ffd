import {
  ChangeMessageVisibilityBatchCommand,
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
  StartMessageMoveTaskCommand,
} from "@aws-sdk/client-sqs";
import { describeError, QueueUnavailableError } from "../errors.ts";

/** One message of the dead-letter queue, as far as SQS tells. */
export interface SqsDeadLetter {
  id: string;
  body: string;
  groupId: string | undefined;
  /** Deliveries so far, this listing's included. */
  receiveCount: number | undefined;
  /** SQS's SentTimestamp: a FIFO queue resets it when it moves a message to its DLQ. */
  sentAt: string | undefined;
}

export interface MoveTaskStatus {
  status: string;
  moved: number;
  toMove: number | undefined;
  failureReason: string | undefined;
}

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
export class SqsDeadLetterQueue {
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

  /** SQS's approximate count of visible messages. */
  async approximateCount(): Promise<number> {
    const attributes = await this.attributes(["ApproximateNumberOfMessages"]);
    return Number(attributes.ApproximateNumberOfMessages ?? 0);
  }

  /** Reads up to `maxMessages` dead letters, then makes every one visible again. */
  async peek(onProgress?: (read: number) => void): Promise<{ messages: SqsDeadLetter[]; truncated: boolean }> {
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
      throw new QueueUnavailableError(`could not read the dead-letter queue: ${describeError(error)}`);
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
      );
    }
  }

  /** The most recent move task of the queue, if any. */
  async redriveStatus(sourceArn: string): Promise<MoveTaskStatus | undefined> {
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
      throw new QueueUnavailableError(`could not read the redrive's progress: ${describeError(error)}`);
    }
  }

  private async attributes(names: Array<"ApproximateNumberOfMessages" | "QueueArn">): Promise<Record<string, string>> {
    try {
      const result = await this.client.send(
        new GetQueueAttributesCommand({ QueueUrl: this.queueUrl, AttributeNames: names }),
      );
      return result.Attributes ?? {};
    } catch (error) {
      throw new QueueUnavailableError(
        `could not read the dead-letter queue ${this.queueUrl}: ${describeError(error)} (check DLQ_URL, AWS_REGION and your AWS credentials)`,
      );
    }
  }

  /** Visibility 0: the listed messages are at once receivable again, by a redrive or the next listing. */
  private async release(messages: Message[]): Promise<void> {
    for (let start = 0; start < messages.length; start += SQS_BATCH_LIMIT) {
      const batch = messages.slice(start, start + SQS_BATCH_LIMIT);
      await this.client.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: batch.map((message, index) => ({
            Id: String(index),
            ReceiptHandle: message.ReceiptHandle ?? "",
            VisibilityTimeout: 0,
          })),
        }),
      );
    }
  }
}

function toDeadLetter(message: Message): SqsDeadLetter {
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
