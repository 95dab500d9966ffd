import { randomBytes } from "node:crypto";
import { type DynamoDBClient, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { ConsumedCapacityHook } from "../../src/adapters/dynamo/capacity.ts";
import { createDynamoDbClient } from "../../src/adapters/dynamo/client.ts";
import { DynamoLocalQueue } from "../../src/adapters/dynamo/local-queue.ts";
import { DynamoSeenSnapshotStore } from "../../src/adapters/dynamo/seen-snapshot.ts";
import { DynamoStateStore } from "../../src/adapters/dynamo/state-store.ts";
import { DynamoSubscriptionStore } from "../../src/adapters/dynamo/subscription-store.ts";
import { CountingMetrics, consoleLog } from "../../src/adapters/observability.ts";
import { RespondentApiClient } from "../../src/adapters/respondent-api.ts";
import type { TableSettings } from "../../src/config.ts";
import { subscriptionSchema } from "../../src/domain/subscriptions.ts";
import { type RespondentSimulator, startRespondentSimulator } from "../../src/local/simulator.ts";
import type { Log, StateStore } from "../../src/ports.ts";
import { type PollPorts, poll } from "../../src/usecases/poll.ts";
import type { SeenCache } from "../../src/ports.ts";
import { createTestTable } from "../support/dynamodb.ts";

const silent = consoleLog({ level: "silent" });

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
  let client: DynamoDBClient;
  /** The poller's client: it counts the units of the poller's own requests. */
  let pollerClient: DynamoDBClient;
  let tableName: string;
  let queue: DynamoLocalQueue;
  let readUnits: number;
  let statesRead: string[];

  const countUnits: ConsumedCapacityHook = (_operation, units) => {
    readUnits += units.read;
  };

  beforeAll(async () => {
    simulator = await startRespondentSimulator({ conversations: 1_000, projects: 2, pageSizeCap: 100 });
  });
  afterAll(async () => {
    await simulator.close();
  });

  beforeEach(async () => {
    let settings: TableSettings;
    ({ client, tableName, settings } = await createTestTable("seen-snapshot-poll"));
    pollerClient = createDynamoDbClient(settings, { onConsumedCapacity: countUnits });
    queue = new DynamoLocalQueue(client, tableName);
    await new DynamoSubscriptionStore(client, tableName, { log: silent }).add(
      subscriptionSchema.parse({ projectId: "*", channelId: "C0SNAPSHOT1", createdAt: new Date().toISOString() }),
    );
    readUnits = 0;
    statesRead = [];
  });

  /** A poller process of its own (its own cache), like one Lambda container. */
  const poller = (cache: SeenCache): PollPorts => {
    const store = new DynamoStateStore(pollerClient, tableName, { log: silent });
    const state: StateStore = {
      getStates: (uids) => {
        statesRead.push(...uids);
        return store.getStates(uids);
      },
      advanceState: (uid, expected, next) => store.advanceState(uid, expected, next),
    };
    return {
      api: new RespondentApiClient({
        baseUrl: simulator.url,
        pageSize: 100,
        maxConcurrency: 4,
        timeoutMs: 5_000,
        maxRetries: 0,
        credentials: async () => ({ apiKey: simulator.apiKey, apiSecret: simulator.apiSecret }),
        log: silent,
      }),
      state,
      queue,
      subscriptions: new DynamoSubscriptionStore(pollerClient, tableName, { log: silent }),
      clock: { now: () => new Date() },
      log: silent,
      metrics: new CountingMetrics(),
      cache,
    };
  };
  const snapshots = () => new DynamoSeenSnapshotStore(pollerClient, tableName);
  const queuedMessageUids = async () =>
    (await queue.receive(100, new Date())).map((message) => JSON.parse(message.body).message.uid as string);

  it("reads at most N/100 units when nothing changed, where a cold start without it reads N", async () => {
    const warm: SeenCache = new Map();
    await poll(poller(warm));
    await snapshots().save(warm);
    readUnits = 0;
    statesRead = [];

    const cold: SeenCache = new Map();
    await snapshots().loadInto(cold);
    const report = await poll(poller(cold));

    expect(report.conversationsScanned).toBe(1_000);
    expect(report.failures).toEqual([]);
    expect(statesRead).toEqual([]);
    expect(readUnits).toBeGreaterThan(0);
    expect(readUnits).toBeLessThanOrEqual(1_000 / 100);

    readUnits = 0;
    await poll(poller(new Map()));
    expect(readUnits).toBeGreaterThanOrEqual(1_000);
  });

  it("with a stale snapshot reads what moved since, misses no reply and repeats none", async () => {
    const warm: SeenCache = new Map();
    await poll(poller(warm));
    await snapshots().save(warm);
    const [handled, pending] = simulator.conversationUids;
    const handledReply = simulator.addMessage(handled ?? "", {
      from: "participant",
      body: "seen by the old container",
    });
    await poll(poller(warm));
    const pendingReply = simulator.addMessage(pending ?? "", { from: "participant", body: "arrived in between" });
    statesRead = [];

    const cold: SeenCache = new Map();
    await snapshots().loadInto(cold);
    const report = await poll(poller(cold));

    expect([...statesRead].sort()).toEqual([handled, pending].sort());
    expect(report.events.map((event) => event.message.uid)).toEqual([pendingReply]);
    expect(await queuedMessageUids()).toEqual([handledReply, pendingReply]);
  });

  it("with a partial snapshot reads only the conversations it lacks, and alerts nothing", async () => {
    const warm: SeenCache = new Map();
    await poll(poller(warm));
    const half = new Map([...warm].slice(0, 500));
    await snapshots().save(half);
    statesRead = [];

    const cold: SeenCache = new Map();
    await snapshots().loadInto(cold);
    const report = await poll(poller(cold));

    expect(statesRead).toHaveLength(500);
    expect(statesRead.some((uid) => half.has(uid))).toBe(false);
    expect(report.newReplies).toBe(0);
    expect(report.failures).toEqual([]);
    expect(cold.size).toBe(1_000);
  });
});
