import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { type HealthComponent, type HealthRecord, healthRecordSchema, initialHealth } from "../../domain/health.ts";
import { describeError, StateUnavailableError } from "../../errors.ts";
import {
  type Clock,
  type HealthStore,
  type Log,
  type ResumeOutcome,
  type StoredHealth,
  type SubscriptionPauses,
  systemClock,
} from "../../ports.ts";
import { fromAttributes, healthKey, numberAttribute, revisionedWrite, subscriptionKey, toAttributes } from "./table.ts";

export interface DynamoHealthStoreOptions {
  clock?: Clock;
  /** Told about a stored record that cannot be read (it is then rewritten from scratch). */
  log?: Log;
}

/**
 * One item per component (`HEALTH` / `POLLER`, `HEALTH` / `NOTIFIER`), written whole with a
 * `revision` that each write checks and increments: two pollers that see the same transition
 * cannot both store it, so only one of them announces it. Only GetItem and PutItem are used,
 * which the poller's role has already.
 */
export class DynamoHealthStore implements HealthStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly options: DynamoHealthStoreOptions = {},
  ) {}

  async read(component: HealthComponent): Promise<StoredHealth | undefined> {
    try {
      const result = await this.client.send(
        new GetItemCommand({
          TableName: this.tableName,
          Key: healthKey(component),
          ConsistentRead: true,
        }),
      );
      if (!result.Item) return undefined;
      const revision = numberAttribute(result.Item, "revision") ?? 0;
      const { pk: _pk, sk: _sk, revision: _revision, updatedAt: _updatedAt, ...fields } = fromAttributes(result.Item);
      const parsed = healthRecordSchema.safeParse(fields);
      if (!parsed.success) {
        this.options.log?.warn("ignoring an unreadable health record; it is written anew", { component });
        // Overwritten on the next write, still conditionally on the revision it carries.
        return { record: initialHealth((this.options.clock ?? systemClock).now()), revision };
      }
      return { record: parsed.data, revision };
    } catch (error) {
      throw new StateUnavailableError(`could not read the ${component} health record: ${describeError(error)}`);
    }
  }

  async write(component: HealthComponent, next: HealthRecord, expectedRevision: number | undefined): Promise<boolean> {
    const { revision, condition } = revisionedWrite(expectedRevision);
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            ...toAttributes(healthRecordSchema.parse(next)),
            ...healthKey(component),
            revision,
            updatedAt: { S: (this.options.clock ?? systemClock).now().toISOString() },
          },
          ...condition,
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        return false;
      }
      throw new StateUnavailableError(`could not store the ${component} health record: ${describeError(error)}`);
    }
  }
}

/**
 * Pausing and resuming stored subscriptions in place (UpdateItem), so a pause never overwrites
 * an edit made meanwhile. The pause is conditional on the subscription being active: of two
 * notifiers meeting the same dead channel, one pauses it and announces it.
 */
export class DynamoSubscriptionPauses implements SubscriptionPauses {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async pause(projectId: string, channelId: string, reason: string, at: Date): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: subscriptionKey(projectId, channelId),
          UpdateExpression: "SET paused = :true, disabledReason = :reason, disabledAt = :at, updatedAt = :at",
          ConditionExpression: "attribute_exists(pk) AND (attribute_not_exists(paused) OR paused = :false)",
          ExpressionAttributeValues: {
            ":true": { BOOL: true },
            ":false": { BOOL: false },
            ":reason": { S: reason },
            ":at": { S: at.toISOString() },
          },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        return false;
      }
      throw new StateUnavailableError(
        `could not pause the subscription ${projectId} -> ${channelId}: ${describeError(error)}`,
      );
    }
  }

  async resume(projectId: string, channelId: string, at: Date): Promise<ResumeOutcome> {
    try {
      const result = await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: subscriptionKey(projectId, channelId),
          UpdateExpression: "SET paused = :false, updatedAt = :at REMOVE disabledReason, disabledAt",
          ConditionExpression: "attribute_exists(pk)",
          ExpressionAttributeValues: { ":false": { BOOL: false }, ":at": { S: at.toISOString() } },
          ReturnValues: "UPDATED_OLD",
        }),
      );
      return result.Attributes?.paused?.BOOL === true ? "resumed" : "was_active";
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        return "not_found";
      }
      throw new StateUnavailableError(
        `could not resume the subscription ${projectId} -> ${channelId}: ${describeError(error)}`,
      );
    }
  }
}
