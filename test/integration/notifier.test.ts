import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DynamoDeliveryLedger } from "../../src/adapters/dynamo/ledger.ts";
import { DynamoThreadStore } from "../../src/adapters/dynamo/thread-store.ts";
import { CountingMetrics, consoleLog } from "../../src/adapters/observability.ts";
import { createSlackPoster } from "../../src/adapters/slack.ts";
import { POSSIBLY_REPEATED_NOTE } from "../../src/domain/alert.ts";
import { type FakeSlack, startFakeSlack } from "../../src/local/fake-slack.ts";
import type { Clock } from "../../src/ports.ts";
import { type NotifyPorts, notify, RetryDeliveryError } from "../../src/usecases/notify.ts";
import { replyEvent as event } from "../support/builders.ts";
import { createTestTable } from "../support/dynamodb.ts";

const TOKEN = "xoxb-notifier-test-token";
const ALERTS = "C0ALERTS001";
const RESEARCH = "C0RESEARCH1";
const GONE = "C0GONE00001";
const OUTSIDE = "C0OUTSIDE01";

describe("notify: every reply in the right channel, exactly once", () => {
  let slack: FakeSlack;
  let ports: NotifyPorts;
  let metrics: CountingMetrics;
  let now: Date;
  const clock: Clock = { now: () => now };

  beforeAll(async () => {
    slack = await startFakeSlack({
      token: TOKEN,
      channels: [ALERTS, RESEARCH, { id: OUTSIDE, isMember: false }],
    });
  });
  afterAll(async () => {
    await slack.close();
  });

  beforeEach(async () => {
    const { client, tableName } = await createTestTable("notifier");
    slack.reset();
    now = new Date("2026-06-01T12:00:10.000Z");
    metrics = new CountingMetrics();
    const log = consoleLog({ level: "silent" });
    ports = {
      ledger: new DynamoDeliveryLedger(client, tableName),
      threads: new DynamoThreadStore(client, tableName),
      slack: createSlackPoster({ token: TOKEN, apiUrl: `${slack.url}/api/`, timeoutMs: 5_000, log }),
      clock,
      log,
      metrics,
      claimLeaseSeconds: 60,
    };
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
    expect(again.outcomes.map((outcome) => outcome.status)).toEqual(["already_posted", "already_posted"]);
    expect(metrics.get("AlertsSkippedDuplicate")).toBe(2);
  });

  it("lets only one of two racing notifiers post the same alert", async () => {
    const reply = event("conv-1", "m1", [ALERTS]);
    const results = await Promise.allSettled([notify(reply, ports), notify(reply, { ...ports })]);

    expect(slack.posts).toHaveLength(1);
    const rejected = results.filter((result) => result.status === "rejected");
    // The loser either saw the alert already posted or was told to come back (claim in progress).
    for (const result of rejected) expect(result.reason).toBeInstanceOf(RetryDeliveryError);
    await notify(reply, ports);
    expect(slack.posts).toHaveLength(1);
  });

  it("reports a channel that cannot take alerts, names the fix, and still alerts the other channels", async () => {
    const result = await notify(event("conv-1", "m1", [GONE, ALERTS, OUTSIDE]), ports);

    expect(result.outcomes.map((outcome) => outcome.status)).toEqual([
      "failed_permanently",
      "posted",
      "failed_permanently",
    ]);
    const [gone, , outside] = result.outcomes;
    expect(gone?.status === "failed_permanently" && gone.reason).toMatch(
      new RegExp(`${GONE}.*channel_not_found.*channel id`),
    );
    expect(outside?.status === "failed_permanently" && outside.reason).toMatch(/not_in_channel.*invite/i);
    expect(slack.posts.map((post) => post.channel)).toEqual([ALERTS]);
    expect(metrics.get("PermanentFailures")).toBe(2);
  });

  it("does not retry a permanent failure forever: the event completes", async () => {
    await expect(notify(event("conv-1", "m1", [GONE]), ports)).resolves.toBeDefined();
  });

  it("gives the event back with Slack's Retry-After on a rate limit, and posts it once on the retry", async () => {
    slack.failNext("chat.postMessage", 1, { status: 429, retryAfter: 7 });
    const reply = event("conv-1", "m1", [ALERTS]);

    const error = await notify(reply, ports).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RetryDeliveryError);
    expect((error as RetryDeliveryError).retryAfterSeconds).toBe(7);
    expect(slack.posts).toHaveLength(0);

    await notify(reply, ports);
    expect(slack.posts).toHaveLength(1);
    expect(slack.posts[0]?.text).not.toContain(POSSIBLY_REPEATED_NOTE);
  });

  it("retries only the channel that failed when another channel of the event already got its alert", async () => {
    slack.failNext("chat.postMessage", 1, { status: 429, retryAfter: 1 });
    const reply = event("conv-1", "m1", [ALERTS, RESEARCH]);

    await expect(notify(reply, ports)).rejects.toBeInstanceOf(RetryDeliveryError);
    expect(slack.posts.map((post) => post.channel)).toEqual([RESEARCH]);

    await notify(reply, ports);
    expect(slack.posts.map((post) => post.channel).sort()).toEqual([ALERTS, RESEARCH].sort());
  });

  it("retries a Slack 5xx and a timeout, and marks the retry as possibly repeated only when Slack may have posted", async () => {
    slack.failNext("chat.postMessage", 1, { acceptThenFail: true });
    const reply = event("conv-1", "m1", [ALERTS]);

    await expect(notify(reply, ports)).rejects.toBeInstanceOf(RetryDeliveryError);
    expect(slack.posts).toHaveLength(1);

    // Within the claim's lease nobody re-posts: the first attempt might still be confirming.
    await expect(notify(reply, ports)).rejects.toBeInstanceOf(RetryDeliveryError);
    expect(slack.posts).toHaveLength(1);

    // After the lease the retry posts again, visibly marked: the rare duplicate is never silent.
    now = new Date(now.getTime() + 61_000);
    await notify(reply, ports);
    expect(slack.posts).toHaveLength(2);
    expect(JSON.stringify(slack.posts[1]?.blocks)).toContain(POSSIBLY_REPEATED_NOTE);
    expect(metrics.get("AlertsPossiblyRepeated")).toBe(1);

    await notify(reply, ports);
    expect(slack.posts).toHaveLength(2);
  });

  it("keeps the alert for a retry on a revoked token, counted as a permanent failure, token never shown", async () => {
    const revoked = {
      ...ports,
      slack: createSlackPoster({
        token: "xoxb-revoked",
        apiUrl: `${slack.url}/api/`,
        timeoutMs: 5_000,
        log: ports.log,
      }),
    };
    const reply = event("conv-1", "m1", [ALERTS]);
    const error = await notify(reply, revoked).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(RetryDeliveryError);
    expect((error as RetryDeliveryError).message).toMatch(/SLACK_BOT_TOKEN/);
    expect((error as RetryDeliveryError).message).not.toContain("xoxb-revoked");
    expect(metrics.get("PermanentFailures")).toBe(1);
    expect(slack.posts).toHaveLength(0);

    // Once the token is fixed, the same event is delivered: nothing was lost.
    await notify(reply, ports);
    expect(slack.posts).toHaveLength(1);
  });
});
