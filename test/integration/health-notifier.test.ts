import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { composeNotifier, subscriptionPauses, subscriptionStore } from "../../src/app/compose.ts";
import type { NewReplyEvent } from "../../src/domain/events.ts";
import { pollScopes, type Subscription, subscriptionSchema } from "../../src/domain/subscriptions.ts";
import { type FakeSlack, startFakeSlack } from "../../src/local/fake-slack.ts";
import type { Clock, SubscriptionStore } from "../../src/ports.ts";
import { type DeliveryDecision, decideDelivery } from "../../src/usecases/deliver.ts";
import { queuedMessage, replyEvent } from "../support/builders.ts";
import { interceptSends, type SentCommand } from "../support/clients.ts";
import { isSubscriptionsQuery } from "../support/dynamodb.ts";
import { createTestPlatform, type TestPlatform } from "../support/platform.ts";

const TOKEN = "xoxb-health-notifier-test";
const OPS = "C0OPSNOTIFY";
const ALERTS = "C0ALERTS001";
const GONE = "C0GONE00001";
const OUTSIDE = "C0OUTSIDE01";

function event(messageUid: string, channels: string[]): NewReplyEvent {
  return replyEvent("conv-1", messageUid, channels);
}

describe("the notifier tells the ops channel what needs a person", () => {
  let slack: FakeSlack;
  let platform: TestPlatform;
  let store: SubscriptionStore;
  /** Runs ahead of every DynamoDB request of the notifiers (to hold their reads for a race). */
  let beforeDynamo: ((command: SentCommand) => Promise<void>) | undefined;
  let now: Date;
  const clock: Clock = { now: () => now };

  const opsPosts = () => slack.posts.filter((post) => post.channel === OPS).map((post) => post.text);
  const stored = async (projectId: string, channelId: string): Promise<Subscription | undefined> =>
    (await store.list()).find((each) => each.projectId === projectId && each.channelId === channelId);

  /** One notifier process: its ports (with the ops channel's watch) from compose, running the delivery policy. */
  function notifier() {
    const ports = composeNotifier(platform);
    return {
      ports,
      deliver: (reply: NewReplyEvent): Promise<DeliveryDecision> => decideDelivery(queuedMessage(reply), ports),
    };
  }

  beforeAll(async () => {
    slack = await startFakeSlack({ token: TOKEN, channels: [ALERTS, OPS, { id: OUTSIDE, isMember: false }] });
  });
  afterAll(async () => {
    await slack.close();
  });

  beforeEach(async () => {
    beforeDynamo = undefined;
    platform = await createTestPlatform({
      prefix: "health-notifier",
      slack: { url: slack.url, token: TOKEN, timeoutMs: 1_000 },
      opsChannelId: OPS,
      clock,
      wrapDynamo: (raw) => interceptSends(raw, (command) => beforeDynamo?.(command)),
    });
    store = subscriptionStore(platform);
    for (const [projectId, channelId] of [
      ["project-a", ALERTS],
      ["project-a", GONE],
      ["project-b", GONE],
      ["project-a", OUTSIDE],
    ] as const) {
      await store.add(subscriptionSchema.parse({ projectId, channelId, createdAt: "2026-05-01T00:00:00.000Z" }));
    }
    slack.reset();
    now = new Date("2026-06-01T12:00:10.000Z");
    return () => platform.close();
  });

  it("pauses every subscription of a channel Slack does not find, says so once, and still alerts the other channels", async () => {
    const { deliver } = notifier();

    const first = await deliver(event("m1", [GONE, ALERTS]));
    const second = await deliver(event("m2", [GONE, ALERTS]));

    // The dead channel is given up (not retried), the other one is alerted: the message is done.
    expect([first, second]).toEqual([{ action: "acknowledge" }, { action: "acknowledge" }]);
    expect(slack.posts.filter((post) => post.channel === ALERTS)).toHaveLength(2);
    expect(slack.posts.filter((post) => post.channel === GONE)).toEqual([]);
    expect(opsPosts()).toEqual([
      `⚠️ Alerts to <#${GONE}> are paused: Slack does not find the channel (a wrong or deleted id, or a private channel the app was not invited to) (channel_not_found). Invite the app to the channel, or subscribe another channel, then run \`respondent-notifier subscriptions resume --project project-a --channel ${GONE}\` and \`respondent-notifier subscriptions resume --project project-b --channel ${GONE}\`.`,
    ]);
    for (const projectId of ["project-a", "project-b"]) {
      expect(await stored(projectId, GONE)).toMatchObject({
        paused: true,
        disabledReason: expect.stringContaining(`Slack channel ${GONE} cannot receive alerts (channel_not_found)`),
        disabledAt: "2026-06-01T12:00:10.000Z",
      });
    }
    expect(await stored("project-a", ALERTS)).toMatchObject({ paused: false });
  });

  it("stops polling for a project whose only channel was paused", async () => {
    const { deliver } = notifier();

    await deliver(event("m1", [GONE]));

    expect(pollScopes(await store.list())).toEqual(["project-a"]);
  });

  it("names the fix for an app that was not invited", async () => {
    const { deliver } = notifier();

    await deliver(event("m1", [OUTSIDE]));

    expect(opsPosts()).toEqual([
      expect.stringMatching(
        /^⚠️ Alerts to <#C0OUTSIDE01> are paused: the app is not in the channel \(not_in_channel\)\. Invite it \(`\/invite @<app>` in the channel\), then run `respondent-notifier subscriptions resume --project project-a --channel C0OUTSIDE01`\.$/,
      ),
    ]);
  });

  it("announces a dead channel once when two notifiers meet it at the same moment", async () => {
    // Both read the subscriptions before either pauses one: the race the conditional update settles.
    let arrived = 0;
    let release: () => void = () => {};
    const bothListed = new Promise<void>((resolve) => {
      release = resolve;
    });
    beforeDynamo = async (command) => {
      if (!isSubscriptionsQuery(command)) return;
      arrived += 1;
      if (arrived === 2) release();
      await bothListed;
    };

    await Promise.all([notifier().deliver(event("m1", [GONE])), notifier().deliver(event("m2", [GONE]))]);

    expect(opsPosts()).toHaveLength(1);
    expect(opsPosts()[0]).toContain("--project project-a");
    expect(opsPosts()[0]).toContain("--project project-b");
  });

  it("resumes a paused subscription, clearing its reason, and tells a resume of an active or missing one apart", async () => {
    const { deliver } = notifier();
    const pauses = subscriptionPauses(platform);
    await deliver(event("m1", [GONE]));

    expect(await pauses.resume("project-a", GONE, new Date("2026-06-01T13:00:00.000Z"))).toBe("resumed");
    expect(await pauses.resume("project-a", GONE, new Date("2026-06-01T13:00:01.000Z"))).toBe("was_active");
    expect(await pauses.resume("project-z", GONE, new Date("2026-06-01T13:00:02.000Z"))).toBe("not_found");

    const resumed = await stored("project-a", GONE);
    expect(resumed).toMatchObject({ paused: false, updatedAt: "2026-06-01T13:00:01.000Z" });
    expect(resumed).not.toHaveProperty("disabledReason");
    expect(resumed).not.toHaveProperty("disabledAt");
    expect(await stored("project-b", GONE)).toMatchObject({ paused: true });
  });

  it("does not pause a subscription someone paused by hand, nor announce it", async () => {
    await store.put(
      subscriptionSchema.parse({
        projectId: "project-a",
        channelId: OUTSIDE,
        paused: true,
        createdAt: "2026-05-01T00:00:00.000Z",
      }),
    );

    await notifier().deliver(event("m1", [OUTSIDE]));

    expect(opsPosts()).toEqual([]);
    expect(await stored("project-a", OUTSIDE)).not.toHaveProperty("disabledReason");
  });

  it("reports a rejected token once and its recovery, pausing nothing", async () => {
    const { deliver } = notifier();
    slack.failNext("chat.postMessage", 1, { error: "invalid_auth" });
    // A rejected token keeps the alert for a retry (it is not the alert's fault).
    expect(await deliver(event("m1", [ALERTS]))).toMatchObject({ action: "retry" });
    now = new Date("2026-06-01T12:01:10.000Z");
    slack.failNext("chat.postMessage", 1, { error: "token_revoked" });
    expect(await deliver(event("m2", [ALERTS]))).toMatchObject({ action: "retry" });
    now = new Date("2026-06-01T12:14:10.000Z");

    await deliver(event("m3", [ALERTS]));

    expect(opsPosts()).toEqual([
      "🔴 Slack posting is failing since 12:00 UTC: Slack rejected the bot token (invalid_auth): check SLACK_BOT_TOKEN (or the Slack secret) and that the app is still installed in the workspace\n_One more message will follow here when it recovers._",
      expect.stringMatching(/^🟢 Slack posting recovered after 14 min \(failing since 12:00 UTC: .*token_revoked/),
    ]);
    expect((await store.list()).filter((subscription) => subscription.paused)).toEqual([]);
  });

  it("reports a revoked token that could not announce itself once it works again", async () => {
    const { deliver } = notifier();
    // The alert and the ops message are refused alike: it is the same token.
    slack.failNext("chat.postMessage", 2, { error: "token_revoked" });
    expect(await deliver(event("m1", [ALERTS]))).toMatchObject({ action: "retry" });
    expect(opsPosts()).toEqual([]);
    now = new Date("2026-06-01T12:05:10.000Z");

    await deliver(event("m2", [ALERTS]));

    expect(opsPosts()).toEqual([
      expect.stringMatching(/^🟢 Slack posting recovered after 5 min \(failing since 12:00 UTC: .*token_revoked/),
    ]);
  });
});
