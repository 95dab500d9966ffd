import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { CountingMetrics } from "../../src/adapters/observability.ts";
import { composePoller, feedStateStore, subscriptionStore } from "../../src/app/compose.ts";
import { eventIdFor } from "../../src/domain/events.ts";
import { subscriptionSchema } from "../../src/domain/subscriptions.ts";
import { type FakeSlack, startFakeSlack } from "../../src/local/fake-slack.ts";
import { type RespondentSimulator, startRespondentSimulator } from "../../src/local/simulator.ts";
import type { Clock, Log } from "../../src/ports.ts";
import { type PollPorts, poll } from "../../src/usecases/poll.ts";
import { createTestPlatform, type TestPlatform, takeQueuedEvents } from "../support/platform.ts";

const TOKEN = "xoxb-feed-poll-test";
const OPS = "C0OPSFEED01";
const CHANNEL = "C0FEEDALRT1";
const FEED = { enabled: true, reconcileIntervalMinutes: 10 };
const FEED_PATH = "/v1/messaging/messages";
const LIST_PATH = "/v1/messaging/conversations";

describe("the messages feed between sweeps (DynamoDB Local, the SQS emulator, the simulator)", () => {
  let simulator: RespondentSimulator;
  let slack: FakeSlack;
  let platform: TestPlatform;
  let now: Date;
  let logLines: string[];
  const clock: Clock = { now: () => now };
  const later = (ms: number) => {
    now = new Date(now.getTime() + ms);
  };
  const requestsTo = (path: string) => simulator.requests.filter((request) => request.path === path).length;
  const recordingLog: Log = {
    debug() {},
    info() {},
    warn: (message, attributes) => logLines.push(`warn ${message} ${JSON.stringify(attributes ?? {})}`),
    error: (message, attributes) => logLines.push(`error ${message} ${JSON.stringify(attributes ?? {})}`),
  };

  beforeAll(async () => {
    now = new Date("2026-11-02T09:00:00.000Z");
    simulator = await startRespondentSimulator({ conversations: 60, pageSizeCap: 20, now: () => now });
    slack = await startFakeSlack({ token: TOKEN, channels: [OPS, CHANNEL] });
  });
  afterAll(async () => {
    await simulator.close();
    await slack.close();
  });

  beforeEach(async () => {
    logLines = [];
    simulator.setFeedSince("iso");
    platform = await createTestPlatform({
      prefix: "feed-poll",
      respondent: { url: simulator.url, apiKey: simulator.apiKey, apiSecret: simulator.apiSecret },
      slack: { url: slack.url, token: TOKEN },
      opsChannelId: OPS,
      clock,
      log: recordingLog,
    });
    // Each test runs a fresh table on the shared simulator, later in the simulator's time.
    later(60 * 60_000);
    for (const projectId of simulator.projectIds) {
      await subscriptionStore(platform).add(
        subscriptionSchema.parse({ projectId, channelId: CHANNEL, createdAt: now.toISOString() }),
      );
    }
    slack.reset();
    return () => platform.close();
  });

  const poller = (feed = FEED): PollPorts => composePoller(platform, { feed }).poll;
  const replyIn = (projectIndex: number, from: "participant" | "researcher" = "participant") => {
    const conversationUid = simulator.addConversation({ projectId: simulator.projectIds[projectIndex] ?? "" });
    later(1_000);
    const messageUid = simulator.addMessage(conversationUid, { from });
    return { conversationUid, messageUid };
  };

  it("sweeps first, then reads only the feed (one request per subscribed project), and a later sweep alerts nothing twice", async () => {
    const ports = poller();
    const first = await poll(ports);
    expect(first.source).toBe("sweep");
    expect(first.sweepReason).toBe("first");
    // Each page fetched is counted once (by the client that fetched it).
    expect(first.pagesFetched).toBeGreaterThan(1);
    expect((platform.metrics as CountingMetrics).get("PagesFetched")).toBe(first.pagesFetched);

    later(5_000);
    const reply = replyIn(0);
    const ours = replyIn(1, "researcher");
    simulator.clearRequests();
    later(5_000);
    const feedPoll = await poll(ports);

    expect(feedPoll.source).toBe("feed");
    expect(requestsTo(LIST_PATH)).toBe(0);
    expect(requestsTo(FEED_PATH)).toBe(simulator.projectIds.length);
    const queued = await takeQueuedEvents(platform);
    expect(queued.map((event) => event.eventId)).toEqual([eventIdFor(reply.conversationUid, reply.messageUid)]);
    expect(queued[0]?.sender.uid).not.toBe(simulator.teamUser.uid);
    expect(feedPoll.ownMessages).toBeGreaterThanOrEqual(1);
    expect(ours.messageUid).toBeTruthy();

    // An unchanged feed: nothing again, and still no listing.
    later(5_000);
    const steady = await poll(ports);
    expect(steady.source).toBe("feed");
    expect(steady.eventsQueued).toBe(0);

    // The reconciling sweep sees the reply as handled by the feed: no second event, no miss.
    later(10 * 60_000);
    simulator.clearRequests();
    const reconcile = await poll(ports);
    expect(reconcile.source).toBe("sweep");
    expect(reconcile.sweepReason).toBe("reconcile");
    expect(requestsTo(LIST_PATH)).toBeGreaterThan(0);
    expect(reconcile.eventsQueued).toBe(0);
    expect(reconcile.missedByFeed).toBe(0);
    expect(await takeQueuedEvents(platform)).toEqual([]);
    // The sweep moved the state past the reply and cleared the feed's mark.
    const stored = await ports.state.getStored([reply.conversationUid]);
    expect(stored.get(reply.conversationUid)?.state?.lastMessageUid).toBe(reply.messageUid);
    expect(stored.get(reply.conversationUid)?.feedHandled).toEqual([]);
    expect((await feedStateStore(platform).read())?.state.mode).toBe("feed");
  });

  it("a `*` subscription reads the whole feed in one unfiltered request and alerts from it", async () => {
    for (const projectId of simulator.projectIds) await subscriptionStore(platform).remove(projectId, CHANNEL);
    await subscriptionStore(platform).add(
      subscriptionSchema.parse({ projectId: "*", channelId: CHANNEL, createdAt: now.toISOString() }),
    );
    const ports = poller();
    expect((await poll(ports)).source).toBe("sweep");

    later(5_000);
    const reply = replyIn(2);
    simulator.clearRequests();
    later(5_000);
    const feedPoll = await poll(ports);

    expect(feedPoll.source).toBe("feed");
    const feedRequests = simulator.requests.filter((request) => request.path === FEED_PATH);
    expect(feedRequests.map((request) => request.query.projectId)).toEqual([undefined]);
    expect((await takeQueuedEvents(platform)).map((event) => event.eventId)).toEqual([
      eventIdFor(reply.conversationUid, reply.messageUid),
    ]);
  });

  it("a reply the feed omitted is alerted once by the sweep, counted as missed, and the poller sweeps only until doctor --reset-feed", async () => {
    const ports = poller();
    await poll(ports);
    later(5_000);
    const missed = replyIn(2);
    simulator.omitFromFeed(missed.messageUid);
    for (let minute = 0; minute < 4; minute += 1) {
      later(60_000);
      const report = await poll(ports);
      expect(report.source).toBe("feed");
      expect(report.eventsQueued).toBe(0);
    }

    later(10 * 60_000);
    const sweep = await poll(ports);
    expect(sweep.source).toBe("sweep");
    expect(sweep.missedByFeed).toBe(1);
    const queued = await takeQueuedEvents(platform);
    expect(queued.map((event) => event.eventId)).toEqual([eventIdFor(missed.conversationUid, missed.messageUid)]);
    expect(logLines.some((line) => line.includes("should have returned") && line.includes(missed.messageUid))).toBe(
      true,
    );
    const state = (await feedStateStore(platform).read())?.state;
    expect(state?.mode).toBe("sweep-only");
    const opsPosts = slack.posts.filter((post) => post.channel === OPS).map((post) => post.text);
    expect(opsPosts).toHaveLength(1);
    expect(opsPosts[0]).toContain("doctor --reset-feed");

    // Sweep-only: the next polls list every conversation and never read the feed, and say nothing more.
    simulator.clearRequests();
    later(30_000);
    const next = await poll(ports);
    expect(next.source).toBe("sweep");
    expect(next.sweepReason).toBe("sweep-only");
    expect(requestsTo(FEED_PATH)).toBe(0);
    expect(await takeQueuedEvents(platform)).toEqual([]);
    expect(slack.posts.filter((post) => post.channel === OPS)).toHaveLength(1);

    // The reset: one sweep, then the feed again.
    expect(await feedStateStore(platform).reset()).toBe(true);
    later(30_000);
    expect((await poll(ports)).sweepReason).toBe("first");
    later(30_000);
    expect((await poll(ports)).source).toBe("feed");
  });

  it("a refused since falls back to the sweep in the same poll with one log line, loses no reply, and stays sweep-only", async () => {
    const ports = poller();
    await poll(ports);
    simulator.setFeedSince("refuse");
    later(5_000);
    const reply = replyIn(1);
    later(5_000);

    const refused = await poll(ports);
    expect(refused.source).toBe("sweep");
    expect(refused.sweepReason).toBe("feed-refused");
    expect(refused.failures).toEqual([]);
    expect((await takeQueuedEvents(platform)).map((event) => event.eventId)).toEqual([
      eventIdFor(reply.conversationUid, reply.messageUid),
    ]);
    const refusals = logLines.filter((line) => line.includes("refused"));
    expect(refusals).toHaveLength(1);
    expect(refusals[0]).toContain("doctor --reset-feed");
    expect((await feedStateStore(platform).read())?.state.mode).toBe("sweep-only");

    simulator.clearRequests();
    later(30_000);
    const again = await poll(ports);
    expect(again.sweepReason).toBe("sweep-only");
    expect(requestsTo(FEED_PATH)).toBe(0);
    expect(logLines.filter((line) => line.includes("refused"))).toHaveLength(1);
  });

  it("`--full` sweeps even when the feed would do", async () => {
    const ports = poller();
    await poll(ports);
    later(5_000);
    const report = await poll(ports, { full: true });
    expect(report.source).toBe("sweep");
    expect(report.sweepReason).toBe("full");
  });

  it("RESPONDENT_FEED=off polls as before: every poll lists, the feed is never read, no feed state is written", async () => {
    const ports = poller({ enabled: false, reconcileIntervalMinutes: 10 });
    simulator.clearRequests();
    await poll(ports);
    later(5_000);
    const reply = replyIn(0);
    later(5_000);
    const report = await poll(ports);
    expect(report.source).toBe("sweep");
    expect(report.sweepReason).toBeUndefined();
    expect(requestsTo(FEED_PATH)).toBe(0);
    expect((await takeQueuedEvents(platform)).map((event) => event.message.uid)).toEqual([reply.messageUid]);
    expect(await feedStateStore(platform).read()).toBeUndefined();
  });
});
