import {
  BatchGetItemCommand,
  type BatchGetItemCommandOutput,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  PutItemCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import type { ConversationState, StoredConversation } from "../../domain/detection.ts";
import { describeError, StateConflictError, StateUnavailableError } from "../../errors.ts";
import { type Clock, type Log, type StateStore, systemClock } from "../../ports.ts";
import { CONVERSATION_PARTITION_PREFIX, conversationStateKey, type Item, stringAttribute } from "./table.ts";

const BATCH_GET_LIMIT = 100;
const PARALLEL_BATCHES = 4;
/** BatchGetItem may leave keys unprocessed under throttling; they are asked for again a few times. */
const BATCH_GET_ATTEMPTS = 5;

export interface DynamoStateStoreOptions {
  clock?: Clock;
  /** Told about stored states that cannot be read (they are treated as absent). */
  log?: Log;
}

/**
 * Per-conversation poller state, one item each; advanced only by conditional writes. With the
 * messages feed on, the item also holds `feedHandled`, a string set of the participant messages
 * the feed handled after the state: the feed only ever adds to it (ADD commutes with every
 * other write), and a sweep that moves the state removes the marks it accounted for.
 */
export class DynamoStateStore implements StateStore {
  private readonly clock: Clock;

  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly options: DynamoStateStoreOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
  }

  async getStates(conversationUids: readonly string[]): Promise<Map<string, ConversationState>> {
    const states = new Map<string, ConversationState>();
    for (const [uid, stored] of await this.getStored(conversationUids)) {
      if (stored.state) states.set(uid, stored.state);
    }
    return states;
  }

  async getStored(conversationUids: readonly string[]): Promise<Map<string, StoredConversation>> {
    const unique = [...new Set(conversationUids)];
    const batches: string[][] = [];
    for (let start = 0; start < unique.length; start += BATCH_GET_LIMIT) {
      batches.push(unique.slice(start, start + BATCH_GET_LIMIT));
    }
    const stored = new Map<string, StoredConversation>();
    const worker = async () => {
      for (let batch = batches.shift(); batch; batch = batches.shift()) await this.readBatch(batch, stored);
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL_BATCHES, batches.length) }, worker));
    return stored;
  }

  private async readBatch(conversationUids: readonly string[], into: Map<string, StoredConversation>): Promise<void> {
    let keys: Item[] = conversationUids.map(conversationStateKey);
    for (let attempt = 1; keys.length > 0; attempt += 1) {
      if (attempt > BATCH_GET_ATTEMPTS) {
        throw new StateUnavailableError(
          `DynamoDB left ${keys.length} conversation states unread after ${BATCH_GET_ATTEMPTS} attempts (throttled)`,
        );
      }
      if (attempt > 1) await sleep(25 * 2 ** attempt + Math.random() * 25);
      let result: BatchGetItemCommandOutput;
      try {
        result = await this.batchGet(keys);
      } catch (error) {
        throw new StateUnavailableError(`could not read conversation states: ${describeError(error)}`);
      }
      for (const item of result.Responses?.[this.tableName] ?? []) {
        const pk = stringAttribute(item, "pk") ?? "";
        const lastMessageUid = stringAttribute(item, "lastMessageUid");
        const lastMessageCreatedAt = stringAttribute(item, "lastMessageCreatedAt");
        const feedHandled = item.feedHandled?.SS ?? [];
        const state = lastMessageUid && lastMessageCreatedAt ? { lastMessageUid, lastMessageCreatedAt } : undefined;
        if (!pk.startsWith(CONVERSATION_PARTITION_PREFIX) || (!state && feedHandled.length === 0)) {
          this.options.log?.warn("ignoring an unreadable conversation state", { pk });
          continue;
        }
        into.set(pk.slice(CONVERSATION_PARTITION_PREFIX.length), { state, feedHandled });
      }
      keys = result.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
    }
  }

  private batchGet(keys: Item[]): Promise<BatchGetItemCommandOutput> {
    return this.client.send(
      new BatchGetItemCommand({
        RequestItems: {
          [this.tableName]: {
            Keys: keys,
            ConsistentRead: true,
            ProjectionExpression: "pk, lastMessageUid, lastMessageCreatedAt, feedHandled",
          },
        },
      }),
    );
  }

  async advanceState(
    conversationUid: string,
    expected: ConversationState | undefined,
    next: ConversationState,
    accountedFeedMarks?: readonly string[],
  ): Promise<void> {
    // The condition is on the state alone: an item holding only the feed's marks has none yet.
    const condition: { ConditionExpression: string; ExpressionAttributeValues: Item } = expected
      ? {
          ConditionExpression: "lastMessageUid = :expected",
          ExpressionAttributeValues: { ":expected": { S: expected.lastMessageUid } },
        }
      : { ConditionExpression: "attribute_not_exists(lastMessageUid)", ExpressionAttributeValues: {} };
    try {
      if (accountedFeedMarks === undefined) {
        await this.client.send(
          new PutItemCommand({
            TableName: this.tableName,
            Item: {
              ...conversationStateKey(conversationUid),
              lastMessageUid: { S: next.lastMessageUid },
              lastMessageCreatedAt: { S: next.lastMessageCreatedAt },
              updatedAt: { S: this.clock.now().toISOString() },
            },
            ConditionExpression: condition.ConditionExpression,
            ...(expected ? { ExpressionAttributeValues: condition.ExpressionAttributeValues } : {}),
          }),
        );
        return;
      }
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: conversationStateKey(conversationUid),
          UpdateExpression: `SET lastMessageUid = :uid, lastMessageCreatedAt = :createdAt, updatedAt = :now${
            accountedFeedMarks.length > 0 ? " DELETE feedHandled :accounted" : ""
          }`,
          ConditionExpression: condition.ConditionExpression,
          ExpressionAttributeValues: {
            ...condition.ExpressionAttributeValues,
            ":uid": { S: next.lastMessageUid },
            ":createdAt": { S: next.lastMessageCreatedAt },
            ":now": { S: this.clock.now().toISOString() },
            ...(accountedFeedMarks.length > 0 ? { ":accounted": { SS: [...new Set(accountedFeedMarks)] } } : {}),
          } satisfies Item,
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        throw new StateConflictError(
          `the state of conversation ${conversationUid} was moved by another writer (expected ${expected?.lastMessageUid ?? "no state"})`,
        );
      }
      throw new StateUnavailableError(
        `could not store the state of conversation ${conversationUid}: ${describeError(error)}`,
      );
    }
  }

  async addFeedMarks(conversationUid: string, messageUids: readonly string[]): Promise<void> {
    if (messageUids.length === 0) return;
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: conversationStateKey(conversationUid),
          UpdateExpression: "ADD feedHandled :marks SET updatedAt = :now",
          ExpressionAttributeValues: {
            ":marks": { SS: [...new Set(messageUids)] },
            ":now": { S: this.clock.now().toISOString() },
          },
        }),
      );
    } catch (error) {
      throw new StateUnavailableError(
        `could not record what the feed handled in conversation ${conversationUid}: ${describeError(error)}`,
      );
    }
  }
}

function sleep(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}
