import { createHash } from "node:crypto";
import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  PutItemCommand,
  QueryCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { alertTargetSchema, type DigestDue, newReplyEventSchema } from "../../domain/events.ts";
import { describeError, StateUnavailableError } from "../../errors.ts";
import type { Claim, DigestRecord, DigestStore, HeldReply, HoldOutcome, Log } from "../../ports.ts";
import {
  DIGEST_PARTITION_PREFIX,
  DIGESTS_DUE_PARTITION,
  DUE_PREFIX,
  deliveryKey,
  digestDueKey,
  digestKey,
  HELD_REPLY_PREFIX,
  heldReplyKey,
  type Item,
  stringAttribute,
  TTL_ATTRIBUTE,
} from "./table.ts";

/** A digest and its replies are kept this long after they were due, then DynamoDB deletes them. */
const KEEP_AFTER_DUE_SECONDS = 30 * 86_400;
/** Two notifiers holding replies for the same digest at once conflict; one of them tries again. */
const HOLD_ATTEMPTS = 4;

/**
 * Replies held for digests (quiet hours, digest intervals). A digest is an item keyed by its id,
 * its replies are items in the same partition (read with one Query), and a `DIGESTS` partition
 * lists what is due, by due time, so the poller's tick finds due digests with one Query:
 *
 * - hold: one transaction turns our ledger claim into "held for this digest", adds the reply and
 *   creates or updates the digest and its due entry, on condition that the digest was not closed.
 *   So a reply is held once (the ledger says so) and is either in a digest that has not started
 *   or not held at all.
 * - close: the digest's delivery first closes it; replies held after that go to a later one.
 * - finish: once delivered, the due entry goes; the digest and its replies expire a month later.
 */
export class DynamoDigestStore implements DigestStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly options: { log: Log },
  ) {}

  async hold(input: {
    digestId: string;
    dueAt: Date;
    reason: "quiet" | "digest";
    reply: HeldReply;
    claim: Claim;
    now: Date;
  }): Promise<HoldOutcome> {
    const { digestId, reply, claim, now } = input;
    const { event, target } = reply;
    const dueAt = input.dueAt.toISOString();
    const expires = String(Math.floor(input.dueAt.getTime() / 1000) + KEEP_AFTER_DUE_SECONDS);
    const command = new TransactWriteItemsCommand({
      // The same hold sent again (the SDK's retry after a lost answer) is applied once, and succeeds.
      // Tokens are shared by the account's tables: the table's name keeps another stack's apart.
      ClientRequestToken: createHash("sha256")
        .update(`${this.tableName}\n${event.eventId}\n${target.channelId}\n${claim.claimedAt}\n${digestId}`)
        .digest("hex")
        .slice(0, 36),
      TransactItems: [
        {
          Update: {
            TableName: this.tableName,
            Key: deliveryKey(event.eventId, target.channelId),
            UpdateExpression: "SET #status = :held, digestId = :digest, heldAt = :now REMOVE leaseUntil",
            ConditionExpression: "#status = :pending AND claimedAt = :ours",
            ExpressionAttributeNames: { "#status": "status" },
            ExpressionAttributeValues: {
              ":held": { S: "held" },
              ":digest": { S: digestId },
              ":now": { S: now.toISOString() },
              ":pending": { S: "pending" },
              ":ours": { S: claim.claimedAt },
            },
          },
        },
        {
          Update: {
            TableName: this.tableName,
            Key: digestKey(digestId),
            UpdateExpression: `SET digestId = :digest, subscriptionId = :subscription, channelId = :channel, dueAt = :due, target = if_not_exists(target, :target), since = if_not_exists(since, :now), #ttl = :expires${input.reason === "quiet" ? ", quiet = :true" : ""}`,
            ConditionExpression: "attribute_not_exists(closedAt)",
            ExpressionAttributeNames: { "#ttl": TTL_ATTRIBUTE },
            ExpressionAttributeValues: {
              ":digest": { S: digestId },
              ":subscription": { S: target.subscriptionId },
              ":channel": { S: target.channelId },
              ":due": { S: dueAt },
              ":target": { S: JSON.stringify(target) },
              ":now": { S: now.toISOString() },
              ":expires": { N: expires },
              ...(input.reason === "quiet" ? { ":true": { BOOL: true } } : {}),
            },
          },
        },
        {
          Put: {
            TableName: this.tableName,
            Item: {
              ...heldReplyKey(digestId, event.message.createdAt, event.eventId),
              event: { S: JSON.stringify(event) },
              target: { S: JSON.stringify(target) },
              heldAt: { S: reply.heldAt },
              [TTL_ATTRIBUTE]: { N: expires },
            },
          },
        },
        {
          // An Update, not a Put: a digest already queued keeps its `queuedAt`.
          Update: {
            TableName: this.tableName,
            Key: digestDueKey(dueAt, digestId),
            UpdateExpression:
              "SET digestId = :digest, subscriptionId = :subscription, channelId = :channel, dueAt = :due",
            ExpressionAttributeValues: {
              ":digest": { S: digestId },
              ":subscription": { S: target.subscriptionId },
              ":channel": { S: target.channelId },
              ":due": { S: dueAt },
            },
          },
        },
      ],
    });
    let lastError: unknown;
    for (let attempt = 1; attempt <= HOLD_ATTEMPTS; attempt += 1) {
      try {
        await this.client.send(command);
        return { status: "held" };
      } catch (error) {
        lastError = error;
        if (!(error instanceof TransactionCanceledException)) break;
        const [ledger, digest] = error.CancellationReasons ?? [];
        if (ledger?.Code === "ConditionalCheckFailed") return { status: "claim_lost" };
        if (digest?.Code === "ConditionalCheckFailed") return { status: "closed", dueAt: input.dueAt };
        // TransactionConflict: another hold on the same digest at the same moment; try again.
        if (!(error.CancellationReasons ?? []).some((reason) => reason.Code === "TransactionConflict")) break;
      }
    }
    throw new StateUnavailableError(
      `could not hold event ${event.eventId} for the digest of ${target.channelId}: ${describeError(lastError)}`,
      { cause: lastError },
    );
  }

  async due(now: Date, options: { limit: number; requeueAfterMs: number }): Promise<DigestDue[]> {
    const requeueBefore = new Date(now.getTime() - options.requeueAfterMs).toISOString();
    const due: DigestDue[] = [];
    let startKey: Item | undefined;
    try {
      do {
        const page = await this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: "pk = :pk AND sk BETWEEN :from AND :to",
            FilterExpression: "attribute_not_exists(queuedAt) OR queuedAt < :requeue",
            ExpressionAttributeValues: {
              ":pk": { S: DIGESTS_DUE_PARTITION },
              ":from": { S: DUE_PREFIX },
              ":to": { S: `${DUE_PREFIX}${now.toISOString()}#\uffff` },
              ":requeue": { S: requeueBefore },
            },
            ExclusiveStartKey: startKey,
          }),
        );
        for (const item of page.Items ?? []) {
          const digestId = stringAttribute(item, "digestId");
          const subscriptionId = stringAttribute(item, "subscriptionId");
          const channelId = stringAttribute(item, "channelId");
          const dueAt = stringAttribute(item, "dueAt");
          if (!digestId || !subscriptionId || !channelId || !dueAt) continue;
          due.push({ version: 1, kind: "digest", digestId, subscriptionId, channelId, dueAt });
          if (due.length >= options.limit) return due;
        }
        startKey = page.LastEvaluatedKey;
      } while (startKey);
    } catch (error) {
      throw new StateUnavailableError(`could not read the due digests: ${describeError(error)}`, { cause: error });
    }
    return due;
  }

  async markQueued(digest: DigestDue, now: Date): Promise<void> {
    try {
      // Conditional: the entry must still be there (a digest already delivered and removed is not brought back).
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            ...digestDueKey(digest.dueAt, digest.digestId),
            digestId: { S: digest.digestId },
            subscriptionId: { S: digest.subscriptionId },
            channelId: { S: digest.channelId },
            dueAt: { S: digest.dueAt },
            queuedAt: { S: now.toISOString() },
          },
          ConditionExpression: "attribute_exists(pk)",
        }),
      );
    } catch (error) {
      // Delivered and finished meanwhile: nothing left to mark.
      if (error instanceof ConditionalCheckFailedException) return;
      throw new StateUnavailableError(`could not mark digest ${digest.digestId} queued: ${describeError(error)}`, {
        cause: error,
      });
    }
  }

  async close(digestId: string, now: Date): Promise<DigestRecord | undefined> {
    let item: Item | undefined;
    try {
      const result = await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: digestKey(digestId),
          UpdateExpression: "SET closedAt = if_not_exists(closedAt, :now)",
          ConditionExpression: "attribute_exists(pk)",
          ExpressionAttributeValues: { ":now": { S: now.toISOString() } },
          ReturnValues: "ALL_NEW",
        }),
      );
      item = result.Attributes;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw new StateUnavailableError(`could not start delivering digest ${digestId}: ${describeError(error)}`, {
        cause: error,
      });
    }
    const target = alertTargetSchema.safeParse(parseJson(stringAttribute(item, "target")));
    const subscriptionId = stringAttribute(item, "subscriptionId");
    const channelId = stringAttribute(item, "channelId");
    const dueAt = stringAttribute(item, "dueAt");
    if (!target.success || !subscriptionId || !channelId || !dueAt) {
      this.options.log.error("a stored digest is unreadable; it is skipped", { digestId });
      return undefined;
    }
    return {
      digestId,
      subscriptionId,
      channelId,
      dueAt,
      target: target.data,
      quiet: item?.quiet?.BOOL === true,
      since: stringAttribute(item, "since") ?? dueAt,
      closedAt: stringAttribute(item, "closedAt"),
    };
  }

  async replies(digestId: string): Promise<HeldReply[]> {
    const replies: HeldReply[] = [];
    let startKey: Item | undefined;
    try {
      do {
        const page = await this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: "pk = :pk AND begins_with(sk, :reply)",
            ExpressionAttributeValues: {
              ":pk": { S: `${DIGEST_PARTITION_PREFIX}${digestId}` },
              ":reply": { S: HELD_REPLY_PREFIX },
            },
            ConsistentRead: true,
            ExclusiveStartKey: startKey,
          }),
        );
        for (const item of page.Items ?? []) {
          const event = newReplyEventSchema.safeParse(parseJson(stringAttribute(item, "event")));
          const target = alertTargetSchema.safeParse(parseJson(stringAttribute(item, "target")));
          if (!event.success || !target.success) {
            this.options.log.error("a reply held for a digest is unreadable; it is skipped", {
              digestId,
              sk: stringAttribute(item, "sk"),
            });
            continue;
          }
          replies.push({ event: event.data, target: target.data, heldAt: stringAttribute(item, "heldAt") ?? "" });
        }
        startKey = page.LastEvaluatedKey;
      } while (startKey);
    } catch (error) {
      throw new StateUnavailableError(`could not read the replies of digest ${digestId}: ${describeError(error)}`, {
        cause: error,
      });
    }
    return replies;
  }

  async finish(digestId: string, dueAt: string, now: Date): Promise<void> {
    try {
      await this.client.send(new DeleteItemCommand({ TableName: this.tableName, Key: digestDueKey(dueAt, digestId) }));
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: digestKey(digestId),
          UpdateExpression: "SET deliveredAt = if_not_exists(deliveredAt, :now)",
          ConditionExpression: "attribute_exists(pk)",
          ExpressionAttributeValues: { ":now": { S: now.toISOString() } },
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return;
      throw new StateUnavailableError(`could not record digest ${digestId} as delivered: ${describeError(error)}`, {
        cause: error,
      });
    }
  }
}

function parseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
