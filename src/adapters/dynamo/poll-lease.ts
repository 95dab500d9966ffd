import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from "@aws-sdk/client-dynamodb";
import { describeError, StateUnavailableError } from "../../errors.ts";
import { type Clock, type PollLease, type PollLeaseHolder, systemClock } from "../../ports.ts";
import { type Item, numberAttribute, pollLeaseKey, stringAttribute, TTL_ATTRIBUTE } from "./table.ts";

/** A lease item outlives its end by a day (TTL), so an abandoned one does not stay in the table for ever. */
const LEASE_ITEM_TTL_SECONDS = 24 * 60 * 60;

/**
 * The poll lease as one item (`LEASE` / `POLLER`: holder, until). Taking it is one conditional
 * PutItem (free, run out, or already ours); releasing it is one more, conditional on still holding
 * it, which sets `until` to now. Only GetItem and PutItem, which the poller's role has already.
 */
export class DynamoPollLease implements PollLease {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly options: { clock?: Clock } = {},
  ) {}

  private now(): Date {
    return (this.options.clock ?? systemClock).now();
  }

  async acquire(
    holder: string,
    until: Date,
  ): Promise<{ acquired: true } | { acquired: false; heldBy: PollLeaseHolder }> {
    try {
      await this.client.send(
        this.put(holder, until, "attribute_not_exists(pk) OR untilMs <= :now OR holder = :holder"),
      );
      return { acquired: true };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        return { acquired: false, heldBy: (await this.current(error.Item)) ?? { holder: "another poll", until } };
      }
      throw new StateUnavailableError(`could not take the poll lease: ${describeError(error)}`);
    }
  }

  async release(holder: string): Promise<void> {
    try {
      await this.client.send(this.put(holder, this.now(), "holder = :holder"));
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return; // taken over meanwhile: not ours to end
      throw new StateUnavailableError(`could not release the poll lease: ${describeError(error)}`);
    }
  }

  private put(holder: string, until: Date, condition: string): PutItemCommand {
    return new PutItemCommand({
      TableName: this.tableName,
      Item: {
        ...pollLeaseKey(),
        holder: { S: holder },
        until: { S: until.toISOString() },
        untilMs: { N: String(until.getTime()) },
        [TTL_ATTRIBUTE]: { N: String(Math.ceil(until.getTime() / 1000) + LEASE_ITEM_TTL_SECONDS) },
      },
      ConditionExpression: condition,
      ExpressionAttributeValues: {
        ":holder": { S: holder },
        ...(condition.includes(":now") ? { ":now": { N: String(this.now().getTime()) } } : {}),
      },
      ReturnValuesOnConditionCheckFailure: "ALL_OLD",
    });
  }

  /** The holder named by the item the failed condition saw (or, without it, read now). */
  private async current(item: Item | undefined): Promise<PollLeaseHolder | undefined> {
    const found =
      item ??
      (
        await this.client.send(
          new GetItemCommand({ TableName: this.tableName, Key: pollLeaseKey(), ConsistentRead: true }),
        )
      ).Item;
    const holder = stringAttribute(found, "holder");
    const untilMs = numberAttribute(found, "untilMs");
    return holder !== undefined && untilMs !== undefined ? { holder, until: new Date(untilMs) } : undefined;
  }
}
