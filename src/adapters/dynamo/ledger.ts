import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { describeError, StateUnavailableError } from "../../errors.ts";
import type { Claim, ClaimOptions, ClaimOutcome, DeliveryLedger, SettledHow } from "../../ports.ts";
import { deliveryKey, type Item, stringAttribute } from "./table.ts";

/** A claim can vanish (released) between our write and our read of it: start over a few times. */
const CLAIM_ROUNDS = 3;

/**
 * The permanent "already posted" record, one item per (event, channel). A claim is a lease:
 * `pending` until `leaseUntil`, then anyone may take it over; `firstClaimedAt` stays from the
 * first attempt on, so a takeover knows since when the alert may be in the channel. Posted items
 * never expire, so an event redelivered days later is still recognised.
 */
export class DynamoDeliveryLedger implements DeliveryLedger {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async claim(
    eventId: string,
    channelId: string,
    now: Date,
    leaseSeconds: number,
    options: ClaimOptions = {},
  ): Promise<ClaimOutcome> {
    const leaseUntil = new Date(now.getTime() + leaseSeconds * 1000).toISOString();
    try {
      for (let round = 1; round <= CLAIM_ROUNDS; round += 1) {
        const claim: Claim = { claimedAt: now.toISOString() };
        const existing = await this.createClaim(eventId, channelId, claim.claimedAt, leaseUntil);
        if (!existing) return { status: "claimed", claim };
        if (existing === "vanished") continue;
        const status = stringAttribute(existing, "status");
        if (status === "posted") return { status: "posted", messageTs: stringAttribute(existing, "messageTs") };
        if (status === "muted" || status === "digested") {
          return { status: "settled", how: status, messageTs: stringAttribute(existing, "messageTs") };
        }
        if (status === "held") {
          const digestId = stringAttribute(existing, "digestId") ?? "";
          const takeHeld = options.takeHeld;
          if (takeHeld?.digestId !== digestId) return { status: "held", digestId };
          if (await this.takeHeld(eventId, channelId, digestId, takeHeld.threadTs, claim.claimedAt, leaseUntil)) {
            return { status: "claimed", claim };
          }
          continue;
        }
        const currentLease = Date.parse(stringAttribute(existing, "leaseUntil") ?? "");
        if (currentLease > now.getTime()) return { status: "in_progress", leaseUntil: new Date(currentLease) };
        return await this.takeOver(eventId, channelId, existing, now, leaseUntil);
      }
    } catch (error) {
      throw new StateUnavailableError(
        `could not claim the delivery of event ${eventId} to ${channelId}: ${describeError(error)}`,
        { cause: error },
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
            firstClaimedAt: { S: claimedAt },
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
    existing: Item,
    now: Date,
    leaseUntil: string,
  ): Promise<ClaimOutcome> {
    const previousClaimedAt = stringAttribute(existing, "claimedAt");
    // Claims written before firstClaimedAt existed started at their claimedAt at the latest.
    const firstClaimedAt = stringAttribute(existing, "firstClaimedAt") ?? previousClaimedAt ?? now.toISOString();
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: deliveryKey(eventId, channelId),
          UpdateExpression:
            "SET claimedAt = :now, leaseUntil = :leaseUntil, reclaimedAt = :now, firstClaimedAt = if_not_exists(firstClaimedAt, :first)",
          ConditionExpression:
            previousClaimedAt === undefined
              ? "#status = :pending AND attribute_not_exists(claimedAt)"
              : "#status = :pending AND claimedAt = :previous",
          ExpressionAttributeNames: { "#status": "status" },
          ExpressionAttributeValues: {
            ":now": { S: now.toISOString() },
            ":leaseUntil": { S: leaseUntil },
            ":pending": { S: "pending" },
            ":first": { S: firstClaimedAt },
            ...(previousClaimedAt === undefined ? {} : { ":previous": { S: previousClaimedAt } }),
          },
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
      );
      return {
        status: "reclaimed",
        claim: { claimedAt: now.toISOString() },
        firstClaimedAt: new Date(firstClaimedAt),
        threadTs: stringAttribute(existing, "postThreadTs"),
      };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const status = stringAttribute(error.Item, "status");
      if (status === "posted") return { status: "posted", messageTs: stringAttribute(error.Item, "messageTs") };
      if (status === "muted" || status === "digested") {
        return { status: "settled", how: status, messageTs: stringAttribute(error.Item, "messageTs") };
      }
      const lease = Date.parse(stringAttribute(error.Item, "leaseUntil") ?? "");
      return { status: "in_progress", leaseUntil: new Date(Number.isNaN(lease) ? now.getTime() : lease) };
    }
  }

  /**
   * A delivery held for the digest that is now delivering it: nothing was posted for it yet, so it
   * is claimed afresh (firstClaimedAt from now on), recording the thread it is about to be posted
   * into for a takeover's read-back. False when it is no longer held for that digest.
   */
  private async takeHeld(
    eventId: string,
    channelId: string,
    digestId: string,
    threadTs: string | undefined,
    claimedAt: string,
    leaseUntil: string,
  ): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: deliveryKey(eventId, channelId),
          UpdateExpression: `SET #status = :pending, claimedAt = :now, firstClaimedAt = :now, leaseUntil = :leaseUntil${threadTs ? ", postThreadTs = :thread" : ""}`,
          ConditionExpression: "#status = :held AND digestId = :digest",
          ExpressionAttributeNames: { "#status": "status" },
          ExpressionAttributeValues: {
            ":pending": { S: "pending" },
            ":held": { S: "held" },
            ":digest": { S: digestId },
            ":now": { S: claimedAt },
            ":leaseUntil": { S: leaseUntil },
            ...(threadTs ? { ":thread": { S: threadTs } } : {}),
          },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async settle(eventId: string, channelId: string, claim: Claim, how: SettledHow, now: Date): Promise<void> {
    await this.updateIfStill(
      eventId,
      channelId,
      {
        UpdateExpression: "SET #status = :how, settledAt = :now REMOVE leaseUntil",
        // Only our own claim: one taken over by another notifier is theirs to finish.
        ConditionExpression: "#status = :pending AND claimedAt = :ours",
        ExpressionAttributeValues: {
          ":how": { S: how },
          ":now": { S: now.toISOString() },
          ":pending": { S: "pending" },
          ":ours": { S: claim.claimedAt },
        },
      },
      `record that event ${eventId} is ${how} in ${channelId}`,
    );
  }

  async settleHeld(
    eventId: string,
    channelId: string,
    digestId: string,
    how: SettledHow,
    messageTs: string | undefined,
    now: Date,
  ): Promise<void> {
    // Settled already (a redelivered digest), or no longer held for it: nothing left to record.
    await this.updateIfStill(
      eventId,
      channelId,
      {
        UpdateExpression: `SET #status = :how, settledAt = :now${messageTs ? ", messageTs = :ts" : ""}`,
        ConditionExpression: "#status = :held AND digestId = :digest",
        ExpressionAttributeValues: {
          ":how": { S: how },
          ":now": { S: now.toISOString() },
          ":held": { S: "held" },
          ":digest": { S: digestId },
          ...(messageTs ? { ":ts": { S: messageTs } } : {}),
        },
      },
      `record that event ${eventId} was ${how} by digest ${digestId} in ${channelId}`,
    );
  }

  async expireLease(eventId: string, channelId: string, claim: Claim, now: Date): Promise<void> {
    await this.updateIfStill(
      eventId,
      channelId,
      {
        UpdateExpression: "SET leaseUntil = :now",
        // Only our own claim: a slow attempt must not cut short the lease of one that took over.
        ConditionExpression: "#status = :pending AND claimedAt = :ours",
        ExpressionAttributeValues: {
          ":now": { S: now.toISOString() },
          ":pending": { S: "pending" },
          ":ours": { S: claim.claimedAt },
        },
      },
      `hand back the claim of event ${eventId} to ${channelId}`,
    );
  }

  /**
   * An update of the delivery's item that applies only while its condition holds; when it no
   * longer does, someone else owns the delivery now and there is nothing for us to record.
   */
  private async updateIfStill(
    eventId: string,
    channelId: string,
    update: { UpdateExpression: string; ConditionExpression: string; ExpressionAttributeValues: Item },
    what: string,
  ): Promise<void> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: deliveryKey(eventId, channelId),
          ExpressionAttributeNames: { "#status": "status" },
          ...update,
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return;
      throw new StateUnavailableError(`could not ${what}: ${describeError(error)}`, { cause: error });
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
        { cause: error },
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
        { cause: error },
      );
    }
  }
}
