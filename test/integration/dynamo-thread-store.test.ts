import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DynamoThreadStore } from "../../src/adapters/dynamo/thread-store.ts";
import { createTestTable } from "../support/dynamodb.ts";

let client: DynamoDBClient;
let threads: DynamoThreadStore;
beforeAll(async () => {
  const table = await createTestTable("threads");
  client = table.client;
  threads = new DynamoThreadStore(client, table.tableName);
});
afterAll(() => client.destroy());

describe("DynamoThreadStore", () => {
  it("has no thread for a conversation and channel never alerted", async () => {
    expect(await threads.getThread("conv-none", "C0000000001")).toBeUndefined();
  });

  it("saves the first thread and returns it", async () => {
    expect(await threads.saveThread("conv-first", "C0000000001", "1700000000.000100")).toBe("1700000000.000100");
    expect(await threads.getThread("conv-first", "C0000000001")).toBe("1700000000.000100");
  });

  it("keeps the first thread when a later one is saved, returning the stored one", async () => {
    await threads.saveThread("conv-keep", "C0000000001", "1700000000.000100");

    expect(await threads.saveThread("conv-keep", "C0000000001", "1700000000.000999")).toBe("1700000000.000100");
    expect(await threads.getThread("conv-keep", "C0000000001")).toBe("1700000000.000100");
  });

  it("gives every racing saver the same thread", async () => {
    const saved = await Promise.all(
      ["1700000000.000001", "1700000000.000002", "1700000000.000003"].map((ts) =>
        threads.saveThread("conv-race", "C0000000001", ts),
      ),
    );

    expect(new Set(saved).size).toBe(1);
    expect(await threads.getThread("conv-race", "C0000000001")).toBe(saved[0]);
  });

  it("keeps a thread per channel of the same conversation", async () => {
    await threads.saveThread("conv-channels", "C0000000001", "1700000000.000001");
    await threads.saveThread("conv-channels", "C0000000002", "1700000000.000002");

    expect(await threads.getThread("conv-channels", "C0000000002")).toBe("1700000000.000002");
  });
});
