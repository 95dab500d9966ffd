import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { consoleLog } from "../../src/adapters/observability.ts";
import { composeNotifier, deliveryQueue, digestTick, muteStore } from "../../src/app/compose.ts";
import { type AlertTarget, type DigestDue, type NewReplyEvent, serializeEvent } from "../../src/domain/events.ts";
import { type FakeSlack, startFakeSlack } from "../../src/local/fake-slack.ts";
import type { Clock } from "../../src/ports.ts";
import { type DeliveryPorts, decideDelivery, drainQueue } from "../../src/usecases/deliver.ts";
import { queueDueDigests } from "../../src/usecases/digest.ts";
import { notify } from "../../src/usecases/notify.ts";
import { queuedMessage, replyEvent } from "../support/builders.ts";
import { createTestPlatform, type TestPlatform } from "../support/platform.ts";

const TOKEN = "xoxb-digests";
const CHANNEL = "C0DIGEST001";
const BERLIN = "Europe/Berlin";

/** A reply written at `createdAt`, for a subscription with these options. */
function reply(
  conversationUid: string,
  messageUid: string,
  createdAt: string,
  options: Partial<AlertTarget> = {},
): NewReplyEvent {
  const event = replyEvent(conversationUid, messageUid, [CHANNEL]);
  return {
    ...event,
    message: { ...event.message, createdAt },
    targets: event.targets.map((target) => ({ ...target, ...options })),
  };
}

describe("quiet hours and digests: held durably, delivered once as one message", () => {
  let slack: FakeSlack;
  let platform: TestPlatform;
  let ports: DeliveryPorts;
  let now: Date;
  const clock: Clock = { now: () => now };

  beforeAll(async () => {
    slack = await startFakeSlack({ token: TOKEN, channels: [CHANNEL], clock: () => now });
  });
  afterAll(async () => {
    await slack.close();
  });
  beforeEach(async () => {
    slack.reset();
    platform = await createTestPlatform({
      prefix: "digest",
      slack: { url: slack.url, token: TOKEN },
      clock,
      log: consoleLog({ level: process.env.DEBUG_DIGEST ? "debug" : "silent" }),
    });
    ports = { ...composeNotifier(platform), timeZone: "UTC", sleep: async () => undefined };
    return () => platform.close();
  });

  /** The poller's tick: queue what is due; then the notifier drains the queue. */
  async function tick(): Promise<number> {
    const queued = await queueDueDigests(digestTick(platform));
    // Until the queue is empty (a message just sent may take a moment to be receivable).
    const drained = await drainQueue(deliveryQueue(platform), ports, { waitUntil: Date.now() + 20_000 });
    expect(drained.pending).toBe(0);
    return queued;
  }

  const texts = () => slack.posts.map((post) => post.text);

  it("quiet hours across midnight: replies are held, then posted as one digest at 08:00 local, each into its thread", async () => {
    const quiet = { quietHours: "19:00-08:00", timezone: BERLIN };
    now = new Date("2026-12-01T21:30:00.000Z"); // 22:30 CET
    const first = await notify(reply("conv-1", "m1", "2026-12-01T21:29:00.000Z", quiet), ports);
    now = new Date("2026-12-01T23:30:00.000Z"); // 00:30 CET, the next day
    await notify(reply("conv-2", "x1", "2026-12-01T23:29:00.000Z", quiet), ports);
    now = new Date("2026-12-02T05:00:00.000Z"); // 06:00 CET
    await notify(reply("conv-1", "m2", "2026-12-02T04:59:00.000Z", quiet), ports);
    // A redelivery of a held reply: still held once, nothing posted.
    const again = await notify(reply("conv-1", "m1", "2026-12-01T21:29:00.000Z", quiet), ports);

    expect(first.map((outcome) => outcome.status)).toEqual(["held"]);
    expect(again.map((outcome) => outcome.status)).toEqual(["held"]);
    expect(slack.posts).toEqual([]);

    now = new Date("2026-12-02T06:59:00.000Z"); // 07:59 CET
    expect(await tick()).toBe(0);
    expect(slack.posts).toEqual([]);

    now = new Date("2026-12-02T07:00:30.000Z"); // 08:00 CET
    expect(await tick()).toBe(1);
    const [digest, ...threaded] = slack.posts;
    expect(digest?.threadTs).toBeUndefined();
    expect(digest?.text).toContain("Quiet hours are over: 3 replies in 2 conversations");
    const digestBlocks = JSON.stringify(digest?.blocks);
    expect(digestBlocks).toContain("2 replies, latest Wed 2 Dec, 05:59 CET");
    expect(digestBlocks).toContain("1 reply, latest Wed 2 Dec, 00:29 CET");
    expect(digestBlocks).toContain("Since Tue 1 Dec, 22:30 CET");
    // Neither conversation had a thread yet: their replies go into the digest's thread, in order.
    expect(threaded.map((post) => [post.threadTs, post.text.match(/reply (\w+)/)?.[1]])).toEqual([
      [digest?.ts, "m1"],
      [digest?.ts, "x1"],
      [digest?.ts, "m2"],
    ]);

    // Everything is done once: a later tick, a redelivered digest, a redelivered reply post nothing.
    const posted = slack.posts.length;
    expect(await tick()).toBe(0);
    const due: DigestDue = {
      version: 1,
      kind: "digest",
      digestId: `${reply("conv-1", "m1", "", quiet).targets[0]?.subscriptionId}@2026-12-02T07:00:00.000Z`,
      subscriptionId: reply("conv-1", "m1", "", quiet).targets[0]?.subscriptionId ?? "",
      channelId: CHANNEL,
      dueAt: "2026-12-02T07:00:00.000Z",
    };
    expect(await decideDelivery(queuedMessage(serializeEvent(due)), ports)).toEqual({ action: "acknowledge" });
    await notify(reply("conv-1", "m2", "2026-12-02T04:59:00.000Z", quiet), ports);
    expect(slack.posts.length).toBe(posted);
  });

  // In the future: held items expire (DynamoDB TTL) a month after their digest was due.
  it("quiet hours across the daylight-saving changes end at 08:00 local: 06:00Z in spring, 07:00Z after fall-back", async () => {
    const quiet = { quietHours: "19:00-08:00", timezone: BERLIN };
    now = new Date("2027-03-27T20:00:00.000Z"); // 21:00 CET, the night clocks go forward
    const spring = await notify(reply("conv-1", "m1", "2027-03-27T19:59:00.000Z", quiet), ports);
    now = new Date("2027-10-30T20:00:00.000Z"); // 22:00 CEST, the night clocks go back
    const autumn = await notify(reply("conv-2", "x1", "2027-10-30T19:59:00.000Z", quiet), ports);
    expect(spring).toEqual([{ channelId: CHANNEL, status: "held", dueAt: new Date("2027-03-28T06:00:00.000Z") }]);
    expect(autumn).toEqual([{ channelId: CHANNEL, status: "held", dueAt: new Date("2027-10-31T07:00:00.000Z") }]);

    now = new Date("2027-03-28T06:00:10.000Z");
    expect(await tick()).toBe(1);
    expect(slack.posts[0]?.text).toContain("Quiet hours are over: 1 reply in 1 conversation");
    now = new Date("2027-10-31T06:59:00.000Z"); // 07:59 CET: still quiet
    expect(await tick()).toBe(0);
    now = new Date("2027-10-31T07:00:10.000Z");
    expect(await tick()).toBe(1);
  });

  it("a reply outside quiet hours goes out at once, in its conversation's thread", async () => {
    const quiet = { quietHours: "19:00-08:00", timezone: BERLIN };
    now = new Date("2026-12-02T09:00:00.000Z"); // 10:00 CET
    const outcomes = await notify(reply("conv-1", "m1", "2026-12-02T08:59:00.000Z", quiet), ports);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(["posted"]);
    expect(texts()[0]).toContain("Wed 2 Dec, 09:59 CET");
  });

  it("--digest 30m: at most one message per interval listing the conversations; the replies are shown in it once", async () => {
    const digest = { digest: "30m", threadPerConversation: false };
    now = new Date("2026-12-02T09:05:00.000Z");
    await notify(reply("conv-1", "m1", "2026-12-02T09:04:00.000Z", digest), ports);
    now = new Date("2026-12-02T09:20:00.000Z");
    await notify(reply("conv-2", "x1", "2026-12-02T09:19:00.000Z", digest), ports);
    await notify(reply("conv-1", "m2", "2026-12-02T09:19:30.000Z", digest), ports);
    expect(await tick()).toBe(0);

    now = new Date("2026-12-02T09:30:05.000Z");
    expect(await tick()).toBe(1);
    expect(slack.posts).toHaveLength(1);
    expect(slack.posts[0]?.text).toContain("Digest: 3 replies in 2 conversations");
    const blocks = JSON.stringify(slack.posts[0]?.blocks);
    expect(blocks).toContain("reply m2");
    expect(blocks).not.toContain("reply m1");

    // A reply after the digest went out waits for the next interval; a redelivered one is done.
    now = new Date("2026-12-02T09:31:00.000Z");
    const late = await notify(reply("conv-1", "m3", "2026-12-02T09:30:30.000Z", digest), ports);
    const redelivered = await notify(reply("conv-1", "m2", "2026-12-02T09:19:30.000Z", digest), ports);
    expect(late).toEqual([{ channelId: CHANNEL, status: "held", dueAt: new Date("2026-12-02T10:00:00.000Z") }]);
    expect(redelivered.map((outcome) => outcome.status)).toEqual(["already_posted"]);

    now = new Date("2026-12-02T10:00:01.000Z");
    expect(await tick()).toBe(1);
    expect(slack.posts).toHaveLength(2);
    expect(slack.posts[1]?.text).toContain("Digest: 1 reply in 1 conversation");
  });

  it("redelivery after a failed thread post: the digest is not posted again, each reply lands once", async () => {
    const digest = { digest: "30m" };
    now = new Date("2026-12-02T09:05:00.000Z");
    await notify(reply("conv-1", "m1", "2026-12-02T09:04:00.000Z", digest), ports);
    await notify(reply("conv-2", "x1", "2026-12-02T09:04:30.000Z", digest), ports);
    now = new Date("2026-12-02T09:30:05.000Z");
    expect(await queueDueDigests(digestTick(platform))).toBe(1);
    const [message] = await deliveryQueue(platform).receive(10, 0);
    if (!message) throw new Error("the due digest was not queued");

    // The digest posts; the first thread reply is accepted by Slack but its answer is lost; the second fails.
    slack.failNext("chat.postMessage", 1, { delayMs: 0 });
    slack.failNext("chat.postMessage", 1, { acceptThenFail: true });
    slack.failNext("chat.postMessage", 1, { status: 503 });
    const first = await decideDelivery(message, ports);
    expect(first.action).toBe("retry");
    expect(slack.posts.map((post) => post.text.match(/reply (\w+)|Digest/)?.[0])).toEqual(["Digest", "reply m1"]);

    now = new Date(now.getTime() + 120_000);
    const second = await decideDelivery({ ...message, receiveCount: 2 }, ports);
    expect(second).toEqual({ action: "acknowledge" });
    expect(slack.posts.map((post) => post.text.match(/reply (\w+)|Digest/)?.[0])).toEqual([
      "Digest",
      "reply m1",
      "reply x1",
    ]);
    const third = await decideDelivery({ ...message, receiveCount: 3 }, ports);
    expect(third).toEqual({ action: "acknowledge" });
    expect(slack.posts).toHaveLength(3);
  });

  it("a conversation muted while its replies were held is left out of the digest", async () => {
    const digest = { digest: "30m", threadPerConversation: false };
    now = new Date("2026-12-02T09:05:00.000Z");
    await notify(reply("conv-1", "m1", "2026-12-02T09:04:00.000Z", digest), ports);
    await notify(reply("conv-2", "x1", "2026-12-02T09:04:30.000Z", digest), ports);
    await muteStore(platform).mute({
      conversationUid: "conv-2",
      channelId: CHANNEL,
      mutedAt: now.toISOString(),
      mutedBy: "cli",
    });

    now = new Date("2026-12-02T09:30:05.000Z");
    expect(await tick()).toBe(1);
    expect(slack.posts).toHaveLength(1);
    expect(slack.posts[0]?.text).toContain("Digest: 1 reply in 1 conversation");
    expect(JSON.stringify(slack.posts[0]?.blocks)).not.toContain("reply x1");
  });
});
