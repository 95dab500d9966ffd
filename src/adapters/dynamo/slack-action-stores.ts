import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { describeError, StateUnavailableError } from "../../errors.ts";
import type {
  AlertRecords,
  ReadMarks,
  ReplyClaimOutcome,
  ReplyLedger,
  ReplyStatus,
  ReplySubmission,
  StoredReply,
} from "../../ports.ts";
import { deliveryKey, type Item, readMarkKey, replyKey, stringAttribute, TTL_ATTRIBUTE } from "./table.ts";

/** A Reply's record outlives any redelivery or retry by far; DynamoDB deletes it after. */
const REPLY_RETENTION_DAYS = 30;
/** Who marked an alert read is kept for a season; a click after that calls the (idempotent) endpoint again. */
const READ_MARK_RETENTION_DAYS = 90;

const expiresAt = (now: Date, days: number) => ({ N: String(Math.floor(now.getTime() / 1000) + days * 86_400) });

function unavailable(what: string, error: unknown): StateUnavailableError {
  return new StateUnavailableError(`could not ${what}: ${describeError(error)}`, { cause: error });
}

/** The delivery ledger as the Slack endpoint reads it: was this event posted here, as which message? */
export class DynamoAlertRecords implements AlertRecords {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async postedAlertTs(eventId: string, channelId: string): Promise<string | undefined> {
    try {
      const result = await this.client.send(
        new GetItemCommand({
          TableName: this.tableName,
          Key: deliveryKey(eventId, channelId),
          ConsistentRead: true,
          ProjectionExpression: "#status, messageTs",
          ExpressionAttributeNames: { "#status": "status" },
        }),
      );
      return stringAttribute(result.Item, "status") === "posted"
        ? stringAttribute(result.Item, "messageTs")
        : undefined;
    } catch (error) {
      throw unavailable(`read the alert record of event ${eventId} in ${channelId}`, error);
    }
  }
}

const REPLY_STATUSES: readonly ReplyStatus[] = ["sending", "sent", "failed", "uncertain"];

function storedReply(key: string, item: Item): StoredReply | undefined {
  const status = stringAttribute(item, "status") as ReplyStatus | undefined;
  const field = (name: string) => stringAttribute(item, name);
  const submission = {
    conversationUid: field("conversationUid"),
    channelId: field("channelId"),
    alertTs: field("alertTs"),
    threadTs: field("threadTs"),
    userId: field("userId"),
    text: field("text"),
  };
  if (!status || !REPLY_STATUSES.includes(status)) return undefined;
  if (Object.values(submission).some((value) => value === undefined)) return undefined;
  const lease = Date.parse(field("leaseUntil") ?? "");
  return {
    key,
    submission: submission as ReplySubmission,
    status,
    reason: field("reason"),
    leaseUntil: Number.isNaN(lease) ? undefined : new Date(lease),
  };
}

/**
 * One item per Reply submission. Created `sending` by a conditional write, so a redelivered
 * submission finds it and sends nothing; `failed` is the only state a retry may take over.
 */
export class DynamoReplyLedger implements ReplyLedger {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async claim(key: string, submission: ReplySubmission, now: Date, leaseSeconds: number): Promise<ReplyClaimOutcome> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            ...replyKey(key),
            status: { S: "sending" },
            conversationUid: { S: submission.conversationUid },
            channelId: { S: submission.channelId },
            alertTs: { S: submission.alertTs },
            threadTs: { S: submission.threadTs },
            userId: { S: submission.userId },
            text: { S: submission.text },
            claimedAt: { S: now.toISOString() },
            leaseUntil: { S: new Date(now.getTime() + leaseSeconds * 1000).toISOString() },
            [TTL_ATTRIBUTE]: expiresAt(now, REPLY_RETENTION_DAYS),
          },
          ConditionExpression: "attribute_not_exists(pk)",
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
      );
      return { status: "claimed" };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return this.taken(key, error.Item);
      throw unavailable(`claim the Reply submission ${key}`, error);
    }
  }

  async reclaimFailed(key: string, now: Date, leaseSeconds: number): Promise<ReplyClaimOutcome> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: replyKey(key),
          UpdateExpression: "SET #status = :sending, claimedAt = :now, leaseUntil = :lease REMOVE reason",
          ConditionExpression: "#status = :failed",
          ExpressionAttributeNames: { "#status": "status" },
          ExpressionAttributeValues: {
            ":sending": { S: "sending" },
            ":failed": { S: "failed" },
            ":now": { S: now.toISOString() },
            ":lease": { S: new Date(now.getTime() + leaseSeconds * 1000).toISOString() },
          },
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
      );
      return { status: "claimed" };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return this.taken(key, error.Item);
      throw unavailable(`claim the Reply submission ${key} for a retry`, error);
    }
  }

  private async taken(key: string, item: Item | undefined): Promise<ReplyClaimOutcome> {
    const found = item ? storedReply(key, item) : await this.get(key);
    if (!found) throw new StateUnavailableError(`the Reply submission ${key} is stored unreadably, or vanished`);
    return { status: "taken", stored: found };
  }

  async get(key: string): Promise<StoredReply | undefined> {
    try {
      const result = await this.client.send(
        new GetItemCommand({ TableName: this.tableName, Key: replyKey(key), ConsistentRead: true }),
      );
      return result.Item ? storedReply(key, result.Item) : undefined;
    } catch (error) {
      throw unavailable(`read the Reply submission ${key}`, error);
    }
  }

  async markSent(key: string, messageUid: string | undefined, now: Date): Promise<void> {
    await this.settle(key, "sent", now, messageUid ? { messageUid } : {});
  }

  async markFailed(key: string, outcome: "failed" | "uncertain", reason: string, now: Date): Promise<void> {
    await this.settle(key, outcome, now, { reason: reason.slice(0, 500) });
  }

  private async settle(key: string, status: ReplyStatus, now: Date, extra: Record<string, string>): Promise<void> {
    const names = Object.keys(extra);
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: replyKey(key),
          UpdateExpression: `SET #status = :status, settledAt = :now${names.map((name) => `, ${name} = :${name}`).join("")} REMOVE leaseUntil`,
          // Only a send under way is settled: a late, slow attempt never overwrites `sent`.
          ConditionExpression: "#status = :sending",
          ExpressionAttributeNames: { "#status": "status" },
          ExpressionAttributeValues: {
            ":status": { S: status },
            ":sending": { S: "sending" },
            ":now": { S: now.toISOString() },
            ...Object.fromEntries(names.map((name) => [`:${name}`, { S: extra[name] ?? "" }])),
          },
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return;
      throw unavailable(`record the outcome (${status}) of the Reply submission ${key}`, error);
    }
  }
}

/** One item per alert marked read: the first click writes it, later clicks read who did. */
export class DynamoReadMarks implements ReadMarks {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async claim(
    channelId: string,
    alertTs: string,
    userId: string,
    now: Date,
  ): Promise<{ status: "claimed" } | { status: "taken"; by: string }> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            ...readMarkKey(channelId, alertTs),
            userId: { S: userId },
            markedAt: { S: now.toISOString() },
            [TTL_ATTRIBUTE]: expiresAt(now, READ_MARK_RETENTION_DAYS),
          },
          ConditionExpression: "attribute_not_exists(pk)",
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
      );
      return { status: "claimed" };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        return { status: "taken", by: stringAttribute(error.Item, "userId") ?? "someone" };
      }
      throw unavailable(`record that the alert ${alertTs} in ${channelId} is marked read`, error);
    }
  }

  async release(channelId: string, alertTs: string): Promise<void> {
    try {
      await this.client.send(
        new DeleteItemCommand({ TableName: this.tableName, Key: readMarkKey(channelId, alertTs) }),
      );
    } catch (error) {
      throw unavailable(`release the read mark of the alert ${alertTs} in ${channelId}`, error);
    }
  }
}
