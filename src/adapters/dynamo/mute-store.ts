import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
} from "@aws-sdk/client-dynamodb";
import { describeError, StateUnavailableError } from "../../errors.ts";
import type { ConversationMute, MuteStore } from "../../ports.ts";
import { type Item, MUTES_PARTITION, muteKey, stringAttribute } from "./table.ts";

/**
 * Muted (conversation, channel) pairs, one item each in the `MUTES` partition: a mute is read
 * with one strongly consistent GetItem per alert, and `conversations muted` lists them all.
 */
export class DynamoMuteStore implements MuteStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async isMuted(conversationUid: string, channelId: string): Promise<boolean> {
    try {
      const result = await this.client.send(
        new GetItemCommand({
          TableName: this.tableName,
          Key: muteKey(conversationUid, channelId),
          ConsistentRead: true,
          ProjectionExpression: "pk",
        }),
      );
      return result.Item !== undefined;
    } catch (error) {
      throw new StateUnavailableError(
        `could not read whether conversation ${conversationUid} is muted in ${channelId}: ${describeError(error)}`,
        { cause: error },
      );
    }
  }

  async mute(mute: ConversationMute): Promise<boolean> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            ...muteKey(mute.conversationUid, mute.channelId),
            conversationUid: { S: mute.conversationUid },
            channelId: { S: mute.channelId },
            mutedAt: { S: mute.mutedAt },
            mutedBy: { S: mute.mutedBy },
          },
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw new StateUnavailableError(`could not mute conversation ${mute.conversationUid}: ${describeError(error)}`, {
        cause: error,
      });
    }
  }

  async unmute(conversationUid: string, channelId: string): Promise<boolean> {
    try {
      const result = await this.client.send(
        new DeleteItemCommand({
          TableName: this.tableName,
          Key: muteKey(conversationUid, channelId),
          ReturnValues: "ALL_OLD",
        }),
      );
      return result.Attributes !== undefined;
    } catch (error) {
      throw new StateUnavailableError(`could not unmute conversation ${conversationUid}: ${describeError(error)}`, {
        cause: error,
      });
    }
  }

  async list(): Promise<ConversationMute[]> {
    const mutes: ConversationMute[] = [];
    let startKey: Item | undefined;
    try {
      do {
        const page = await this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: "pk = :pk",
            ExpressionAttributeValues: { ":pk": { S: MUTES_PARTITION } },
            ConsistentRead: true,
            ExclusiveStartKey: startKey,
          }),
        );
        for (const item of page.Items ?? []) {
          const conversationUid = stringAttribute(item, "conversationUid");
          const channelId = stringAttribute(item, "channelId");
          if (!conversationUid || !channelId) continue;
          mutes.push({
            conversationUid,
            channelId,
            mutedAt: stringAttribute(item, "mutedAt") ?? "",
            mutedBy: stringAttribute(item, "mutedBy") ?? "",
          });
        }
        startKey = page.LastEvaluatedKey;
      } while (startKey);
    } catch (error) {
      throw new StateUnavailableError(`could not read the muted conversations: ${describeError(error)}`, {
        cause: error,
      });
    }
    return mutes;
  }
}
