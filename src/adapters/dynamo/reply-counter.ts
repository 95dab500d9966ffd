import { type DynamoDBClient, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import { describeError, StateUnavailableError } from "../../errors.ts";
import type { ReplyCounter } from "../../ports.ts";
import { replyCountKey, TTL_ATTRIBUTE } from "./table.ts";

/** A day's count is kept a little longer than the day in any zone, then DynamoDB deletes it. */
const KEEP_SECONDS = 3 * 86_400;

/**
 * "3rd reply today": the event ids of a conversation's replies alerted in a channel on one local
 * day, as a string set. Adding an id is idempotent, so a retried or redelivered alert is counted
 * once and shows the same number.
 */
export class DynamoReplyCounter implements ReplyCounter {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async record(conversationUid: string, channelId: string, day: string, eventId: string): Promise<number> {
    try {
      const result = await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: replyCountKey(conversationUid, channelId, day),
          UpdateExpression: "ADD eventIds :event SET #ttl = :expires",
          ExpressionAttributeNames: { "#ttl": TTL_ATTRIBUTE },
          ExpressionAttributeValues: {
            ":event": { SS: [eventId] },
            ":expires": { N: String(Math.floor(this.now().getTime() / 1000) + KEEP_SECONDS) },
          },
          ReturnValues: "UPDATED_NEW",
        }),
      );
      return result.Attributes?.eventIds?.SS?.length ?? 1;
    } catch (error) {
      throw new StateUnavailableError(
        `could not count the replies of conversation ${conversationUid} in ${channelId}: ${describeError(error)}`,
        { cause: error },
      );
    }
  }
}
