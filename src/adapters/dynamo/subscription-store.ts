import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  PutItemCommand,
  QueryCommand,
  type QueryCommandOutput,
} from "@aws-sdk/client-dynamodb";
import { type Subscription, subscriptionSchema } from "../../domain/subscriptions.ts";
import { describeError, StateUnavailableError, UsageError } from "../../errors.ts";
import type { Log, SubscriptionStore } from "../../ports.ts";
import {
  fromAttributes,
  type Item,
  SUBSCRIPTIONS_PARTITION,
  stringAttribute,
  subscriptionKey,
  toAttributes,
} from "./table.ts";

export interface DynamoSubscriptionStoreOptions {
  /** Told about stored subscriptions that are no longer valid (they are skipped). */
  log: Log;
}

/**
 * Subscriptions live in one partition (`SUBS`), one item each, keyed by project and channel.
 * Each item is validated on the way out: a bad item (edited by hand, written by an older
 * version) is logged and skipped so that it cannot stop every other alert.
 */
export class DynamoSubscriptionStore implements SubscriptionStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly options: DynamoSubscriptionStoreOptions,
  ) {}

  async list(): Promise<Subscription[]> {
    const subscriptions: Subscription[] = [];
    let startKey: Item | undefined;
    do {
      let page: QueryCommandOutput;
      try {
        page = await this.queryPage(startKey);
      } catch (error) {
        throw new StateUnavailableError(`could not read subscriptions: ${describeError(error)}`);
      }
      for (const item of page.Items ?? []) {
        const subscription = this.parse(item);
        if (subscription) subscriptions.push(subscription);
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return subscriptions;
  }

  private queryPage(startKey: Item | undefined): Promise<QueryCommandOutput> {
    return this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: "pk = :pk",
        ExpressionAttributeValues: { ":pk": { S: SUBSCRIPTIONS_PARTITION } },
        ConsistentRead: true,
        ExclusiveStartKey: startKey,
      }),
    );
  }

  private parse(item: Item): Subscription | undefined {
    const { pk: _pk, sk: _sk, ...fields } = fromAttributes(item);
    const sk = stringAttribute(item, "sk");
    const parsed = subscriptionSchema.safeParse(fields);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      this.options.log.warn("skipping an invalid stored subscription", {
        sk,
        problem: issue ? `${issue.path.join(".") || "(item)"}: ${issue.message}` : "invalid",
      });
      return undefined;
    }
    if (sk !== subscriptionKey(parsed.data.projectId, parsed.data.channelId).sk.S) {
      this.options.log.warn("skipping a stored subscription whose key does not match its project and channel", { sk });
      return undefined;
    }
    return parsed.data;
  }

  async add(subscription: Subscription): Promise<void> {
    try {
      await this.write(subscription, true);
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        throw new UsageError(
          `a subscription for project ${subscription.projectId} -> channel ${subscription.channelId} exists already: remove it first, or use \`subscriptions apply\``,
        );
      }
      throw new StateUnavailableError(`could not add the subscription: ${describeError(error)}`);
    }
  }

  async put(subscription: Subscription): Promise<void> {
    try {
      await this.write(subscription, false);
    } catch (error) {
      throw new StateUnavailableError(`could not store the subscription: ${describeError(error)}`);
    }
  }

  private async write(subscription: Subscription, onlyIfNew: boolean): Promise<void> {
    await this.client.send(
      new PutItemCommand({
        TableName: this.tableName,
        Item: {
          ...toAttributes(subscription),
          ...subscriptionKey(subscription.projectId, subscription.channelId),
        },
        ...(onlyIfNew ? { ConditionExpression: "attribute_not_exists(pk)" } : {}),
      }),
    );
  }

  async remove(projectId: string, channelId: string): Promise<boolean> {
    try {
      const result = await this.client.send(
        new DeleteItemCommand({
          TableName: this.tableName,
          Key: subscriptionKey(projectId, channelId),
          ReturnValues: "ALL_OLD",
        }),
      );
      return result.Attributes !== undefined;
    } catch (error) {
      throw new StateUnavailableError(`could not remove the subscription: ${describeError(error)}`);
    }
  }
}
