import { randomUUID } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateTableCommand, DescribeTableCommand, DescribeTimeToLiveCommand } from "@aws-sdk/client-dynamodb";
import { afterAll, describe, expect, inject, it } from "vitest";
import { createDynamoDbClient } from "../../src/adapters/dynamo/client.ts";
import { describeTableProblem, ensureTable, TABLE_KEY, TTL_ATTRIBUTE } from "../../src/adapters/dynamo/table.ts";
import { ConfigError, StateUnavailableError } from "../../src/errors.ts";
import { DYNAMODB_LOCAL_PACKAGE, ensureDynamoDbLocal } from "../../src/local/dynamodb-local.ts";

const client = createDynamoDbClient({ tableName: "unused", region: "us-east-1", endpoint: inject("dynamodbEndpoint") });
afterAll(() => client.destroy());

const uniqueName = (prefix: string) => `${prefix}-${randomUUID()}`;

describe("ensureTable", () => {
  it("creates a missing table with pk/sk string keys, on demand, with TTL on expiresAt", async () => {
    const tableName = uniqueName("ensure");

    await ensureTable(client, tableName);

    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    expect(Table?.TableStatus).toBe("ACTIVE");
    expect(Table?.KeySchema).toEqual([
      { AttributeName: TABLE_KEY.partitionKey, KeyType: "HASH" },
      { AttributeName: TABLE_KEY.sortKey, KeyType: "RANGE" },
    ]);
    expect(Table?.BillingModeSummary?.BillingMode).toBe("PAY_PER_REQUEST");
    const ttl = await client.send(new DescribeTimeToLiveCommand({ TableName: tableName }));
    expect(ttl.TimeToLiveDescription).toMatchObject({ AttributeName: TTL_ATTRIBUTE, TimeToLiveStatus: "ENABLED" });
  });

  it("can run again, and from several callers at once, on the same table", async () => {
    const tableName = uniqueName("ensure-again");

    await Promise.all([ensureTable(client, tableName), ensureTable(client, tableName)]);
    await ensureTable(client, tableName);

    expect(await describeTableProblem(client, tableName)).toBeUndefined();
  });

  it("refuses a table of the same name with another key schema, naming the expected one", async () => {
    const tableName = uniqueName("wrong-schema");
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: "PAY_PER_REQUEST",
        AttributeDefinitions: [{ AttributeName: "id", AttributeType: "S" }],
        KeySchema: [{ AttributeName: "id", KeyType: "HASH" }],
      }),
    );

    const failure = ensureTable(client, tableName);

    await expect(failure).rejects.toBeInstanceOf(ConfigError);
    await expect(failure).rejects.toThrow(/HASH id \(S\).*expected HASH pk \(S\), RANGE sk \(S\)/);
  });

  it("reports an unreachable DynamoDB as unavailable, in one short line", async () => {
    const unreachable = createDynamoDbClient({ tableName: "x", region: "us-east-1", endpoint: "http://127.0.0.1:9" });

    const failure = ensureTable(unreachable, "any-table");

    await expect(failure).rejects.toBeInstanceOf(StateUnavailableError);
    await expect(failure).rejects.toThrow(/^could not prepare DynamoDB table "any-table": [^\n]+$/);
    unreachable.destroy();
  });
});

describe("describeTableProblem", () => {
  it("says nothing about a table made by ensureTable", async () => {
    const tableName = uniqueName("problem-free");
    await ensureTable(client, tableName);

    expect(await describeTableProblem(client, tableName)).toBeUndefined();
  });

  it("says when the table does not exist", async () => {
    const tableName = uniqueName("missing");

    expect(await describeTableProblem(client, tableName)).toBe(`DynamoDB table "${tableName}" does not exist`);
  });

  it("describes a wrong key schema next to the expected one", async () => {
    const tableName = uniqueName("numeric-keys");
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: "PAY_PER_REQUEST",
        AttributeDefinitions: [
          { AttributeName: "pk", AttributeType: "N" },
          { AttributeName: "sk", AttributeType: "S" },
        ],
        KeySchema: [
          { AttributeName: "pk", KeyType: "HASH" },
          { AttributeName: "sk", KeyType: "RANGE" },
        ],
      }),
    );

    expect(await describeTableProblem(client, tableName)).toBe(
      `DynamoDB table "${tableName}" has the key schema HASH pk (N), RANGE sk (S); expected HASH pk (S), RANGE sk (S)`,
    );
  });
});

describe("ensureDynamoDbLocal", () => {
  it("uses the copy already in the cache without downloading anything", async () => {
    const cacheDir = await mkdtemp(join(tmpdir(), "dynamodb-local-cache-"));
    const emulatorDir = join(cacheDir, DYNAMODB_LOCAL_PACKAGE.version);
    await mkdir(join(emulatorDir, "DynamoDBLocal_lib"), { recursive: true });
    await writeFile(join(emulatorDir, "DynamoDBLocal.jar"), "");
    const logged: string[] = [];

    const found = await ensureDynamoDbLocal({ cacheDir, log: (line) => logged.push(line) });

    expect(found).toBe(emulatorDir);
    expect(logged).toEqual([]);
    await rm(cacheDir, { recursive: true, force: true });
  });

  it("says how to get Java when there is no java command", async () => {
    const emptyBin = await mkdtemp(join(tmpdir(), "no-java-"));
    const originalPath = process.env.PATH;
    process.env.PATH = emptyBin;
    try {
      await expect(ensureDynamoDbLocal({ cacheDir: emptyBin })).rejects.toThrow(
        "DynamoDB Local needs Java 17+: apt-get install openjdk-17-jre-headless, or set DYNAMODB_ENDPOINT",
      );
    } finally {
      process.env.PATH = originalPath;
      await rm(emptyBin, { recursive: true, force: true });
    }
  });
});
