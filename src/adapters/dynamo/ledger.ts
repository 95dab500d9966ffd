import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { describeError, StateUnavailableError } from "../../errors.ts";
import type { ClaimOutcome, DeliveryLedger } from "../../ports.ts";
import { deliveryKey, type Item, stringAttribute } from "./table.ts";

/** A claim can vanish (released) between our write and our read of it: start over a few times. */
const CLAIM_ROUNDS = 3;

/**
 * The permanent "already posted" record, one item per (event, channel). A claim is a lease:
 * `pending` until `leaseUntil`, then anyone may take it over. Posted items never expire, so an
 * event redelivered days later is still recognised.
 */
export class DynamoDeliveryLedger implements DeliveryLedger {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async claim(eventId: string, channelId: string, now: Date, leaseSeconds: number): Promise<ClaimOutcome> {
    const leaseUntil = new Date(now.getTime() + leaseSeconds * 1000).toISOString();
    try {
      for (let round = 1; round <= CLAIM_ROUNDS; round += 1) {
        const existing = await this.createClaim(eventId, channelId, now.toISOString(), leaseUntil);
        if (!existing) return "claimed";
        if (existing === "vanished") continue;
        if (stringAttribute(existing, "status") === "posted") return "posted";
        const currentLease = Date.parse(stringAttribute(existing, "leaseUntil") ?? "");
        if (currentLease > now.getTime()) return "in_progress";
        return await this.takeOver(eventId, channelId, stringAttribute(existing, "claimedAt"), now, leaseUntil);
      }
    } catch (error) {
      throw new StateUnavailableError(
        `could not claim the delivery of event ${eventId} to ${channelId}: ${describeError(error)}`,
      );
    }
    throw new StateUnavailableError(
      `could not claim the delivery of event ${eventId} to ${channelId}: its claim kept being released`,
    );
  }

  /** Undefined when the claim is ours; otherwise the item that was there ("vanished" if it is gone by now). */
  private async createClaim(
    eventId: string,
    channelId: string,
    claimedAt: string,
    leaseUntil: string,
  ): Promise<Item | "vanished" | undefined> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            ...deliveryKey(eventId, channelId),
            status: { S: "pending" },
            claimedAt: { S: claimedAt },
            leaseUntil: { S: leaseUntil },
          },
          ConditionExpression: "attribute_not_exists(pk)",
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
      );
      return undefined;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      return error.Item ?? (await this.read(eventId, channelId)) ?? "vanished";
    }
  }

  /** An expired lease: whoever first replaces the `claimedAt` it saw gets the delivery. */
  private async takeOver(
    eventId: string,
    channelId: string,
    previousClaimedAt: string | undefined,
    now: Date,
    leaseUntil: string,
  ): Promise<ClaimOutcome> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: deliveryKey(eventId, channelId),
          UpdateExpression: "SET claimedAt = :now, leaseUntil = :leaseUntil, reclaimedAt = :now",
          ConditionExpression:
            previousClaimedAt === undefined
              ? "#status = :pending AND attribute_not_exists(claimedAt)"
              : "#status = :pending AND claimedAt = :previous",
          ExpressionAttributeNames: { "#status": "status" },
          ExpressionAttributeValues: {
            ":now": { S: now.toISOString() },
            ":leaseUntil": { S: leaseUntil },
            ":pending": { S: "pending" },
            ...(previousClaimedAt === undefined ? {} : { ":previous": { S: previousClaimedAt } }),
          },
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
      );
      return "reclaimed";
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      return stringAttribute(error.Item, "status") === "posted" ? "posted" : "in_progress";
    }
  }

  private async read(eventId: string, channelId: string): Promise<Item | undefined> {
    const result = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: deliveryKey(eventId, channelId),
        ConsistentRead: true,
      }),
    );
    return result.Item;
  }

  async markPosted(eventId: string, channelId: string, messageTs: string, now: Date): Promise<void> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: deliveryKey(eventId, channelId),
          UpdateExpression: "SET #status = :posted, messageTs = :messageTs, postedAt = :now REMOVE leaseUntil",
          ExpressionAttributeNames: { "#status": "status" },
          ExpressionAttributeValues: {
            ":posted": { S: "posted" },
            ":messageTs": { S: messageTs },
            ":now": { S: now.toISOString() },
          },
        }),
      );
    } catch (error) {
      throw new StateUnavailableError(
        `could not record that event ${eventId} was posted to ${channelId} (message ${messageTs}): ${describeError(error)}`,
      );
    }
  }

  async release(eventId: string, channelId: string): Promise<void> {
    try {
      await this.client.send(
        new DeleteItemCommand({
          TableName: this.tableName,
          Key: deliveryKey(eventId, channelId),
          ConditionExpression: "#status = :pending",
          ExpressionAttributeNames: { "#status": "status" },
          ExpressionAttributeValues: { ":pending": { S: "pending" } },
        }),
      );
    } catch (error) {
      // Already posted (never to be undone) or already gone: nothing to give back.
      if (error instanceof ConditionalCheckFailedException) {
        return;
      }
      throw new StateUnavailableError(
        `could not release the claim of event ${eventId} to ${channelId}: ${describeError(error)}`,
      );
    }
  }
}
