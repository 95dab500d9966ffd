import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createDynamoDbClient } from "../../src/adapters/dynamo/client.ts";
import { DynamoHealthStore } from "../../src/adapters/dynamo/health-store.ts";
import { DynamoLocalQueue } from "../../src/adapters/dynamo/local-queue.ts";
import { DynamoStateStore } from "../../src/adapters/dynamo/state-store.ts";
import { DynamoSubscriptionStore } from "../../src/adapters/dynamo/subscription-store.ts";
import { CountingMetrics, consoleLog } from "../../src/adapters/observability.ts";
import { slackOpsChannel } from "../../src/adapters/ops-channel.ts";
import { RespondentApiClient } from "../../src/adapters/respondent-api.ts";
import { createSlackPoster } from "../../src/adapters/slack.ts";
import type { TableSettings } from "../../src/config.ts";
import { subscriptionSchema } from "../../src/domain/subscriptions.ts";
import { StateUnavailableError } from "../../src/errors.ts";
import { type FakeSlack, startFakeSlack } from "../../src/local/fake-slack.ts";
import { type RespondentSimulator, startRespondentSimulator } from "../../src/local/simulator.ts";
import type { Clock, HealthStore } from "../../src/ports.ts";
import { errorObservation, HealthMonitor, POLLER_HEALTH_POLICY, pollObservation } from "../../src/usecases/health.ts";
import { type PollPorts, type PollReport, poll } from "../../src/usecases/poll.ts";
import type { SeenCache } from "../../src/ports.ts";
import { createTestTable } from "../support/dynamodb.ts";

const TOKEN = "xoxb-health-poller-test";
const OPS = "C0OPSHEALTH";
const log = consoleLog({ level: "silent" });
const CREDENTIALS_REJECTED = { status: 401 } as const;

/** One poller process: its own clients, cache and health monitor, sharing the table and the clock. */
function startPoller(
  table: TableSettings,
  simulator: RespondentSimulator,
  slack: FakeSlack,
  clock: Clock,
  subscriptions?: PollPorts["subscriptions"],
) {
  const client = createDynamoDbClient(table);
  const ports = {
    api: new RespondentApiClient({
      baseUrl: simulator.url,
      pageSize: 100,
      maxConcurrency: 2,
      timeoutMs: 2_000,
      maxRetries: 0,
      credentials: async () => ({ apiKey: simulator.apiKey, apiSecret: simulator.apiSecret }),
      log,
    }),
    state: new DynamoStateStore(client, table.tableName),
    queue: new DynamoLocalQueue(client, table.tableName),
    subscriptions: subscriptions ?? new DynamoSubscriptionStore(client, table.tableName, { log }),
    clock,
    log,
    metrics: new CountingMetrics(),
    cache: new Map() as SeenCache,
  };
  const health = new HealthMonitor({
    component: "poller",
    policy: POLLER_HEALTH_POLICY,
    store: new DynamoHealthStore(client, table.tableName, { clock, log }),
    ops: slackOpsChannel(OPS, createSlackPoster({ token: TOKEN, apiUrl: `${slack.url}/api/`, timeoutMs: 5_000, log })),
    clock,
    log,
  });
  /** A poll as the poller Lambda and the CLI run it: poll, then tell the health monitor. */
  return async (): Promise<PollReport | undefined> => {
    try {
      const report = await poll(ports);
      await health.observe(pollObservation(report));
      return report;
    } catch (error) {
      await health.observe(errorObservation(error));
      return undefined;
    }
  };
}

describe("poller health in the ops channel", () => {
  let simulator: RespondentSimulator;
  let slack: FakeSlack;
  let table: TableSettings;
  let now: Date;
  const clock: Clock = { now: () => now };
  const minutesLater = (minutes: number) => {
    now = new Date(now.getTime() + minutes * 60_000);
  };
  const opsPosts = () => slack.posts.filter((post) => post.channel === OPS).map((post) => post.text);

  beforeAll(async () => {
    simulator = await startRespondentSimulator({ apiKey: "health-key-4e1b7c", apiSecret: "health-secret-93ad20" });
    slack = await startFakeSlack({ token: TOKEN, channels: [OPS] });
  });
  afterAll(async () => {
    await simulator.close();
    await slack.close();
  });

  beforeEach(async () => {
    ({ settings: table } = await createTestTable("health-poller"));
    const subscriptions = new DynamoSubscriptionStore(createDynamoDbClient(table), table.tableName, { log });
    await subscriptions.add(
      subscriptionSchema.parse({ projectId: "*", channelId: "C0ALERTS001", createdAt: new Date().toISOString() }),
    );
    slack.reset();
    now = new Date("2026-06-01T10:02:00.000Z");
  });

  it("posts one failing message and one recovery message across many failed polls", async () => {
    const pollOnce = startPoller(table, simulator, slack, clock);
    simulator.failNext(6, CREDENTIALS_REJECTED);

    const failed: Array<PollReport | undefined> = [];
    for (let attempt = 1; attempt <= 6; attempt += 1) {
      failed.push(await pollOnce());
      if (attempt === 1) expect(opsPosts(), "one failed poll is not an outage").toEqual([]);
      minutesLater(1);
    }
    await pollOnce();
    minutesLater(1);
    await pollOnce();

    expect(failed.every((report) => report?.failures[0]?.reason.includes("credentials rejected (401)"))).toBe(true);
    expect(opsPosts()).toEqual([
      expect.stringMatching(
        /^🔴 Respondent polling is failing since 10:02 UTC: Respondent API credentials rejected \(401\): check RESPONDENT_API_KEY/,
      ),
      "🟢 Respondent polling recovered after 6 min (failing since 10:02 UTC: Respondent API credentials rejected (401): check RESPONDENT_API_KEY / RESPONDENT_API_SECRET (or the Respondent secret) and that they belong to this base URL (production and staging keys differ))",
    ]);
    for (const text of opsPosts()) {
      expect(text).not.toContain(simulator.apiKey);
      expect(text).not.toContain(simulator.apiSecret);
    }
  });

  it("stays quiet when single failed polls alternate with successful ones", async () => {
    const pollOnce = startPoller(table, simulator, slack, clock);

    for (let round = 0; round < 3; round += 1) {
      simulator.failNext(1, { status: 503 });
      await pollOnce();
      minutesLater(1);
      await pollOnce();
      minutesLater(1);
    }

    expect(opsPosts()).toEqual([]);
  });

  it("announces a transition once when two pollers see it at the same moment", async () => {
    const first = startPoller(table, simulator, slack, clock);
    const second = startPoller(table, simulator, slack, clock);
    simulator.failNext(1, CREDENTIALS_REJECTED);
    await first();
    minutesLater(1);

    simulator.failNext(2, CREDENTIALS_REJECTED);
    await Promise.all([first(), second()]);
    minutesLater(1);
    await Promise.all([first(), second()]);

    expect(opsPosts()).toEqual([
      expect.stringMatching(/^🔴 Respondent polling is failing since 10:02 UTC/),
      expect.stringMatching(/^🟢 Respondent polling recovered after 2 min/),
    ]);
  });

  it("lets only one of two monitors that read the same record store the transition, so it is posted once", async () => {
    const client = createDynamoDbClient(table);
    const store = new DynamoHealthStore(client, table.tableName, { clock, log });
    // Both monitors read before either writes: the race the conditional write has to settle.
    let arrived = 0;
    let releaseReads: () => void = () => {};
    const bothRead = new Promise<void>((resolve) => {
      releaseReads = resolve;
    });
    const racingStore: HealthStore = {
      async read(component) {
        const stored = await store.read(component);
        arrived += 1;
        if (arrived === 2) releaseReads();
        await bothRead;
        return stored;
      },
      write: (component, next, revision) => store.write(component, next, revision),
    };
    const ops = slackOpsChannel(
      OPS,
      createSlackPoster({ token: TOKEN, apiUrl: `${slack.url}/api/`, timeoutMs: 5_000, log }),
    );
    const monitor = () =>
      new HealthMonitor({ component: "poller", policy: { failingAfter: 1 }, store: racingStore, ops, clock, log });

    await Promise.all([
      monitor().observe({ ok: false, reason: "API down" }),
      monitor().observe({ ok: false, reason: "API down" }),
    ]);

    expect(opsPosts()).toEqual([expect.stringMatching(/^🔴 Respondent polling is failing since 10:02 UTC: API down/)]);
  });

  it("keeps polling when the ops post fails, and makes the announcement at the next poll", async () => {
    const pollOnce = startPoller(table, simulator, slack, clock);
    simulator.failNext(3, CREDENTIALS_REJECTED);
    await pollOnce();
    minutesLater(1);
    slack.failNext("chat.postMessage", 1, { status: 503 });

    const whileSlackFails = await pollOnce();
    expect(whileSlackFails?.failures).toHaveLength(1);
    expect(opsPosts()).toEqual([]);

    minutesLater(1);
    await pollOnce();
    minutesLater(1);
    await pollOnce();

    expect(opsPosts()).toEqual([
      expect.stringMatching(/^🔴 Respondent polling is failing since 10:02 UTC/),
      expect.stringMatching(/^🟢 Respondent polling recovered after 3 min/),
    ]);
  });

  it("reports a recovery even when the failing message never got out", async () => {
    const pollOnce = startPoller(table, simulator, slack, clock);
    simulator.failNext(2, { status: 503 });
    await pollOnce();
    minutesLater(1);
    slack.failNext("chat.postMessage", 1, { error: "not_in_channel" });
    await pollOnce();
    minutesLater(1);

    await pollOnce();

    expect(opsPosts()).toEqual([
      expect.stringMatching(/^🟢 Respondent polling recovered after 2 min \(failing since 10:02 UTC: .*503/),
    ]);
  });

  it("counts a poll that could not even start (subscriptions unreadable) as failed", async () => {
    const unreadable = {
      list: async () => {
        throw new StateUnavailableError("could not read subscriptions: DynamoDB throttled the query");
      },
    };
    const pollOnce = startPoller(table, simulator, slack, clock, unreadable);

    await pollOnce();
    minutesLater(1);
    await pollOnce();

    expect(opsPosts()).toEqual([
      "🔴 Respondent polling is failing since 10:02 UTC: could not read subscriptions: DynamoDB throttled the query\n_One more message will follow here when it recovers._",
    ]);
  });
});
