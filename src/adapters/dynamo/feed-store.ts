import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from "@aws-sdk/client-dynamodb";
import { type FeedState, feedStateSchema } from "../../domain/feed.ts";
import { describeError, StateUnavailableError } from "../../errors.ts";
import {
  type Clock,
  type FeedStateStore,
  type Log,
  type StoredFeedState,
  systemClock,
  type WebhookHintStore,
  type WebhookRegistration,
  type WebhookRegistrationStore,
} from "../../ports.ts";
import { type ItemKey, numberAttribute, revisionedWrite, stringAttribute, TTL_ATTRIBUTE } from "./table.ts";

const key = (pk: string, sk: string): ItemKey => ({ pk: { S: pk }, sk: { S: sk } });
export const feedStateKey = (): ItemKey => key("FEED", "STATE");
const webhookRegistrationKey = (): ItemKey => key("WEBHOOK", "REGISTRATION");
const webhookDeliveryKey = (uuid: string): ItemKey => key(`WHDELIVERY#${uuid}`, "SEEN");
const webhookReadKey = (conversationUid: string): ItemKey => key(`WHREAD#${conversationUid}`, "WINDOW");

/**
 * The messages feed's one shared item (`FEED` / `STATE`): the FeedState as JSON, with a
 * `revision` that every write checks and increments, so two pollers never overwrite each
 * other's transition (the loser re-reads and applies its change again).
 */
export class DynamoFeedStateStore implements FeedStateStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly options: { clock?: Clock; log?: Log } = {},
  ) {}

  async read(): Promise<StoredFeedState | undefined> {
    try {
      const result = await this.client.send(
        new GetItemCommand({ TableName: this.tableName, Key: feedStateKey(), ConsistentRead: true }),
      );
      if (!result.Item) return undefined;
      const revision = numberAttribute(result.Item, "revision") ?? 0;
      let parsed: ReturnType<typeof feedStateSchema.safeParse> | undefined;
      try {
        parsed = feedStateSchema.safeParse(JSON.parse(stringAttribute(result.Item, "state") ?? ""));
      } catch {
        parsed = undefined;
      }
      if (!parsed?.success) {
        this.options.log?.warn("ignoring an unreadable messages-feed state; the next poll sweeps and starts it again");
        return { state: { mode: "feed", teamUids: [] }, revision };
      }
      return { state: parsed.data, revision };
    } catch (error) {
      throw new StateUnavailableError(`could not read the messages-feed state: ${describeError(error)}`);
    }
  }

  async write(next: FeedState, expectedRevision: number | undefined): Promise<boolean> {
    const { revision, condition } = revisionedWrite(expectedRevision);
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            ...feedStateKey(),
            state: { S: JSON.stringify(feedStateSchema.parse(next)) },
            revision,
            updatedAt: { S: (this.options.clock ?? systemClock).now().toISOString() },
          },
          ...condition,
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw new StateUnavailableError(`could not store the messages-feed state: ${describeError(error)}`, {
        cause: error,
      });
    }
  }

  async reset(): Promise<boolean> {
    try {
      const result = await this.client.send(
        new DeleteItemCommand({ TableName: this.tableName, Key: feedStateKey(), ReturnValues: "ALL_OLD" }),
      );
      return result.Attributes !== undefined;
    } catch (error) {
      throw new StateUnavailableError(`could not reset the messages-feed state: ${describeError(error)}`);
    }
  }
}

/**
 * Webhook deliveries seen (`WHDELIVERY#<uuid>`, expiring) and each conversation's read window
 * (`WHREAD#<conversationUid>`, expiring): both are single conditional PutItems, so duplicates
 * and floods cost one write each and never an API read.
 */
export class DynamoWebhookHintStore implements WebhookHintStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async recordDelivery(uuid: string, receivedAt: Date, keepSeconds: number): Promise<boolean> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            ...webhookDeliveryKey(uuid),
            receivedAt: { S: receivedAt.toISOString() },
            [TTL_ATTRIBUTE]: { N: String(Math.ceil(receivedAt.getTime() / 1000) + keepSeconds) },
          },
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw new StateUnavailableError(`could not record webhook delivery ${uuid}: ${describeError(error)}`);
    }
  }

  async claimRead(
    conversationUid: string,
    now: Date,
    windowMs: number,
  ): Promise<{ claimed: true } | { claimed: false; until: Date }> {
    const untilMs = now.getTime() + windowMs;
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            ...webhookReadKey(conversationUid),
            untilMs: { N: String(untilMs) },
            // Expired windows are gone after a day or two; a live one is what the condition reads.
            [TTL_ATTRIBUTE]: { N: String(Math.ceil(untilMs / 1000) + 3600) },
          },
          ConditionExpression: "attribute_not_exists(pk) OR untilMs <= :now",
          ExpressionAttributeValues: { ":now": { N: String(now.getTime()) } },
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
      );
      return { claimed: true };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        const held = numberAttribute(error.Item, "untilMs");
        return { claimed: false, until: new Date(held ?? untilMs) };
      }
      throw new StateUnavailableError(
        `could not claim a read of conversation ${conversationUid}: ${describeError(error)}`,
      );
    }
  }
}

/** The webhook this installation registered (`WEBHOOK` / `REGISTRATION`). */
export class DynamoWebhookRegistrationStore implements WebhookRegistrationStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async read(): Promise<WebhookRegistration | undefined> {
    try {
      const result = await this.client.send(
        new GetItemCommand({ TableName: this.tableName, Key: webhookRegistrationKey(), ConsistentRead: true }),
      );
      const webhookId = stringAttribute(result.Item, "webhookId");
      const url = stringAttribute(result.Item, "url");
      const registeredAt = stringAttribute(result.Item, "registeredAt");
      return webhookId && url && registeredAt ? { webhookId, url, registeredAt } : undefined;
    } catch (error) {
      throw new StateUnavailableError(`could not read the webhook registration: ${describeError(error)}`);
    }
  }

  async save(registration: WebhookRegistration): Promise<void> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            ...webhookRegistrationKey(),
            webhookId: { S: registration.webhookId },
            url: { S: registration.url },
            registeredAt: { S: registration.registeredAt },
          },
        }),
      );
    } catch (error) {
      throw new StateUnavailableError(`could not store the webhook registration: ${describeError(error)}`);
    }
  }

  async forget(): Promise<void> {
    try {
      await this.client.send(new DeleteItemCommand({ TableName: this.tableName, Key: webhookRegistrationKey() }));
    } catch (error) {
      throw new StateUnavailableError(`could not remove the webhook registration: ${describeError(error)}`);
    }
  }
}
