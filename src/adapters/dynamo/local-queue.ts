import { randomBytes } from "node:crypto";
import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  QueryCommand,
  type QueryCommandOutput,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  type TransactWriteItemsCommandInput,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import type { NewReplyEvent } from "../../domain/events.ts";
import { describeError, QueueUnavailableError } from "../../errors.ts";
import { type Clock, type EventQueue, systemClock } from "../../ports.ts";
import {
  type Item,
  LOCAL_DEAD_LETTER_PARTITION,
  LOCAL_MESSAGE_PREFIX,
  LOCAL_QUEUE_PARTITION,
  localDeadLetterKey,
  localDedupKey,
  localQueueMessageKey,
  numberAttribute,
  stringAttribute,
  TTL_ATTRIBUTE,
} from "./table.ts";

/** Like SQS FIFO's deduplication interval. */
const DEDUP_WINDOW_MS = 5 * 60 * 1000;
const DEFAULT_MAX_RECEIVES = 5;

export interface QueuedMessage {
  id: string;
  groupId: string;
  /** JSON.stringify of the NewReplyEvent. */
  body: string;
  /** Failed deliveries so far. */
  receiveCount: number;
}

export interface DeadLetter extends QueuedMessage {
  lastError: string | undefined;
  deadLetteredAt: string;
}

export interface DynamoLocalQueueOptions {
  /** Failed deliveries after which a message moves to the dead letters (like SQS maxReceiveCount). */
  maxReceives?: number;
  clock?: Clock;
}

/**
 * The poller -> notifier queue of the local run, kept in the table so that queued alerts
 * survive a restart. It behaves like the SQS FIFO queue used in AWS: ordered per
 * conversation (the message group), deduplicated by event id, retried with a delay, and
 * dead-lettered after `maxReceives` failures.
 *
 * Messages are `LOCALQ / MSG#<sequence>` items, the sequence sorting in send order; a
 * `LOCALQ / DEDUP#<eventId>` marker remembers when each event was last sent.
 */
export class DynamoLocalQueue implements EventQueue {
  private readonly maxReceives: number;
  private readonly clock: Clock;

  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    options: DynamoLocalQueueOptions = {},
  ) {
    this.maxReceives = options.maxReceives ?? DEFAULT_MAX_RECEIVES;
    this.clock = options.clock ?? systemClock;
  }

  /**
   * Queues the events in order. An event already in the queue, or sent less than five minutes
   * ago, is dropped; the marker's conditional write makes that hold for concurrent senders.
   */
  async sendEvents(events: readonly NewReplyEvent[]): Promise<void> {
    if (events.length === 0) return;
    try {
      const queued = new Set(
        (await this.messageItems(LOCAL_QUEUE_PARTITION)).map((item) => stringAttribute(item, "eventId")),
      );
      for (const event of events) {
        if (queued.has(event.eventId)) continue;
        await this.sendOne(event);
        queued.add(event.eventId);
      }
    } catch (error) {
      throw new QueueUnavailableError(`could not queue events locally: ${describeError(error)}`);
    }
  }

  private async sendOne(event: NewReplyEvent): Promise<void> {
    const sentAt = this.clock.now().getTime();
    const messageId = nextMessageId();
    try {
      await this.transact([
        {
          Put: {
            TableName: this.tableName,
            Item: {
              ...localDedupKey(event.eventId),
              messageId: { S: messageId },
              sentAt: { N: String(sentAt) },
              [TTL_ATTRIBUTE]: { N: String(Math.ceil((sentAt + DEDUP_WINDOW_MS) / 1000)) },
            },
            ConditionExpression: "attribute_not_exists(pk) OR sentAt <= :windowStart",
            ExpressionAttributeValues: { ":windowStart": { N: String(sentAt - DEDUP_WINDOW_MS) } },
          },
        },
        {
          Put: {
            TableName: this.tableName,
            Item: {
              ...localQueueMessageKey(messageId),
              groupId: { S: event.conversation.uid },
              eventId: { S: event.eventId },
              body: { S: JSON.stringify(event) },
              receiveCount: { N: "0" },
              visibleAfter: { N: "0" },
              sentAt: { N: String(sentAt) },
            },
          },
        },
      ]);
    } catch (error) {
      if (!isConditionRefusal(error)) throw error;
    }
  }

  /**
   * Visible messages in send order, at most `max`. A group whose earliest queued message is
   * waiting for a retry is skipped entirely, so a conversation's alerts never overtake.
   */
  async receive(max: number, now: Date): Promise<QueuedMessage[]> {
    const received: QueuedMessage[] = [];
    const blockedGroups = new Set<string>();
    try {
      let startKey: Item | undefined;
      do {
        const page = await this.queryMessages(LOCAL_QUEUE_PARTITION, startKey);
        for (const item of page.Items ?? []) {
          if (received.length >= max) return received;
          const message = toMessage(item);
          if (blockedGroups.has(message.groupId)) continue;
          if ((numberAttribute(item, "visibleAfter") ?? 0) > now.getTime()) {
            blockedGroups.add(message.groupId);
            continue;
          }
          received.push(message);
        }
        startKey = page.LastEvaluatedKey;
      } while (startKey && received.length < max);
      return received;
    } catch (error) {
      throw new QueueUnavailableError(`could not read the local queue: ${describeError(error)}`);
    }
  }

  /** Deletes a delivered message. */
  async ack(message: Pick<QueuedMessage, "id">): Promise<void> {
    try {
      await this.client.send(
        new DeleteItemCommand({
          TableName: this.tableName,
          Key: localQueueMessageKey(message.id),
        }),
      );
    } catch (error) {
      throw new QueueUnavailableError(
        `could not delete message ${message.id} from the local queue: ${describeError(error)}`,
      );
    }
  }

  /**
   * Counts a failed delivery and hides the message for `delaySeconds`; once it has failed
   * `maxReceives` times it moves to the dead letters with the last error.
   */
  async retryLater(
    message: Pick<QueuedMessage, "id">,
    delaySeconds: number,
    now: Date,
    lastError?: string,
  ): Promise<void> {
    try {
      const updated = await this.countFailure(message.id, now.getTime() + delaySeconds * 1000, lastError);
      if (!updated) return;
      const receiveCount = numberAttribute(updated, "receiveCount") ?? 0;
      if (receiveCount >= this.maxReceives) await this.moveToDeadLetters(updated, now);
    } catch (error) {
      throw new QueueUnavailableError(`could not reschedule message ${message.id}: ${describeError(error)}`);
    }
  }

  /** The message after the update, or undefined when it is no longer queued (acked or dead-lettered meanwhile). */
  private async countFailure(
    messageId: string,
    visibleAfter: number,
    lastError: string | undefined,
  ): Promise<Item | undefined> {
    try {
      const result = await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: localQueueMessageKey(messageId),
          UpdateExpression: `SET visibleAfter = :visibleAfter${lastError === undefined ? "" : ", lastError = :lastError"} ADD receiveCount :one`,
          ConditionExpression: "attribute_exists(pk)",
          ExpressionAttributeValues: {
            ":visibleAfter": { N: String(visibleAfter) },
            ":one": { N: "1" },
            ...(lastError === undefined ? {} : { ":lastError": { S: lastError } }),
          },
          ReturnValues: "ALL_NEW",
        }),
      );
      return result.Attributes;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      return undefined;
    }
  }

  private async moveToDeadLetters(message: Item, now: Date): Promise<void> {
    const messageId = messageIdOf(message);
    const { pk: _pk, sk: _sk, visibleAfter: _visibleAfter, ...attributes } = message;
    try {
      await this.transact([
        {
          Delete: {
            TableName: this.tableName,
            Key: localQueueMessageKey(messageId),
            ConditionExpression: "receiveCount = :receiveCount",
            ExpressionAttributeValues: {
              ":receiveCount": { N: String(numberAttribute(message, "receiveCount") ?? 0) },
            },
          },
        },
        {
          Put: {
            TableName: this.tableName,
            Item: { ...attributes, ...localDeadLetterKey(messageId), deadLetteredAt: { S: now.toISOString() } },
          },
        },
      ]);
    } catch (error) {
      // Someone else counted another failure or moved it first.
      if (!isConditionRefusal(error)) throw error;
    }
  }

  /** The dead-lettered messages, oldest first. */
  async deadLetters(): Promise<DeadLetter[]> {
    try {
      return (await this.messageItems(LOCAL_DEAD_LETTER_PARTITION)).map((item) => ({
        ...toMessage(item),
        lastError: stringAttribute(item, "lastError"),
        deadLetteredAt: stringAttribute(item, "deadLetteredAt") ?? "",
      }));
    } catch (error) {
      throw new QueueUnavailableError(`could not read the local dead letters: ${describeError(error)}`);
    }
  }

  /**
   * Moves every dead letter back into the queue with a fresh receive count. Each keeps its
   * original sequence, so it is again ahead of later messages of its conversation.
   * Returns how many were moved.
   */
  async redrive(): Promise<number> {
    try {
      let moved = 0;
      for (const item of await this.messageItems(LOCAL_DEAD_LETTER_PARTITION)) {
        const messageId = messageIdOf(item);
        const { pk: _pk, sk: _sk, deadLetteredAt: _deadLetteredAt, ...attributes } = item;
        try {
          await this.transact([
            {
              Delete: {
                TableName: this.tableName,
                Key: localDeadLetterKey(messageId),
                ConditionExpression: "attribute_exists(pk)",
              },
            },
            {
              Put: {
                TableName: this.tableName,
                Item: {
                  ...attributes,
                  ...localQueueMessageKey(messageId),
                  receiveCount: { N: "0" },
                  visibleAfter: { N: "0" },
                },
              },
            },
          ]);
          moved += 1;
        } catch (error) {
          // Another redrive moved it first.
          if (!isConditionRefusal(error)) throw error;
        }
      }
      return moved;
    } catch (error) {
      throw new QueueUnavailableError(`could not redrive the local dead letters: ${describeError(error)}`);
    }
  }

  /** Messages still queued, visible or not (dead letters excluded). */
  async pendingCount(): Promise<number> {
    try {
      return (await this.messageItems(LOCAL_QUEUE_PARTITION)).length;
    } catch (error) {
      throw new QueueUnavailableError(`could not read the local queue: ${describeError(error)}`);
    }
  }

  private async messageItems(partition: string): Promise<Item[]> {
    const items: Item[] = [];
    let startKey: Item | undefined;
    do {
      const page = await this.queryMessages(partition, startKey);
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return items;
  }

  private queryMessages(partition: string, startKey: Item | undefined): Promise<QueryCommandOutput> {
    return this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
        ExpressionAttributeValues: { ":pk": { S: partition }, ":prefix": { S: LOCAL_MESSAGE_PREFIX } },
        ConsistentRead: true,
        ExclusiveStartKey: startKey,
      }),
    );
  }

  private async transact(items: TransactWriteItemsCommandInput["TransactItems"]): Promise<void> {
    await this.client.send(new TransactWriteItemsCommand({ TransactItems: items }));
  }
}

function isConditionRefusal(error: unknown): boolean {
  return (
    error instanceof TransactionCanceledException &&
    (error.CancellationReasons ?? []).some((reason) => reason.Code === "ConditionalCheckFailed")
  );
}

function messageIdOf(item: Item): string {
  return (stringAttribute(item, "sk") ?? "").slice(LOCAL_MESSAGE_PREFIX.length);
}

function toMessage(item: Item): QueuedMessage {
  const id = messageIdOf(item);
  return {
    id,
    groupId: stringAttribute(item, "groupId") ?? id,
    body: stringAttribute(item, "body") ?? "",
    receiveCount: numberAttribute(item, "receiveCount") ?? 0,
  };
}

const PROCESS_TAG = randomBytes(3).toString("hex");
let lastSequenceMs = 0;
let sequenceCounter = 0;

/**
 * Sorts in send order: wall-clock milliseconds, then a counter for sends within the same
 * millisecond (or after the clock stepped back), then a tag that keeps processes apart.
 */
function nextMessageId(): string {
  const nowMs = Date.now();
  if (nowMs > lastSequenceMs) {
    lastSequenceMs = nowMs;
    sequenceCounter = 0;
  } else {
    sequenceCounter += 1;
  }
  return `${String(lastSequenceMs).padStart(15, "0")}-${String(sequenceCounter).padStart(6, "0")}-${PROCESS_TAG}`;
}
