import { randomUUID } from "node:crypto";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { inject } from "vitest";
import { createDynamoDbClient, type DynamoDbClientOptions } from "../../src/adapters/dynamo/client.ts";
import { ensureTable } from "../../src/adapters/dynamo/table.ts";
import type { TableSettings } from "../../src/config.ts";

/** A fresh, empty table in the run's DynamoDB Local, so test files never see each other's items. */
export async function createTestTable(
  prefix = "test",
  clientOptions: DynamoDbClientOptions = {},
): Promise<{ client: DynamoDBClient; tableName: string; settings: TableSettings }> {
  const tableName = `${prefix}-${randomUUID()}`;
  const settings: TableSettings = { tableName, region: "us-east-1", endpoint: inject("dynamodbEndpoint") };
  const client = createDynamoDbClient(settings, clientOptions);
  await ensureTable(client, tableName);
  return { client, tableName, settings };
}
