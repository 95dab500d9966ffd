import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from "@aws-sdk/client-dynamodb";
import { describeError, StateUnavailableError } from "../../errors.ts";
import { type Clock, systemClock, type ThreadStore } from "../../ports.ts";
import { stringAttribute, threadKey } from "./table.ts";

export interface DynamoThreadStoreOptions {
  clock?: Clock;
}

/**
 * The Slack thread of each (conversation, channel). The first saved thread wins, so two
 * notifiers racing on a conversation's first alert end up replying in the same thread.
 */
export class DynamoThreadStore implements ThreadStore {
  private readonly clock: Clock;

  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    options: DynamoThreadStoreOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
  }

  async getThread(conversationUid: string, channelId: string): Promise<string | undefined> {
    try {
      const result = await this.client.send(
        new GetItemCommand({
          TableName: this.tableName,
          Key: threadKey(conversationUid, channelId),
          ConsistentRead: true,
          ProjectionExpression: "threadTs",
        }),
      );
      return stringAttribute(result.Item, "threadTs");
    } catch (error) {
      throw new StateUnavailableError(
        `could not read the Slack thread of conversation ${conversationUid} in ${channelId}: ${describeError(error)}`,
      );
    }
  }

  async saveThread(conversationUid: string, channelId: string, threadTs: string): Promise<string> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            ...threadKey(conversationUid, channelId),
            threadTs: { S: threadTs },
            createdAt: { S: this.clock.now().toISOString() },
          },
          ConditionExpression: "attribute_not_exists(pk)",
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
      );
      return threadTs;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        const stored = stringAttribute(error.Item, "threadTs") ?? (await this.getThread(conversationUid, channelId));
        if (stored) return stored;
      }
      throw new StateUnavailableError(
        `could not save the Slack thread of conversation ${conversationUid} in ${channelId}: ${describeError(error)}`,
      );
    }
  }
}
