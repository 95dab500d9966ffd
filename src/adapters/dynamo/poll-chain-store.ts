import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import type { PollChainState, PollTick } from "../../domain/poll-chain.ts";
import { describeError, StateUnavailableError } from "../../errors.ts";
import type { PollChainStore } from "../../ports.ts";
import { type Item, numberAttribute, pollChainKey, stringAttribute } from "./table.ts";

/**
 * The fast-poll chain as one item (`CHAIN` / `POLLER`: chainId, seq, tickedAtMs). A tick's
 * advance is one conditional UpdateItem of that small item (1 write unit, the tick's only write
 * besides the poll's own); the watchdog reads it once a minute, eventually consistent (half a
 * read unit): a read a second stale only makes it judge the chain a second later.
 */
export class DynamoPollChainStore implements PollChainStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async read(): Promise<PollChainState | undefined> {
    try {
      const { Item: item } = await this.client.send(
        new GetItemCommand({ TableName: this.tableName, Key: pollChainKey() }),
      );
      return stateOf(item);
    } catch (error) {
      throw new StateUnavailableError(`could not read the poll chain: ${describeError(error)}`, { cause: error });
    }
  }

  async advance(tick: PollTick, at: Date): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: pollChainKey(),
          UpdateExpression: "SET seq = :seq, tickedAtMs = :at",
          ConditionExpression: "chainId = :chain AND seq = :previous",
          ExpressionAttributeValues: {
            ":chain": { S: tick.chainId },
            ":seq": { N: String(tick.seq) },
            ":previous": { N: String(tick.seq - 1) },
            ":at": { N: String(at.getTime()) },
          },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw new StateUnavailableError(`could not advance the poll chain: ${describeError(error)}`, { cause: error });
    }
  }

  async replace(next: PollChainState, seen: PollChainState | undefined): Promise<boolean> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            ...pollChainKey(),
            chainId: { S: next.chainId },
            seq: { N: String(next.seq) },
            tickedAtMs: { N: String(next.tickedAt.getTime()) },
          },
          ...(seen
            ? {
                ConditionExpression: "chainId = :chain AND seq = :seq",
                ExpressionAttributeValues: { ":chain": { S: seen.chainId }, ":seq": { N: String(seen.seq) } },
              }
            : { ConditionExpression: "attribute_not_exists(pk)" }),
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw new StateUnavailableError(`could not start a poll chain: ${describeError(error)}`, { cause: error });
    }
  }
}

function stateOf(item: Item | undefined): PollChainState | undefined {
  const chainId = stringAttribute(item, "chainId");
  const seq = numberAttribute(item, "seq");
  const tickedAtMs = numberAttribute(item, "tickedAtMs");
  if (chainId === undefined || seq === undefined || tickedAtMs === undefined) return undefined;
  return { chainId, seq, tickedAt: new Date(tickedAtMs) };
}
