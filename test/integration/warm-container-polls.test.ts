import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { composePoller, subscriptionStore } from "../../src/app/compose.ts";
import { subscriptionSchema } from "../../src/domain/subscriptions.ts";
import { type RespondentSimulator, startRespondentSimulator } from "../../src/local/simulator.ts";
import { pollCycle } from "../../src/usecases/poll-cycle.ts";
import { CapacityMeter } from "../support/dynamodb.ts";
import { createTestPlatform } from "../support/platform.ts";

describe("consecutive polls of one warm container (the poll chain's ticks)", () => {
  let simulator: RespondentSimulator;

  beforeAll(async () => {
    simulator = await startRespondentSimulator({ conversations: 40, pageSizeCap: 10 });
  });
  afterAll(async () => {
    await simulator.close();
  });

  it("makes each poll after the first cheap: a warm cache reads state only for what changed", async () => {
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
    // One container, as the poller Lambda builds it once and runs one poll per chain tick on it.
    const poller = composePoller(platform);
    const stateReads: number[] = [];
    const conversation = simulator.conversationUids[0] ?? "";

    const results = [];
    for (let tick = 0; tick < 4; tick += 1) {
      capacity.reset();
      if (tick === 2) simulator.addMessage(conversation, { from: "participant", body: "a reply between ticks" });
      results.push(await pollCycle(poller));
      stateReads.push(capacity.count("state.read"));
    }
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
