import {
  BatchGetItemCommand,
  type BatchGetItemCommandOutput,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  PutItemCommand,
} from "@aws-sdk/client-dynamodb";
import type { ConversationState } from "../../domain/detection.ts";
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

/** Per-conversation poller state, one item each; advanced only by conditional writes. */
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
    const unique = [...new Set(conversationUids)];
    const batches: string[][] = [];
    for (let start = 0; start < unique.length; start += BATCH_GET_LIMIT) {
      batches.push(unique.slice(start, start + BATCH_GET_LIMIT));
    }
    const states = new Map<string, ConversationState>();
    const worker = async () => {
      for (let batch = batches.shift(); batch; batch = batches.shift()) await this.readBatch(batch, states);
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL_BATCHES, batches.length) }, worker));
    return states;
  }

  private async readBatch(conversationUids: readonly string[], into: Map<string, ConversationState>): Promise<void> {
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
        if (!pk.startsWith(CONVERSATION_PARTITION_PREFIX) || !lastMessageUid || !lastMessageCreatedAt) {
          this.options.log?.warn("ignoring an unreadable conversation state", { pk });
          continue;
        }
        into.set(pk.slice(CONVERSATION_PARTITION_PREFIX.length), { lastMessageUid, lastMessageCreatedAt });
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
            ProjectionExpression: "pk, lastMessageUid, lastMessageCreatedAt",
          },
        },
      }),
    );
  }

  async advanceState(
    conversationUid: string,
    expected: ConversationState | undefined,
    next: ConversationState,
  ): Promise<void> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            ...conversationStateKey(conversationUid),
            lastMessageUid: { S: next.lastMessageUid },
            lastMessageCreatedAt: { S: next.lastMessageCreatedAt },
            updatedAt: { S: this.clock.now().toISOString() },
          },
          ...(expected
            ? {
                ConditionExpression: "lastMessageUid = :expected",
                ExpressionAttributeValues: { ":expected": { S: expected.lastMessageUid } },
              }
            : { ConditionExpression: "attribute_not_exists(pk)" }),
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
}

function sleep(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}
