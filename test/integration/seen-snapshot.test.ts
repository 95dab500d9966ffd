import { randomBytes } from "node:crypto";
import { type DynamoDBClient, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DynamoSeenSnapshotStore } from "../../src/adapters/dynamo/seen-snapshot.ts";
import { composePoller, subscriptionStore } from "../../src/app/compose.ts";
import { subscriptionSchema } from "../../src/domain/subscriptions.ts";
import { type RespondentSimulator, startRespondentSimulator } from "../../src/local/simulator.ts";
import type { Log, SeenCache } from "../../src/ports.ts";
import { poll } from "../../src/usecases/poll.ts";
import { pollCycle } from "../../src/usecases/poll-cycle.ts";
import { CapacityMeter, createTestTable } from "../support/dynamodb.ts";
import { createTestPlatform, type TestPlatform, takeQueuedEvents } from "../support/platform.ts";

function recordingLog(): { log: Log; warnings: string[] } {
  const warnings: string[] = [];
  const ignore = () => undefined;
  return {
    warnings,
    log: {
      debug: ignore,
      info: ignore,
      warn: (message, attributes) => warnings.push(`${message} ${JSON.stringify(attributes ?? {})}`),
      error: ignore,
    },
  };
}

/** Uids shaped like the API's (24 hex digits), distinct for each index. */
function cacheOf(size: number, offset = 0): SeenCache {
  const cache: SeenCache = new Map();
  for (let index = offset; index < offset + size; index += 1) {
    cache.set(index.toString(16).padStart(24, "0"), `m${index.toString(16).padStart(23, "a")}`);
  }
  return cache;
}

describe("DynamoSeenSnapshotStore on its own", () => {
  let client: DynamoDBClient;
  let tableName: string;

  beforeEach(async () => {
    ({ client, tableName } = await createTestTable("seen-snapshot"));
  });

  it("saves 50,000 entries across several parts and loads every one of them back", async () => {
    const cache = cacheOf(50_000);

    const saved = await new DynamoSeenSnapshotStore(client, tableName).save(cache);
    const loaded: SeenCache = new Map();
    const load = await new DynamoSeenSnapshotStore(client, tableName).loadInto(loaded);

    expect(saved.parts).toBeGreaterThanOrEqual(10);
    expect(load).toMatchObject({ entries: 50_000, parts: saved.parts, unreadableParts: 0 });
    expect(loaded).toEqual(cache);
  });

  it("ignores a corrupt part, says so in a warning, and loads the other parts", async () => {
    const cache = cacheOf(12_000);
    await new DynamoSeenSnapshotStore(client, tableName).save(cache);
    await client.send(
      new PutItemCommand({
        TableName: tableName,
        Item: { pk: { S: "SEENSNAP" }, sk: { S: "PART#0001" }, format: { N: "1" }, data: { B: randomBytes(2_000) } },
      }),
    );
    const { log, warnings } = recordingLog();

    const loaded: SeenCache = new Map();
    const load = await new DynamoSeenSnapshotStore(client, tableName, { log }).loadInto(loaded);

    expect(load).toMatchObject({ entries: 7_000, parts: 2, unreadableParts: 1 });
    expect([...loaded].every(([uid, message]) => cache.get(uid) === message)).toBe(true);
    expect(warnings).toEqual([expect.stringContaining('"sk":"PART#0001"')]);
  });

  it("empties the parts a smaller save no longer needs", async () => {
    const store = new DynamoSeenSnapshotStore(client, tableName);
    await store.save(cacheOf(12_000));

    await store.save(cacheOf(3_000, 100_000));
    const loaded: SeenCache = new Map();
    const load = await new DynamoSeenSnapshotStore(client, tableName).loadInto(loaded);

    expect(load).toMatchObject({ entries: 3_000, parts: 1, unreadableParts: 0 });
    expect(loaded).toEqual(cacheOf(3_000, 100_000));
  });

  it("keeps the entries the cache already has: they are at least as recent as the snapshot's", async () => {
    await new DynamoSeenSnapshotStore(client, tableName).save(new Map([["conversation-1", "message-1"]]));
    const cache: SeenCache = new Map([["conversation-1", "message-2"]]);

    await new DynamoSeenSnapshotStore(client, tableName).loadInto(cache);

    expect(cache.get("conversation-1")).toBe("message-2");
  });

  it("stores uids of any characters, and leaves out only absurdly long ones", async () => {
    const odd = "conv\t\n\"[]',\u00e9\u{1F600}";
    const cache: SeenCache = new Map([
      [odd, "message\n1"],
      ["x".repeat(5_000), "message-2"],
    ]);

    const saved = await new DynamoSeenSnapshotStore(client, tableName).save(cache);
    const loaded: SeenCache = new Map();
    await new DynamoSeenSnapshotStore(client, tableName).loadInto(loaded);

    expect(saved.entries).toBe(1);
    expect(loaded).toEqual(new Map([[odd, "message\n1"]]));
  });
});

describe("a cold poll that starts from the snapshot", () => {
  let simulator: RespondentSimulator;
  let platform: TestPlatform;
  /** The capacity of the pollers' own requests (the platform's client), not the test's. */
  let capacity: CapacityMeter;
  let statesRead: string[];

  beforeAll(async () => {
    simulator = await startRespondentSimulator({ conversations: 1_000, projects: 2, pageSizeCap: 100 });
  });
  afterAll(async () => {
    await simulator.close();
  });

  beforeEach(async () => {
    capacity = new CapacityMeter();
    statesRead = [];
    platform = await createTestPlatform({
      prefix: "seen-snapshot-poll",
      respondent: {
        url: simulator.url,
        apiKey: simulator.apiKey,
        apiSecret: simulator.apiSecret,
        settings: { maxConcurrency: 4 },
      },
      wrapDynamo: capacity.wrapDynamo,
      decorate: {
        state: (store) => ({
          getStates: (uids) => {
            statesRead.push(...uids);
            return store.getStates(uids);
          },
          getStored: (uids) => {
            statesRead.push(...uids);
            return store.getStored(uids);
          },
          advanceState: (uid, expected, next, marks) => store.advanceState(uid, expected, next, marks),
          addFeedMarks: (uid, marks) => store.addFeedMarks(uid, marks),
        }),
      },
    });
    await subscriptionStore(platform).add(
      subscriptionSchema.parse({ projectId: "*", channelId: "C0SNAPSHOT1", createdAt: new Date().toISOString() }),
    );
    capacity.reset();
    return async () => {
      capacity.close();
      await platform.close();
    };
  });

  /** A poller process of its own (its own seen-cache), like one Lambda container. */
  const poller = () => composePoller(platform);
  /** Writes `cache` as the stored snapshot, as a poller that had exactly that cache would have. */
  const saveSnapshot = (cache: SeenCache) =>
    new DynamoSeenSnapshotStore(platform.rawDynamo, platform.tableName).save(cache);

  it("reads at most N/100 units when nothing changed, where a cold start without it reads N", async () => {
    // The first container polls and saves its snapshot (a first save is due at once).
    await pollCycle(poller());
    capacity.reset();
    statesRead = [];

    const cold = poller();
    const { report } = await pollCycle(cold);

    expect(report?.conversationsScanned).toBe(1_000);
    expect(report?.failures).toEqual([]);
    expect(statesRead).toEqual([]);
    expect(capacity.readUnits).toBeGreaterThan(0);
    expect(capacity.readUnits).toBeLessThanOrEqual(1_000 / 100);
    expect(capacity.count("snapshot.read")).toBeGreaterThan(0);
    // Nothing changed, so nothing is saved.
    expect(capacity.writeUnits).toBe(0);

    capacity.reset();
    await poll(poller().poll);
    expect(capacity.readUnits).toBeGreaterThanOrEqual(1_000);
  });

  it("with a stale snapshot reads what moved since, misses no reply and repeats none", async () => {
    const old = poller();
    await pollCycle(old);
    const [handled, pending] = simulator.conversationUids;
    const handledReply = simulator.addMessage(handled ?? "", {
      from: "participant",
      body: "seen by the old container",
    });
    // The old container handles it; its next save is not due for a while, so the snapshot stays stale.
    expect((await pollCycle(old)).report?.eventsQueued).toBe(1);
    const pendingReply = simulator.addMessage(pending ?? "", { from: "participant", body: "arrived in between" });
    statesRead = [];

    const { report } = await pollCycle(poller());

    expect([...statesRead].sort()).toEqual([handled, pending].sort());
    expect(report?.events.map((event) => event.message.uid)).toEqual([pendingReply]);
    const queued = (await takeQueuedEvents(platform)).map((event) => event.message.uid);
    expect(queued.sort()).toEqual([handledReply, pendingReply].sort());
  });

  it("with a partial snapshot reads only the conversations it lacks, and alerts nothing", async () => {
    const warm = poller();
    await pollCycle(warm);
    const half = new Map([...(warm.poll.cache ?? [])].slice(0, 500));
    await saveSnapshot(half);
    statesRead = [];

    const cold = poller();
    const { report } = await pollCycle(cold);

    expect(statesRead).toHaveLength(500);
    expect(statesRead.some((uid) => half.has(uid))).toBe(false);
    expect(report?.newReplies).toBe(0);
    expect(report?.failures).toEqual([]);
    expect(cold.poll.cache?.size).toBe(1_000);
  });
});
