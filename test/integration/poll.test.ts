import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DynamoLocalQueue } from "../../src/adapters/dynamo/local-queue.ts";
import { DynamoStateStore } from "../../src/adapters/dynamo/state-store.ts";
import { DynamoSubscriptionStore } from "../../src/adapters/dynamo/subscription-store.ts";
import { CountingMetrics, consoleLog } from "../../src/adapters/observability.ts";
import { RespondentApiClient } from "../../src/adapters/respondent-api.ts";
import { subscriptionSchema } from "../../src/domain/subscriptions.ts";
import { QueueUnavailableError, RespondentAuthError } from "../../src/errors.ts";
import { startRespondentSimulator } from "../../src/local/simulator.ts";
import type { EventQueue } from "../../src/ports.ts";
import { type PollPorts, poll } from "../../src/usecases/poll.ts";
import type { SeenCache } from "../../src/ports.ts";
import { createTestTable } from "../support/dynamodb.ts";

const log = consoleLog({ level: "silent" });

describe("poll against the simulator and DynamoDB Local", () => {
  let simulator: Awaited<ReturnType<typeof startRespondentSimulator>>;
  let project: string;
  let queue: DynamoLocalQueue;
  let stateReads: number;
  let stateWrites: number;
  let ports: PollPorts;
  let state: DynamoStateStore;
  let subscriptionStore: DynamoSubscriptionStore;

  beforeAll(async () => {
    simulator = await startRespondentSimulator({ conversations: 25, pageSizeCap: 6 });
    project = simulator.projectIds[0] ?? "";
  });
  afterAll(async () => {
    await simulator.close();
  });

  beforeEach(async () => {
    const { client, tableName } = await createTestTable("poll", {
      onConsumedCapacity: (operation) => {
        if (operation === "state.read") stateReads += 1;
        if (operation === "state.write") stateWrites += 1;
      },
    });
    stateReads = 0;
    stateWrites = 0;
    state = new DynamoStateStore(client, tableName);
    queue = new DynamoLocalQueue(client, tableName);
    const subscriptions = new DynamoSubscriptionStore(client, tableName, { log });
    subscriptionStore = subscriptions;
    await subscriptions.add(
      subscriptionSchema.parse({ projectId: "*", channelId: "C0POLLTEST1", createdAt: new Date().toISOString() }),
    );
    ports = {
      api: new RespondentApiClient({
        baseUrl: simulator.url,
        pageSize: 100,
        maxConcurrency: 3,
        timeoutMs: 2_000,
        maxRetries: 0,
        credentials: async () => ({ apiKey: simulator.apiKey, apiSecret: simulator.apiSecret }),
        log,
      }),
      state,
      queue,
      subscriptions,
      clock: { now: () => new Date() },
      log,
      metrics: new CountingMetrics(),
      cache: new Map() as SeenCache,
    };
  });

  const queuedMessageUids = async () =>
    (await queue.receive(100, new Date())).map((message) => JSON.parse(message.body).message.uid as string);

  it("queues each new participant reply once, and a re-poll of an unchanged API queues nothing", async () => {
    await poll(ports);
    const conversation = simulator.addConversation({ projectId: project, firstMessage: { from: "participant" } });
    const reply = simulator.addMessage(conversation, { from: "participant", body: "second" });

    const first = await poll(ports);
    const again = await poll(ports);

    expect(first.newReplies).toBe(2);
    expect(again.newReplies).toBe(0);
    expect((await queuedMessageUids()).at(-1)).toBe(reply);
    expect(await queue.pendingCount()).toBe(2);
  });

  it("does not advance the state when the queue is down, so the next poll finds the same replies", async () => {
    await poll(ports);
    const conversation = simulator.addConversation({ projectId: project, firstMessage: { from: "participant" } });
    const failingQueue: EventQueue = {
      sendEvents: async () => {
        throw new QueueUnavailableError("queue down for the test");
      },
    };

    const failed = await poll({ ...ports, queue: failingQueue });
    expect(failed.failures.map((failure) => failure.conversationUid)).toEqual([conversation]);
    expect(failed.failures[0]?.retryable).toBe(true);
    expect((await state.getStates([conversation])).size).toBe(0);

    const recovered = await poll(ports);
    expect(recovered.eventsQueued).toBe(1);
    expect(recovered.failures).toEqual([]);
  });

  it("reads no state for unchanged conversations once warm, and reads again only what changed", async () => {
    await poll(ports);
    stateReads = 0;
    stateWrites = 0;

    const steady = await poll(ports);
    expect(steady.conversationsScanned).toBeGreaterThan(20);
    expect({ stateReads, stateWrites }).toEqual({ stateReads: 0, stateWrites: 0 });

    const conversation = simulator.conversationUids[3] ?? "";
    simulator.addMessage(conversation, { from: "researcher" });
    await poll(ports);
    expect({ stateReads, stateWrites }).toEqual({ stateReads: 1, stateWrites: 1 });
  });

  it("starts cold (empty cache) without re-alerting anything", async () => {
    await poll(ports);
    simulator.addConversation({ projectId: project, firstMessage: { from: "participant" } });
    await poll(ports);

    const cold = await poll({ ...ports, cache: new Map() });
    expect(cold.newReplies).toBe(0);
  });

  it("lets only one of two overlapping polls advance a conversation, and the event is queued once", async () => {
    await poll(ports);
    const conversation = simulator.addConversation({ projectId: project, firstMessage: { from: "participant" } });

    const [one, two] = await Promise.all([poll({ ...ports, cache: new Map() }), poll({ ...ports, cache: new Map() })]);

    expect(one.failures).toEqual([]);
    expect(two.failures).toEqual([]);
    const queued = (await queue.receive(100, new Date())).filter(
      (message) => JSON.parse(message.body).conversation.uid === conversation,
    );
    expect(queued).toHaveLength(1);
  });

  it("skips a malformed conversation, reports it, and processes the others", async () => {
    await poll(ports);
    const broken = simulator.injectMalformed({ projectId: project });
    const healthy = simulator.addConversation({ projectId: project, firstMessage: { from: "participant" } });

    const report = await poll(ports);

    expect(report.malformedConversations).toBe(1);
    expect(report.failures).toEqual([]);
    expect(report.events.map((event) => event.conversation.uid)).toEqual([healthy]);
    expect(report.events.map((event) => event.conversation.uid)).not.toContain(broken);
  });

  it("polls only subscribed projects, with the API's projectId filter", async () => {
    const { client, tableName } = await createTestTable("poll-scope");
    const subscriptions = new DynamoSubscriptionStore(client, tableName, { log });
    const other = simulator.projectIds[1] ?? "";
    for (const projectId of [project, other]) {
      await subscriptions.add(
        subscriptionSchema.parse({ projectId, channelId: "C0POLLTEST1", createdAt: new Date().toISOString() }),
      );
    }
    simulator.clearRequests();

    const report = await poll({ ...ports, subscriptions, state: new DynamoStateStore(client, tableName) });

    expect(report.scopes).toEqual([project, other].sort());
    expect(new Set(simulator.requests.map((request) => request.projectId))).toEqual(new Set([project, other]));
  });

  it("alerts a channel subscribed while a poll was running about a reply written meanwhile", async () => {
    await poll(ports);
    const conversation = simulator.addConversation({ projectId: project, firstMessage: { from: "researcher" } });
    await poll(ports);
    const pause = () => new Promise((resolve) => setTimeout(resolve, 5));
    const racing = {
      list: async () => {
        const seen = await ports.subscriptions.list();
        // After this poll read its subscriptions: a new channel subscribes, then the participant writes.
        await pause();
        await subscriptionStore.add(
          subscriptionSchema.parse({ projectId: "*", channelId: "C0LATECOMER", createdAt: new Date().toISOString() }),
        );
        await pause();
        simulator.addMessage(conversation, { from: "participant", body: "written mid-poll" });
        return seen;
      },
    };

    const during = await poll({ ...ports, subscriptions: racing });
    const after = await poll(ports);

    expect(during.events).toEqual([]);
    expect(after.events.map((event) => event.targets.map((target) => target.channelId).sort())).toEqual([
      ["C0LATECOMER", "C0POLLTEST1"],
    ]);
  });

  it("writes nothing and queues nothing in a dry run", async () => {
    await poll(ports);
    simulator.addConversation({ projectId: project, firstMessage: { from: "participant" } });
    stateWrites = 0;

    const dry = await poll({ ...ports, cache: new Map() }, { dryRun: true });
    expect(dry.newReplies).toBe(1);
    expect(stateWrites).toBe(0);
    expect(await queue.pendingCount()).toBe(0);

    const real = await poll(ports);
    expect(real.newReplies).toBe(1);
  });
});

describe("poll of several subscribed projects at once", () => {
  let simulator: Awaited<ReturnType<typeof startRespondentSimulator>>;
  let projects: string[];
  let slowProject: string;
  let queue: DynamoLocalQueue;
  let ports: PollPorts;

  beforeAll(async () => {
    // The first project (in poll order) answers slowest, so it finishes last unless the poll waits for it.
    simulator = await startRespondentSimulator({
      conversations: 90,
      projects: 3,
      pageSizeCap: 5,
      latencyMs: (request) => (request.projectId === slowProject ? 50 : 5),
    });
    projects = [...simulator.projectIds].sort();
    slowProject = projects[0] ?? "";
  });
  afterAll(async () => {
    await simulator.close();
  });

  beforeEach(async () => {
    const { client, tableName } = await createTestTable("poll-scopes");
    const subscriptions = new DynamoSubscriptionStore(client, tableName, { log });
    for (const projectId of projects) {
      await subscriptions.add(
        subscriptionSchema.parse({ projectId, channelId: "C0POLLTEST1", createdAt: new Date().toISOString() }),
      );
    }
    queue = new DynamoLocalQueue(client, tableName);
    ports = {
      api: clientWith({ maxConcurrency: 2 }),
      state: new DynamoStateStore(client, tableName),
      queue,
      subscriptions,
      clock: { now: () => new Date() },
      log,
      metrics: new CountingMetrics(),
      cache: new Map() as SeenCache,
    };
    simulator.clearRequests();
  });

  const clientWith = (settings: { maxConcurrency: number; apiSecret?: string }) =>
    new RespondentApiClient({
      baseUrl: simulator.url,
      pageSize: 100,
      maxConcurrency: settings.maxConcurrency,
      timeoutMs: 2_000,
      maxRetries: 0,
      credentials: async () => ({ apiKey: simulator.apiKey, apiSecret: settings.apiSecret ?? simulator.apiSecret }),
      log,
    });

  it("starts every project at once and never has more requests in flight than the client's maxConcurrency", async () => {
    const report = await poll(ports);

    expect(report.failures).toEqual([]);
    expect(report.conversationsScanned).toBe(90);
    expect(report.scopes).toEqual(projects);
    const requested = simulator.requests.map((request) => request.projectId);
    const slowProjectDone = requested.lastIndexOf(slowProject);
    for (const project of projects) expect(requested.indexOf(project)).toBeLessThan(slowProjectDone);
    expect(simulator.maxConcurrentRequests).toBeLessThanOrEqual(2);
  });

  it("lists each project's pages in order while the projects overlap", async () => {
    const handled: Array<{ scope: string; page: number }> = [];

    await poll({ ...ports, onProgress: ({ scope, page }) => handled.push({ scope, page }) });

    for (const project of projects) {
      const pages = handled.filter((entry) => entry.scope === project).map((entry) => entry.page);
      expect(pages).toEqual(pages.map((_, index) => index + 1));
    }
    const slowProjectDone = handled.findLastIndex((entry) => entry.scope === slowProject);
    expect(handled.slice(0, slowProjectDone).some((entry) => entry.scope !== slowProject)).toBe(true);
  });

  it("reports events project by project, whatever order the projects finish in", async () => {
    await poll(ports);
    const added = projects.map((projectId) =>
      simulator.addConversation({ projectId, firstMessage: { from: "participant" } }),
    );

    const report = await poll(ports);

    expect(report.events.map((event) => event.conversation.uid)).toEqual(added);
    expect(await queue.pendingCount()).toBe(3);
  });

  it("after rejected credentials starts no further project, and reports the ones that failed", async () => {
    const report = await poll(
      { ...ports, api: clientWith({ maxConcurrency: 2, apiSecret: "wrong-secret" }) },
      { scopeConcurrency: 2 },
    );

    expect(report.scopes).toEqual(projects);
    expect(report.failures.map((failure) => failure.scope)).toEqual(projects.slice(0, 2));
    expect(report.failures.map((failure) => failure.reason)).toEqual([
      new RespondentAuthError(401).message,
      new RespondentAuthError(401).message,
    ]);
    expect(new Set(simulator.requests.map((request) => request.projectId))).toEqual(new Set(projects.slice(0, 2)));
  });
});
