import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { composePoller, subscriptionStore } from "../../src/app/compose.ts";
import { subscriptionSchema } from "../../src/domain/subscriptions.ts";
import { type RespondentSimulator, startRespondentSimulator } from "../../src/local/simulator.ts";
import type { Clock, PollLease } from "../../src/ports.ts";
import { pollCycle } from "../../src/usecases/poll-cycle.ts";
import { withPollLease } from "../../src/usecases/poll-lease.ts";
import { createTestPlatform, type TestPlatform } from "../support/platform.ts";

/**
 * The poll lease on DynamoDB Local: an overlapping tick skips (it lists nothing), the lease ends
 * with the tick that holds it, and one left behind by a poller that died runs out by itself.
 */
describe("poll lease", () => {
  let simulator: RespondentSimulator;
  let platform: TestPlatform;
  let now: Date;
  const clock: Clock = { now: () => now };
  const secondsLater = (seconds: number) => {
    now = new Date(now.getTime() + seconds * 1000);
  };
  const listings = () => simulator.requests.filter((request) => request.path === "/v1/messaging/conversations").length;
  const lease = (): PollLease => {
    const found = composePoller(platform).lease;
    if (!found) throw new Error("composePoller gave no lease");
    return found;
  };
  const tick = (holder: string, run: () => Promise<unknown>) =>
    withPollLease(lease(), { holder, until: new Date(now.getTime() + 55_000), log: platform.log }, run);

  beforeAll(async () => {
    simulator = await startRespondentSimulator({ apiKey: "lease-key-5d01a2", apiSecret: "lease-secret-77c3e9" });
  });
  afterAll(async () => {
    await simulator.close();
  });

  beforeEach(async () => {
    // Near the real time: DynamoDB Local deletes items whose TTL (a day after the lease's end) has passed.
    now = new Date(Math.floor(Date.now() / 1000) * 1000);
    platform = await createTestPlatform({
      prefix: "poll-lease",
      respondent: { url: simulator.url, apiKey: simulator.apiKey, apiSecret: simulator.apiSecret },
      clock,
    });
    await subscriptionStore(platform).add(
      subscriptionSchema.parse({ projectId: "*", channelId: "C0LEASE0001", createdAt: now.toISOString() }),
    );
    return () => platform.close();
  });

  it("an overlapping tick skips without listing anything; the next tick after the first one polls", async () => {
    const first = composePoller(platform);
    const second = composePoller(platform);
    let letFirstPoll: () => void = () => {};
    const firstMayPoll = new Promise<void>((resolve) => {
      letFirstPoll = resolve;
    });
    let firstHolds: () => void = () => {};
    const firstHoldsLease = new Promise<void>((resolve) => {
      firstHolds = resolve;
    });
    const firstTick = withPollLease(
      first.lease,
      { holder: "tick-1", until: new Date(now.getTime() + 55_000), log: platform.log },
      async () => {
        firstHolds();
        await firstMayPoll;
        return pollCycle(first);
      },
    );
    await firstHoldsLease;

    const before = listings();
    let secondPolled = false;
    const overlapping = await withPollLease(
      second.lease,
      { holder: "tick-2", until: new Date(now.getTime() + 55_000), log: platform.log },
      async () => {
        secondPolled = true;
        return pollCycle(second);
      },
    );
    expect(overlapping).toEqual({
      skipped: true,
      heldBy: { holder: "tick-1", until: new Date(now.getTime() + 55_000) },
    });
    expect(secondPolled).toBe(false);
    expect(listings()).toBe(before);

    letFirstPoll();
    const done = await firstTick;
    expect(done.skipped).toBe(false);
    expect(listings()).toBeGreaterThan(before);

    // The first tick ended its lease: the next one polls at once, without waiting for it to run out.
    const afterFirst = listings();
    const next = await withPollLease(
      second.lease,
      { holder: "tick-3", until: new Date(now.getTime() + 55_000), log: platform.log },
      () => pollCycle(second),
    );
    expect(next.skipped).toBe(false);
    expect(listings()).toBeGreaterThan(afterFirst);
  });

  it("a lease left by a poller that died runs out at its end, and the next tick then takes it", async () => {
    expect(await lease().acquire("died-holding-it", new Date(now.getTime() + 55_000))).toEqual({ acquired: true });

    secondsLater(30);
    let polled = 0;
    const during = await tick("tick-a", async () => polled++);
    expect(during.skipped).toBe(true);
    expect(polled).toBe(0);

    secondsLater(26);
    const after = await tick("tick-b", async () => polled++);
    expect(after).toEqual({ skipped: false, value: 0 });
    expect(polled).toBe(1);
  });

  it("a tick whose lease was taken over does not end the new holder's lease", async () => {
    const stale = lease();
    expect(await stale.acquire("slow-tick", new Date(now.getTime() + 55_000))).toEqual({ acquired: true });
    secondsLater(56);
    expect(await lease().acquire("new-tick", new Date(now.getTime() + 55_000))).toEqual({ acquired: true });

    await stale.release("slow-tick");

    const taken = await lease().acquire("third-tick", new Date(now.getTime() + 55_000));
    expect(taken).toEqual({ acquired: false, heldBy: { holder: "new-tick", until: new Date(now.getTime() + 55_000) } });
  });

  it("a tick that keeps its lease until its end (the Lambda's) leaves it taken after it finished", async () => {
    const first = await withPollLease(
      lease(),
      { holder: "lambda-tick", until: new Date(now.getTime() + 55_000), log: platform.log, keepUntilEnd: true },
      async () => "polled",
    );
    expect(first).toEqual({ skipped: false, value: "polled" });

    secondsLater(10);
    expect((await tick("late-duplicate", async () => "polled again")).skipped).toBe(true);
    secondsLater(50);
    expect(await tick("next-minute", async () => "polled")).toEqual({ skipped: false, value: "polled" });
  });

  it("a holder taking its own lease again extends it (a retried acquire after a lost answer)", async () => {
    expect(await lease().acquire("tick-x", new Date(now.getTime() + 10_000))).toEqual({ acquired: true });
    expect(await lease().acquire("tick-x", new Date(now.getTime() + 55_000))).toEqual({ acquired: true });
    secondsLater(20);
    const other = await lease().acquire("tick-y", new Date(now.getTime() + 55_000));
    expect(other.acquired).toBe(false);
  });
});
