import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import type { ConsumedCapacityHook } from "../../src/adapters/dynamo/capacity.ts";
import { createDynamoDbClient } from "../../src/adapters/dynamo/client.ts";
import { DynamoStateStore } from "../../src/adapters/dynamo/state-store.ts";
import type { TableSettings } from "../../src/config.ts";
import type { ConversationState } from "../../src/domain/detection.ts";
import { StateConflictError, StateUnavailableError } from "../../src/errors.ts";
import { createTestTable } from "../support/dynamodb.ts";

let client: DynamoDBClient;
let tableName: string;
let settings: TableSettings;
beforeAll(async () => {
  ({ client, tableName, settings } = await createTestTable("state"));
});
afterAll(() => client.destroy());

/** Another client of the same table, telling `hook` what each of its requests consumed. */
function meteredClient(hook: ConsumedCapacityHook): DynamoDBClient {
  const metered = createDynamoDbClient(settings, { onConsumedCapacity: hook });
  onTestFinished(() => metered.destroy());
  return metered;
}

const state = (lastMessageUid: string, minute = 0): ConversationState => ({
  lastMessageUid,
  lastMessageCreatedAt: new Date(Date.UTC(2026, 0, 1, 0, minute)).toISOString(),
});

describe("DynamoStateStore", () => {
  it("stores a first state only while the conversation has none", async () => {
    const store = new DynamoStateStore(client, tableName);

    await store.advanceState("conv-first", undefined, state("m1"));
    const second = store.advanceState("conv-first", undefined, state("m2", 1));

    await expect(second).rejects.toBeInstanceOf(StateConflictError);
    expect((await store.getStates(["conv-first"])).get("conv-first")).toEqual(state("m1"));
  });

  it("advances the state from the expected one", async () => {
    const store = new DynamoStateStore(client, tableName);
    await store.advanceState("conv-advance", undefined, state("m1"));

    await store.advanceState("conv-advance", state("m1"), state("m2", 1));

    expect((await store.getStates(["conv-advance"])).get("conv-advance")).toEqual(state("m2", 1));
  });

  it("refuses to advance from a state that is no longer the stored one", async () => {
    const store = new DynamoStateStore(client, tableName);
    await store.advanceState("conv-stale", undefined, state("m1"));
    await store.advanceState("conv-stale", state("m1"), state("m2", 1));

    const stale = store.advanceState("conv-stale", state("m1"), state("m3", 2));

    await expect(stale).rejects.toBeInstanceOf(StateConflictError);
    expect((await store.getStates(["conv-stale"])).get("conv-stale")).toEqual(state("m2", 1));
  });

  it("lets exactly one of two writers with the same expected state win", async () => {
    const store = new DynamoStateStore(client, tableName);
    await store.advanceState("conv-race", undefined, state("m1"));

    const results = await Promise.allSettled([
      store.advanceState("conv-race", state("m1"), state("writer-a", 1)),
      store.advanceState("conv-race", state("m1"), state("writer-b", 1)),
    ]);

    const won = results.filter((result) => result.status === "fulfilled");
    const lost = results.filter((result) => result.status === "rejected");
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(lost[0]?.status === "rejected" && lost[0].reason).toBeInstanceOf(StateConflictError);
    const stored = (await store.getStates(["conv-race"])).get("conv-race");
    expect(["writer-a", "writer-b"]).toContain(stored?.lastMessageUid);
  });

  it("reads more than 100 states at once, leaving out conversations without one", async () => {
    const operations: Array<{ operation: string; read: number }> = [];
    const store = new DynamoStateStore(
      meteredClient((operation, units) => operations.push({ operation, read: units.read })),
      tableName,
    );
    const stored = Array.from({ length: 230 }, (_, index) => `bulk-${index}`);
    for (let start = 0; start < stored.length; start += 25) {
      await Promise.all(
        stored.slice(start, start + 25).map((uid) => store.advanceState(uid, undefined, state(`${uid}-m`))),
      );
    }
    operations.length = 0;
    const asked = [...stored, "bulk-missing-1", "bulk-missing-2", "bulk-0"];

    const states = await store.getStates(asked);

    expect(states.size).toBe(230);
    expect(states.get("bulk-229")).toEqual(state("bulk-229-m"));
    expect(states.has("bulk-missing-1")).toBe(false);
    const batchReads = operations.filter((entry) => entry.operation === "state.read");
    expect(batchReads).toHaveLength(3);
    expect(batchReads.every((entry) => entry.read > 0)).toBe(true);
  });

  it("returns an empty map without asking DynamoDB when given no conversations", async () => {
    const operations: string[] = [];
    const store = new DynamoStateStore(
      meteredClient((operation) => operations.push(operation)),
      tableName,
    );

    expect((await store.getStates([])).size).toBe(0);
    expect(operations).toEqual([]);
  });

  it("reports a missing table as unavailable, with a short message and no SDK object", async () => {
    const store = new DynamoStateStore(client, "no-such-table");

    const error = await store.advanceState("conv", undefined, state("m1")).then(
      () => undefined,
      (caught: unknown) => caught,
    );

    expect(error).toBeInstanceOf(StateUnavailableError);
    expect((error as StateUnavailableError).message).toMatch(
      /^could not store the state of conversation conv: ResourceNotFoundException: [^\n]+$/,
    );
    expect((error as StateUnavailableError).cause).toBeUndefined();
  });
});
