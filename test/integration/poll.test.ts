import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { composePoller, deliveryQueue, respondentClient, subscriptionStore } from "../../src/app/compose.ts";
import { subscriptionSchema } from "../../src/domain/subscriptions.ts";
import { RespondentAuthError } from "../../src/errors.ts";
import { startRespondentSimulator } from "../../src/local/simulator.ts";
import type { Clock, SubscriptionStore } from "../../src/ports.ts";
import { type PollPorts, poll } from "../../src/usecases/poll.ts";
import { interceptSends } from "../support/clients.ts";
import { CapacityMeter } from "../support/dynamodb.ts";
import { createTestPlatform, type TestPlatform, takeQueuedEvents } from "../support/platform.ts";

const CHANNEL = "C0POLLTEST1";

/** Real time, which a test can move forward instead of waiting for it to pass. */
function skewableClock(): Clock & { skip(ms: number): void } {
  let skew = 0;
  return {
    now: () => new Date(Date.now() + skew),
    skip: (ms) => {
      skew += ms;
    },
  };
}

describe("poll against the simulator, DynamoDB Local and the SQS emulator", () => {
  let simulator: Awaited<ReturnType<typeof startRespondentSimulator>>;
  let project: string;
  let platform: TestPlatform;
  let capacity: CapacityMeter;
  let sqsDown: boolean;
  let clock: ReturnType<typeof skewableClock>;
  let ports: PollPorts;
  let subscriptions: SubscriptionStore;

  const stateRequests = () => ({
    stateReads: capacity.count("state.read"),
    stateWrites: capacity.count("state.write"),
  });
  const subscribe = (channelId: string) =>
    subscriptions.add(subscriptionSchema.parse({ projectId: "*", channelId, createdAt: clock.now().toISOString() }));

  beforeAll(async () => {
    simulator = await startRespondentSimulator({ conversations: 25, pageSizeCap: 6 });
    project = simulator.projectIds[0] ?? "";
  });
  afterAll(async () => {
    await simulator.close();
  });

  beforeEach(async () => {
    capacity = new CapacityMeter();
    sqsDown = false;
    clock = skewableClock();
    platform = await createTestPlatform({
      prefix: "poll",
      respondent: { url: simulator.url, apiKey: simulator.apiKey, apiSecret: simulator.apiSecret },
      clock,
      wrapDynamo: capacity.wrapDynamo,
      // SQS refuses every send while `sqsDown`, as it would in an outage: the adapter's own retries run.
      wrapSqs: (client) =>
        interceptSends(client, (command) => {
          if (sqsDown && command.name === "SendMessageBatchCommand") throw new Error("SQS unavailable (test outage)");
        }),
    });
    subscriptions = subscriptionStore(platform);
    await subscribe(CHANNEL);
    ports = composePoller(platform).poll;
    capacity.reset();
    return async () => {
      capacity.close();
      await platform.close();
    };
  });

  it("queues each new participant reply once, and a re-poll of an unchanged API queues nothing", async () => {
    await poll(ports);
    const conversation = simulator.addConversation({ projectId: project, firstMessage: { from: "participant" } });
    const reply = simulator.addMessage(conversation, { from: "participant", body: "second" });

    const first = await poll(ports);
    const again = await poll(ports);

    expect(first.newReplies).toBe(2);
    expect(again.newReplies).toBe(0);
    expect(await deliveryQueue(platform).pendingCount()).toBe(2);
    expect((await takeQueuedEvents(platform)).map((event) => event.message.uid).at(-1)).toBe(reply);
  });

  it("does not advance the state when the queue is down, so the next poll finds the same replies", async () => {
    await poll(ports);
    const conversation = simulator.addConversation({ projectId: project, firstMessage: { from: "participant" } });
    sqsDown = true;

    const failed = await poll(ports);
    expect(failed.failures.map((failure) => failure.conversationUid)).toEqual([conversation]);
    expect(failed.failures[0]?.retryable).toBe(true);
    expect((await ports.state.getStates([conversation])).size).toBe(0);

    sqsDown = false;
    const recovered = await poll(ports);
    expect(recovered.eventsQueued).toBe(1);
    expect(recovered.failures).toEqual([]);
    expect((await takeQueuedEvents(platform)).map((event) => event.conversation.uid)).toEqual([conversation]);
  });

  it("reads no state for unchanged conversations once warm, and reads again only what changed", async () => {
    await poll(ports);
    capacity.reset();

    const steady = await poll(ports);
    expect(steady.conversationsScanned).toBeGreaterThan(20);
    expect(stateRequests()).toEqual({ stateReads: 0, stateWrites: 0 });

    const conversation = simulator.conversationUids[3] ?? "";
    simulator.addMessage(conversation, { from: "researcher" });
    await poll(ports);
    expect(stateRequests()).toEqual({ stateReads: 1, stateWrites: 1 });
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
    // Both may have found the reply, but only one moved the state: the other's conditional write lost.
    const found = [...one.events, ...two.events].filter((event) => event.conversation.uid === conversation);
    expect(one.stateConflicts + two.stateConflicts).toBe(found.length - 1);
    // A poll queues before it advances, so a loser's copy was queued too: the queue's deduplication drops it.
    const queued = (await takeQueuedEvents(platform)).filter((event) => event.conversation.uid === conversation);
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
    const scoped = await createTestPlatform({
      prefix: "poll-scope",
      respondent: { url: simulator.url, apiKey: simulator.apiKey, apiSecret: simulator.apiSecret },
    });
    const other = simulator.projectIds[1] ?? "";
    for (const projectId of [project, other]) {
      await subscriptionStore(scoped).add(
        subscriptionSchema.parse({ projectId, channelId: CHANNEL, createdAt: new Date().toISOString() }),
      );
    }
    simulator.clearRequests();

    const report = await poll(composePoller(scoped).poll);

    expect(report.scopes).toEqual([project, other].sort());
    expect(new Set(simulator.requests.map((request) => request.projectId))).toEqual(new Set([project, other]));
    await scoped.close();
  });

  it("alerts a channel subscribed while a poll was running about a reply written meanwhile", async () => {
    await poll(ports);
    const conversation = simulator.addConversation({ projectId: project, firstMessage: { from: "researcher" } });
    await poll(ports);
    const racing = {
      list: async () => {
        const seen = await ports.subscriptions.list();
        // After this poll read its subscriptions: a new channel subscribes, then the participant
        // writes, each a moment later than the poll's reading (explicit times, no waiting).
        const readAt = Date.now();
        await subscriptions.add(
          subscriptionSchema.parse({
            projectId: "*",
            channelId: "C0LATECOMER",
            createdAt: new Date(readAt + 5).toISOString(),
          }),
        );
        simulator.addMessage(conversation, {
          from: "participant",
          body: "written mid-poll",
          createdAt: new Date(readAt + 10),
        });
        // The next poll happens after all that.
        clock.skip(1_000);
        return seen;
      },
    };

    const during = await poll({ ...ports, subscriptions: racing });
    const after = await poll(ports);

    expect(during.events).toEqual([]);
    expect(after.events.map((event) => event.targets.map((target) => target.channelId).sort())).toEqual([
      ["C0LATECOMER", CHANNEL],
    ]);
  });

  it("writes nothing and queues nothing in a dry run", async () => {
    await poll(ports);
    simulator.addConversation({ projectId: project, firstMessage: { from: "participant" } });
    capacity.reset();

    const dry = await poll({ ...ports, cache: new Map() }, { dryRun: true });
    expect(dry.newReplies).toBe(1);
    expect(capacity.count("state.write")).toBe(0);
    expect(await deliveryQueue(platform).pendingCount()).toBe(0);

    const real = await poll(ports);
    expect(real.newReplies).toBe(1);
  });

  it("refuses to queue anything in a dry-run poller, whatever poll is asked to do", async () => {
    await poll(ports);
    simulator.addConversation({ projectId: project, firstMessage: { from: "participant" } });

    const report = await poll(composePoller(platform, { dryRun: true }).poll);

    expect(report.failures.map((failure) => failure.reason)).toEqual([
      expect.stringContaining("a dry run never queues events"),
    ]);
    expect(await deliveryQueue(platform).pendingCount()).toBe(0);
  });
});

describe("poll of several subscribed projects at once", () => {
  let simulator: Awaited<ReturnType<typeof startRespondentSimulator>>;
  let projects: string[];
  let slowProject: string;
  let platform: TestPlatform;
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
    platform = await createTestPlatform({
      prefix: "poll-scopes",
      respondent: {
        url: simulator.url,
        apiKey: simulator.apiKey,
        apiSecret: simulator.apiSecret,
        settings: { maxConcurrency: 2, timeoutMs: 2_000 },
      },
    });
    for (const projectId of projects) {
      await subscriptionStore(platform).add(
        subscriptionSchema.parse({ projectId, channelId: CHANNEL, createdAt: new Date().toISOString() }),
      );
    }
    ports = composePoller(platform).poll;
    simulator.clearRequests();
    return () => platform.close();
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
    expect(await deliveryQueue(platform).pendingCount()).toBe(3);
  });

  it("after rejected credentials starts no further project, and reports the ones that failed", async () => {
    const rejected = respondentClient({
      ...platform,
      respondent: platform.respondent && {
        ...platform.respondent,
        credentials: async () => ({ apiKey: simulator.apiKey, apiSecret: "wrong-secret" }),
      },
    });

    const report = await poll({ ...ports, api: rejected }, { scopeConcurrency: 2 });

    expect(report.scopes).toEqual(projects);
    expect(report.failures.map((failure) => failure.scope)).toEqual(projects.slice(0, 2));
    expect(report.failures.map((failure) => failure.reason)).toEqual([
      new RespondentAuthError(401).message,
      new RespondentAuthError(401).message,
    ]);
    expect(new Set(simulator.requests.map((request) => request.projectId))).toEqual(new Set(projects.slice(0, 2)));
  });
});
