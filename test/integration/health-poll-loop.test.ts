import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { composePoller, subscriptionStore } from "../../src/app/compose.ts";
import { subscriptionSchema } from "../../src/domain/subscriptions.ts";
import { type RespondentSimulator, startRespondentSimulator } from "../../src/local/simulator.ts";
import { pollCycle } from "../../src/usecases/poll-cycle.ts";
import { POLL_TIME_RESERVE_MS, pollRepeatedly } from "../../src/usecases/poll-loop.ts";
import { CapacityMeter } from "../support/dynamodb.ts";
import { createTestPlatform } from "../support/platform.ts";

/**
 * A Lambda invocation in virtual time: `remainingMs` counts down from the timeout, `sleep`
 * moves the clock instead of waiting, and each poll takes `pollMs` (or what the test says).
 */
function invocation(options: { timeoutMs: number; pollMs?: (index: number) => number }) {
  let now = 0;
  const startedAt: number[] = [];
  return {
    startedAt,
    loop: {
      remainingMs: () => options.timeoutMs - now,
      now: () => now,
      sleep: async (ms: number) => {
        now += ms;
      },
    },
    pollOnce: async (index: number) => {
      startedAt.push(now);
      now += options.pollMs?.(index) ?? 400;
      return index;
    },
  };
}

describe("the sub-minute poll loop", () => {
  it("polls at 0, 15, 30 and 45 s of a 55-second invocation set to 15 s", async () => {
    const run = invocation({ timeoutMs: 55_000 });

    const results = await pollRepeatedly(run.pollOnce, { intervalMs: 15_000, ...run.loop });

    expect(results).toEqual([0, 1, 2, 3]);
    expect(run.startedAt).toEqual([0, 15_000, 30_000, 45_000]);
  });

  it.each([
    [20, [0, 20_000, 40_000]],
    [30, [0, 30_000]],
    [60, [0]],
  ])("polls every %i s within the minute", async (seconds, starts) => {
    const run = invocation({ timeoutMs: 55_000 });

    await pollRepeatedly(run.pollOnce, { intervalMs: seconds * 1000, ...run.loop });

    expect(run.startedAt).toEqual(starts);
  });

  it("never starts a poll with less than the reserve left before the timeout", async () => {
    const run = invocation({ timeoutMs: 50_000 });
    const stops: number[] = [];

    await pollRepeatedly(run.pollOnce, {
      intervalMs: 15_000,
      ...run.loop,
      onStop: ({ polls }) => stops.push(polls),
    });

    expect(run.startedAt).toEqual([0, 15_000, 30_000]);
    expect(50_000 - 45_000).toBeLessThan(POLL_TIME_RESERVE_MS);
    expect(stops).toEqual([3]);
  });

  it("skips to the next slot after a slow poll instead of polling back to back", async () => {
    const run = invocation({ timeoutMs: 55_000, pollMs: (index) => (index === 0 ? 20_000 : 400) });

    await pollRepeatedly(run.pollOnce, { intervalMs: 15_000, ...run.loop });

    expect(run.startedAt).toEqual([0, 30_000, 45_000]);
  });

  it("always makes the first poll, however little time is left", async () => {
    const run = invocation({ timeoutMs: 1_000 });

    await pollRepeatedly(run.pollOnce, { intervalMs: 15_000, ...run.loop });

    expect(run.startedAt).toEqual([0]);
  });
});

describe("the sub-minute poll loop with the real poll", () => {
  let simulator: RespondentSimulator;

  beforeAll(async () => {
    simulator = await startRespondentSimulator({ conversations: 40, pageSizeCap: 10 });
  });
  afterAll(async () => {
    await simulator.close();
  });

  it("makes each extra poll of the minute cheap: a warm cache reads state only for what changed", async () => {
    const capacity = new CapacityMeter();
    const platform = await createTestPlatform({
      prefix: "poll-loop",
      respondent: {
        url: simulator.url,
        apiKey: simulator.apiKey,
        apiSecret: simulator.apiSecret,
        settings: { maxConcurrency: 2, timeoutMs: 2_000 },
      },
      wrapDynamo: capacity.wrapDynamo,
    });
    await subscriptionStore(platform).add(
      subscriptionSchema.parse({ projectId: "*", channelId: "C0LOOPTEST1", createdAt: new Date().toISOString() }),
    );
    // One container, as the poller Lambda builds it once and loops over its cycles.
    const poller = composePoller(platform);
    const stateReads: number[] = [];
    let virtualNow = 0;
    const conversation = simulator.conversationUids[0] ?? "";

    const results = await pollRepeatedly(
      async (index) => {
        capacity.reset();
        if (index === 2) simulator.addMessage(conversation, { from: "participant", body: "a reply mid-minute" });
        const result = await pollCycle(poller);
        stateReads.push(capacity.count("state.read"));
        return result;
      },
      {
        intervalMs: 15_000,
        remainingMs: () => 55_000 - virtualNow,
        now: () => virtualNow,
        sleep: async (ms) => {
          virtualNow += ms;
        },
      },
    );
    capacity.close();
    await platform.close();

    expect(results).toHaveLength(4);
    expect(results.map((result) => result.report?.failures)).toEqual([[], [], [], []]);
    expect(results.map((result) => result.report?.newReplies)).toEqual([0, 0, 1, 0]);
    // Cold: every page is read. Warm and unchanged: nothing. One change: one read.
    expect(stateReads[0]).toBeGreaterThan(1);
    expect(stateReads.slice(1)).toEqual([0, 1, 0]);
  });
});
