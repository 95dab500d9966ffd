import { randomUUID } from "node:crypto";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { inject } from "vitest";
import type { ConsumedCapacityHook } from "../../src/adapters/dynamo/capacity.ts";
import { createDynamoDbClient, type DynamoDbClientOptions } from "../../src/adapters/dynamo/client.ts";
import { ensureTable, SUBSCRIPTIONS_PARTITION } from "../../src/adapters/dynamo/table.ts";
import type { TableSettings } from "../../src/config.ts";
import type { SentCommand } from "./clients.ts";

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

export interface CapacityRecord {
  operation: string;
  read: number;
  write: number;
}

/**
 * What a platform's DynamoDB requests consumed, through the same capacity middleware the bench
 * uses (createDynamoDbClient's onConsumedCapacity). Give `wrapDynamo` to createTestPlatform: the
 * platform then gets a metered client of its own, while the test's own arranging and checking
 * through `rawDynamo` is not counted.
 */
export class CapacityMeter {
  readonly records: CapacityRecord[] = [];
  private readonly clients: DynamoDBClient[] = [];

  readonly hook: ConsumedCapacityHook = (operation, units) => {
    this.records.push({ operation, ...units });
  };

  readonly wrapDynamo = (_raw: DynamoDBClient): DynamoDBClient => {
    const client = createDynamoDbClient(
      { tableName: "", region: "us-east-1", endpoint: inject("dynamodbEndpoint") },
      { onConsumedCapacity: this.hook },
    );
    this.clients.push(client);
    return client;
  };

  /** How many requests of this kind (`state.read`, `state.write`, `subscriptions.read`, ...) were made. */
  count(operation: string): number {
    return this.records.filter((record) => record.operation === operation).length;
  }

  /** Requests whose label starts with `prefix` (`state.`: every state request). */
  matching(prefix: string): CapacityRecord[] {
    return this.records.filter((record) => record.operation.startsWith(prefix));
  }

  get readUnits(): number {
    return this.records.reduce((sum, record) => sum + record.read, 0);
  }

  get writeUnits(): number {
    return this.records.reduce((sum, record) => sum + record.write, 0);
  }

  reset(): void {
    this.records.length = 0;
  }

  close(): void {
    for (const client of this.clients.splice(0)) client.destroy();
  }
}

/** A Query of the subscriptions partition (what every SubscriptionStore.list() sends). */
export function isSubscriptionsQuery(command: SentCommand): boolean {
  const values = command.input.ExpressionAttributeValues as Record<string, { S?: string }> | undefined;
  return command.name === "QueryCommand" && values?.[":pk"]?.S === SUBSCRIPTIONS_PARTITION;
}
