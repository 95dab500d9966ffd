import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { composePoller, feedStateStore, subscriptionStore } from "../../src/app/compose.ts";
import { eventIdFor } from "../../src/domain/events.ts";
import { subscriptionSchema } from "../../src/domain/subscriptions.ts";
import { type RespondentSimulator, startRespondentSimulator } from "../../src/local/simulator.ts";
import type { Clock } from "../../src/ports.ts";
import { poll } from "../../src/usecases/poll.ts";
import { createTestPlatform, type TestPlatform, takeQueuedEvents } from "../support/platform.ts";

const N = 50_000;
const PROJECTS = 5;

describe(`a steady poll with the feed on at N = ${N.toLocaleString("en")}`, () => {
  let simulator: RespondentSimulator;
  let platform: TestPlatform;
  let now = new Date("2026-11-03T12:00:00.000Z");
  const clock: Clock = { now: () => now };

  beforeAll(async () => {
    simulator = await startRespondentSimulator({ conversations: N, projects: PROJECTS, now: () => now });
    platform = await createTestPlatform({
      prefix: "feed-scale",
      respondent: { url: simulator.url, apiKey: simulator.apiKey, apiSecret: simulator.apiSecret },
      clock,
    });
    for (const projectId of simulator.projectIds) {
      await subscriptionStore(platform).add(
        subscriptionSchema.parse({ projectId, channelId: "C0FEEDSCALE", createdAt: now.toISOString() }),
      );
    }
    // Where a completed sweep of the 50,000 conversations leaves the feed (a sweep at this N
    // writes 50,000 states: minutes here; the sweep itself is covered at smaller N).
    await feedStateStore(platform).write(
      {
        mode: "feed",
        watermark: now.toISOString(),
        coverageStart: now.toISOString(),
        lastSweepAt: now.toISOString(),
        teamUids: [simulator.teamUser.uid],
      },
      undefined,
    );
  }, 120_000);
  afterAll(async () => {
    await platform?.close();
    await simulator?.close();
  });

  it("makes at most one request per subscribed project (+1), and still finds a new reply", {
    timeout: 120_000,
  }, async () => {
    const ports = composePoller(platform, { feed: { enabled: true, reconcileIntervalMinutes: 10 } }).poll;
    now = new Date(now.getTime() + 20_000);
    const conversationUid = simulator.conversationUids[12_345] ?? "";
    const messageUid = simulator.addMessage(conversationUid, { from: "participant", body: "at scale" });
    now = new Date(now.getTime() + 10_000);
    simulator.clearRequests();

    const report = await poll(ports);

    expect(report.source).toBe("feed");
    expect(simulator.requests.length).toBeLessThanOrEqual(PROJECTS + 1);
    expect(simulator.requests.every((request) => request.path === "/v1/messaging/messages")).toBe(true);
    expect((await takeQueuedEvents(platform)).map((event) => event.eventId)).toEqual([
      eventIdFor(conversationUid, messageUid),
    ]);
  });
});
