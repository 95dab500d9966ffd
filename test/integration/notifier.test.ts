import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { CountingMetrics } from "../../src/adapters/observability.ts";
import { composeNotifier } from "../../src/app/compose.ts";
import { POSSIBLY_REPEATED_NOTE } from "../../src/domain/alert.ts";
import { type FakeSlack, startFakeSlack } from "../../src/local/fake-slack.ts";
import type { Clock } from "../../src/ports.ts";
import { decisionFor } from "../../src/usecases/deliver.ts";
import { type NotifyPorts, notify, type TargetOutcome } from "../../src/usecases/notify.ts";
import { replyEvent as event } from "../support/builders.ts";
import { createTestPlatform, type TestPlatform } from "../support/platform.ts";

const TOKEN = "xoxb-notifier-test-token";
const ALERTS = "C0ALERTS001";
const RESEARCH = "C0RESEARCH1";
const GONE = "C0GONE00001";
const OUTSIDE = "C0OUTSIDE01";
const LEASE_SECONDS = 60;

const statuses = (outcomes: readonly TargetOutcome[]) => outcomes.map((outcome) => outcome.status);
const retried = (outcomes: readonly TargetOutcome[]) => outcomes.some((outcome) => outcome.status === "retry");

describe("notify: every reply in the right channel, exactly once", () => {
  let slack: FakeSlack;
  let platform: TestPlatform;
  let ports: NotifyPorts;
  let now: Date;
  const clock: Clock = { now: () => now };
  let metrics: CountingMetrics;

  beforeAll(async () => {
    slack = await startFakeSlack({
      token: TOKEN,
      channels: [ALERTS, RESEARCH, { id: OUTSIDE, isMember: false }],
      // Slack's clock is the test's: a read-back "since the claim" sees what was posted.
      clock: () => now,
    });
  });
  afterAll(async () => {
    await slack.close();
  });

  beforeEach(async () => {
    slack.reset();
    now = new Date("2026-06-01T12:00:10.000Z");
    metrics = new CountingMetrics();
    platform = await createTestPlatform({
      prefix: "notifier",
      slack: { url: slack.url, token: TOKEN, timeoutMs: 5_000 },
      clock,
      metrics,
    });
    ports = { ...composeNotifier(platform), claimLeaseSeconds: LEASE_SECONDS };
    return () => platform.close();
  });

  afterEach(() => {
    slack.reset();
  });

  it("starts a thread with a conversation's first alert and puts later replies in it, in order", async () => {
    await notify(event("conv-1", "m1", [ALERTS]), ports);
    await notify(event("conv-2", "x1", [ALERTS]), ports);
    await notify(event("conv-1", "m2", [ALERTS]), ports);
    await notify(event("conv-1", "m3", [ALERTS]), ports);

    const [first, other, second, third] = slack.posts;
    expect(first?.threadTs).toBeUndefined();
    expect(other?.threadTs).toBeUndefined();
    expect(second?.threadTs).toBe(first?.ts);
    expect(third?.threadTs).toBe(first?.ts);
    expect(slack.posts.map((post) => post.text.match(/reply (\w+)/)?.[1])).toEqual(["m1", "x1", "m2", "m3"]);
  });

  it("keeps one thread per conversation per channel", async () => {
    await notify(event("conv-1", "m1", [ALERTS, RESEARCH]), ports);
    await notify(event("conv-1", "m2", [ALERTS, RESEARCH]), ports);

    const parents = slack.posts.slice(0, 2);
    const replies = slack.posts.slice(2);
    expect(replies.map((post) => [post.channel, post.threadTs])).toEqual(
      parents.map((parent) => [parent.channel, parent.ts]),
    );
  });

  it("posts at the top level when the subscription turned threads off", async () => {
    const flat = (messageUid: string) => {
      const base = event("conv-1", messageUid, [ALERTS]);
      return { ...base, targets: base.targets.map((target) => ({ ...target, threadPerConversation: false })) };
    };
    await notify(flat("m1"), ports);
    await notify(flat("m2"), ports);
    expect(slack.posts.map((post) => post.threadTs)).toEqual([undefined, undefined]);
  });

  it("turns off link unfurling for participant content", async () => {
    await notify(event("conv-1", "m1", [ALERTS]), ports);
    expect(slack.posts[0]).toMatchObject({ unfurlLinks: false, unfurlMedia: false });
  });

  it("never posts a redelivered event twice in one channel", async () => {
    const reply = event("conv-1", "m1", [ALERTS, RESEARCH]);
    await notify(reply, ports);
    const again = await notify(reply, ports);

    expect(slack.posts).toHaveLength(2);
    expect(statuses(again)).toEqual(["already_posted", "already_posted"]);
    expect(metrics.get("AlertsSkippedDuplicate")).toBe(2);
  });

  it("lets only one of two racing notifiers post the same alert", async () => {
    const reply = event("conv-1", "m1", [ALERTS]);
    const results = await Promise.all([notify(reply, ports), notify(reply, composeNotifier(platform))]);

    expect(slack.posts).toHaveLength(1);
    // The loser either saw the alert already posted or was told to come back (claim in progress).
    const [loser] = results.filter((outcomes) => outcomes[0]?.status !== "posted");
    expect(loser?.map((outcome) => outcome.status)).toEqual([expect.stringMatching(/^(already_posted|retry)$/)]);
    await notify(reply, ports);
    expect(slack.posts).toHaveLength(1);
  });

  it("reports a channel that cannot take alerts, names the fix, and still alerts the other channels", async () => {
    const outcomes = await notify(event("conv-1", "m1", [GONE, ALERTS, OUTSIDE]), ports);

    expect(statuses(outcomes)).toEqual(["failed_permanently", "posted", "failed_permanently"]);
    const [gone, , outside] = outcomes;
    expect(gone?.status === "failed_permanently" && gone.error.message).toMatch(
      new RegExp(`${GONE}.*channel_not_found.*channel id`),
    );
    expect(outside?.status === "failed_permanently" && outside.error.message).toMatch(/not_in_channel.*invite/i);
    expect(slack.posts.map((post) => post.channel)).toEqual([ALERTS]);
    expect(metrics.get("PermanentFailures")).toBe(2);
  });

  it("does not retry a permanent failure forever: the event completes", async () => {
    const outcomes = await notify(event("conv-1", "m1", [GONE]), ports);

    expect(decisionFor(outcomes, LEASE_SECONDS)).toEqual({ action: "acknowledge" });
  });

  it("gives the event back with Slack's Retry-After on a long rate limit, holds the channel meanwhile, and posts it once on the retry", async () => {
    slack.failNext("chat.postMessage", 1, { status: 429, retryAfter: 7 });
    const reply = event("conv-1", "m1", [ALERTS]);

    const limited = await notify(reply, ports);
    expect(decisionFor(limited, 1)).toMatchObject({ action: "retry", afterSeconds: 7 });
    expect(slack.posts).toHaveLength(0);
    // Within those 7 s this process does not even ask Slack again for that channel.
    const calls = slack.calls["chat.postMessage"];
    expect(statuses(await notify(reply, ports))).toEqual(["retry"]);
    expect(slack.calls["chat.postMessage"]).toBe(calls);

    // The redelivery (here in a fresh process, as after the wait) posts it once.
    await notify(reply, { ...composeNotifier(platform), claimLeaseSeconds: LEASE_SECONDS });
    expect(slack.posts).toHaveLength(1);
    expect(slack.posts[0]?.text).not.toContain(POSSIBLY_REPEATED_NOTE);
  });

  it("waits out a short Retry-After in place and posts, since a rate-limited post certainly did not post", async () => {
    slack.failNext("chat.postMessage", 1, { status: 429, retryAfter: 1 });

    expect(statuses(await notify(event("conv-1", "m1", [ALERTS]), ports))).toEqual(["posted"]);
    expect(slack.posts).toHaveLength(1);
  });

  it("retries only the channel that failed when another channel of the event already got its alert", async () => {
    slack.failNext("chat.postMessage", 1, { status: 429, retryAfter: 30 });
    const reply = event("conv-1", "m1", [ALERTS, RESEARCH]);

    expect(statuses(await notify(reply, ports))).toEqual(["retry", "posted"]);
    expect(slack.posts.map((post) => post.channel)).toEqual([RESEARCH]);

    const redelivered = { ...composeNotifier(platform), claimLeaseSeconds: LEASE_SECONDS };
    expect(statuses(await notify(reply, redelivered))).toEqual(["posted", "already_posted"]);
    expect(slack.posts.map((post) => post.channel).sort()).toEqual([ALERTS, RESEARCH].sort());
  });

  it("after Slack took a post but its answer was lost, finds it on the next attempt and posts nothing more, unmarked", async () => {
    slack.failNext("chat.postMessage", 1, { acceptThenFail: true });
    const reply = event("conv-1", "m1", [ALERTS]);

    const failed = await notify(reply, ports);
    expect(retried(failed)).toBe(true);
    expect(failed[0]?.status === "retry" && failed[0].error.mayHaveTakenEffect).toBe(true);
    expect(slack.posts).toHaveLength(1);
    // The retry comes back once a post Slack was still carrying out has landed, not after the lease.
    expect(decisionFor(failed, 1)).toMatchObject({ action: "retry", afterSeconds: 5 });

    now = new Date(now.getTime() + 5_000);
    expect(statuses(await notify(reply, ports))).toEqual(["already_posted"]);
    expect(slack.posts).toHaveLength(1);
    expect(metrics.get("AlertsFoundOnReadBack")).toBe(1);
    expect(metrics.get("AlertsPossiblyRepeated")).toBe(0);
    // The found post is now in the ledger: later redeliveries skip it without reading Slack.
    const reads = slack.calls["conversations.history"];
    expect(statuses(await notify(reply, ports))).toEqual(["already_posted"]);
    expect(slack.calls["conversations.history"]).toBe(reads);
    // ...and the conversation's next alert goes into the thread the found post started.
    await notify(event("conv-1", "m2", [ALERTS]), ports);
    expect(slack.posts[1]?.threadTs).toBe(slack.posts[0]?.ts);
  });

  it("after a timeout or a 500 that did not post, posts the alert once, unmarked, on the next attempt", async () => {
    slack.failNext("chat.postMessage", 1, { status: 500 });
    const reply = event("conv-1", "m1", [ALERTS]);

    expect(statuses(await notify(reply, ports))).toEqual(["retry"]);
    expect(slack.posts).toHaveLength(0);

    now = new Date(now.getTime() + 5_000);
    expect(statuses(await notify(reply, ports))).toEqual(["posted"]);
    expect(slack.posts).toHaveLength(1);
    expect(JSON.stringify(slack.posts[0]?.blocks)).not.toContain(POSSIBLY_REPEATED_NOTE);
  });

  it("posts a retry marked 'may repeat' only when the channel cannot be read back (no history scope)", async () => {
    const blind = await startFakeSlack({ token: TOKEN, channels: [ALERTS], scopes: ["chat:write"], clock: () => now });
    try {
      const blindPlatform = {
        ...platform,
        slack: {
          settings: { apiUrl: `${blind.url}/api/`, timeoutMs: 5_000, postIntervalMs: 0 },
          token: async () => TOKEN,
        },
      };
      const blindPorts = { ...composeNotifier(blindPlatform), claimLeaseSeconds: LEASE_SECONDS };
      blind.failNext("chat.postMessage", 1, { acceptThenFail: true });
      const reply = event("conv-1", "m1", [ALERTS]);

      expect(statuses(await notify(reply, blindPorts))).toEqual(["retry"]);
      now = new Date(now.getTime() + 5_000);
      expect(statuses(await notify(reply, blindPorts))).toEqual(["posted"]);

      expect(blind.posts).toHaveLength(2);
      expect(JSON.stringify(blind.posts[1]?.blocks)).toContain(POSSIBLY_REPEATED_NOTE);
      expect(metrics.get("AlertsPossiblyRepeated")).toBe(1);
    } finally {
      await blind.close();
    }
  });

  it("keeps the alert for a retry on a revoked token, counted as a permanent failure, token never shown", async () => {
    const revoked = composeNotifier({
      ...platform,
      slack: platform.slack && { ...platform.slack, token: async () => "xoxb-revoked" },
    });
    const reply = event("conv-1", "m1", [ALERTS]);
    const [outcome] = await notify(reply, revoked);

    expect(outcome?.status).toBe("retry");
    const message = outcome?.status === "retry" ? outcome.error.message : "";
    expect(message).toMatch(/SLACK_BOT_TOKEN/);
    expect(message).not.toContain("xoxb-revoked");
    expect(metrics.get("PermanentFailures")).toBe(1);
    expect(slack.posts).toHaveLength(0);

    // Once the token is fixed, the same event is delivered: nothing was lost.
    await notify(reply, ports);
    expect(slack.posts).toHaveLength(1);
  });
});
