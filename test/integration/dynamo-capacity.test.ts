import {
  BatchGetItemCommand,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createDynamoDbClient } from "../../src/adapters/dynamo/client.ts";
import {
  conversationStateKey,
  deliveryKey,
  SUBSCRIPTIONS_PARTITION,
  subscriptionKey,
  threadKey,
} from "../../src/adapters/dynamo/table.ts";
import type { TableSettings } from "../../src/config.ts";
import { createTestTable } from "../support/dynamodb.ts";

type Report = { operation: string; read: number; write: number };

let plain: DynamoDBClient;
let metered: DynamoDBClient;
let settings: TableSettings;
let tableName: string;
let reports: Report[];

beforeAll(async () => {
  ({ client: plain, tableName, settings } = await createTestTable("capacity"));
  metered = createDynamoDbClient(settings, {
    onConsumedCapacity: (operation, units) => reports.push({ operation, ...units }),
  });
});
afterAll(() => {
  plain.destroy();
  metered.destroy();
});
beforeEach(() => {
  reports = [];
});

const put = (key: Record<string, { S: string }>, extra: Record<string, { S: string }> = {}) =>
  new PutItemCommand({ TableName: tableName, Item: { ...key, ...extra } });

describe("a DynamoDB client given a consumed-capacity hook", () => {
  it("reports a write's units once, labelled by the kind of item it writes", async () => {
    const output = await metered.send(put(conversationStateKey("capacity-write"), { lastMessageUid: { S: "m1" } }));

    expect(reports).toEqual([{ operation: "state.write", read: 0, write: 1 }]);
    expect(output.ConsumedCapacity?.CapacityUnits).toBe(1);
  });

  it("reports reads as read units: a strongly consistent get and a query", async () => {
    await plain.send(put(threadKey("capacity-read", "C0CAPACITY1"), { threadTs: { S: "1.2" } }));
    await plain.send(put(subscriptionKey("capacity-project", "C0CAPACITY1")));

    await metered.send(
      new GetItemCommand({
        TableName: tableName,
        Key: threadKey("capacity-read", "C0CAPACITY1"),
        ConsistentRead: true,
      }),
    );
    await metered.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: "pk = :pk",
        ExpressionAttributeValues: { ":pk": { S: SUBSCRIPTIONS_PARTITION } },
        ConsistentRead: true,
      }),
    );

    expect(reports).toEqual([
      { operation: "threads.read", read: 1, write: 0 },
      { operation: "subscriptions.read", read: 1, write: 0 },
    ]);
  });

  it("reports a batch read once, with the units of every item it read", async () => {
    const uids = ["capacity-batch-1", "capacity-batch-2", "capacity-batch-3"];
    for (const uid of uids) await plain.send(put(conversationStateKey(uid)));

    await metered.send(
      new BatchGetItemCommand({
        RequestItems: { [tableName]: { Keys: uids.map(conversationStateKey), ConsistentRead: true } },
      }),
    );

    expect(reports).toEqual([{ operation: "state.read", read: 3, write: 0 }]);
  });

  it("reports a write refused by its condition as the one write unit DynamoDB charges for it", async () => {
    const key = deliveryKey("capacity-event", "C0CAPACITY1");
    await plain.send(put(key, { status: { S: "posted" } }));

    const refused = metered.send(
      new PutItemCommand({
        TableName: tableName,
        Item: { ...key, status: { S: "pending" } },
        ConditionExpression: "attribute_not_exists(pk)",
      }),
    );

    await expect(refused).rejects.toBeInstanceOf(ConditionalCheckFailedException);
    expect(reports).toEqual([{ operation: "ledger.write", read: 0, write: 1 }]);
  });

  it("names updates and deletes after what they touch", async () => {
    const key = deliveryKey("capacity-update", "C0CAPACITY1");
    await plain.send(put(key, { status: { S: "pending" } }));

    await metered.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: key,
        UpdateExpression: "SET #status = :posted",
        ExpressionAttributeNames: { "#status": "status" },
        ExpressionAttributeValues: { ":posted": { S: "posted" } },
      }),
    );
    await metered.send(new DeleteItemCommand({ TableName: tableName, Key: key }));

    expect(reports).toEqual([
      { operation: "ledger.update", read: 0, write: 1 },
      { operation: "ledger.delete", read: 0, write: 1 },
    ]);
  });

  it("reports a transaction once, with the units of all its writes, and a refused one as one write unit", async () => {
    const transaction = () =>
      new TransactWriteItemsCommand({
        TransactItems: [
          {
            Put: {
              TableName: tableName,
              Item: deliveryKey("capacity-transaction", "C0CAPACITY1"),
              ConditionExpression: "attribute_not_exists(pk)",
            },
          },
          { Put: { TableName: tableName, Item: threadKey("capacity-transaction", "C0CAPACITY1") } },
        ],
      });

    await metered.send(transaction());
    const refused = metered.send(transaction());

    await expect(refused).rejects.toBeInstanceOf(TransactionCanceledException);
    expect(reports).toEqual([
      { operation: "ledger.transaction", read: 0, write: 4 },
      { operation: "ledger.transaction", read: 0, write: 1 },
    ]);
  });

  it("reports nothing for a request that fails for another reason, nor for a command that consumes no capacity", async () => {
    const missingTable = metered.send(
      new PutItemCommand({ TableName: "no-such-table", Item: conversationStateKey("capacity-missing") }),
    );

    await expect(missingTable).rejects.toThrow();
    await metered.send(new DescribeTableCommand({ TableName: tableName }));
    expect(reports).toEqual([]);
  });

  it("leaves the command's own input as it was", async () => {
    const command = put(conversationStateKey("capacity-input"));

    await metered.send(command);

    expect(command.input).not.toHaveProperty("ReturnConsumedCapacity");
  });
});

describe("a DynamoDB client without a hook", () => {
  it("asks for no consumed capacity: DynamoDB returns none", async () => {
    const written = await plain.send(put(conversationStateKey("capacity-plain")));
    const read = await plain.send(
      new GetItemCommand({ TableName: tableName, Key: conversationStateKey("capacity-plain"), ConsistentRead: true }),
    );

    expect(written.ConsumedCapacity).toBeUndefined();
    expect(read.ConsumedCapacity).toBeUndefined();
    expect(read.Item).toBeDefined();
  });
});
