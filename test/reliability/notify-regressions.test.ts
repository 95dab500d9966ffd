import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { composeNotifier } from "../../src/app/compose.ts";
import { POSSIBLY_REPEATED_NOTE } from "../../src/domain/alert.ts";
import { eventIdFor, type NewReplyEvent } from "../../src/domain/events.ts";
import { type FakeSlack, startFakeSlack } from "../../src/local/fake-slack.ts";
import { type NotifyPorts, notify, type TargetOutcome } from "../../src/usecases/notify.ts";
import { createTestPlatform, type TestPlatform } from "../support/platform.ts";
import { RecordingLog, RecordingMetrics } from "../support/reliability/stats.ts";

const TOKEN = "xoxb-regression-token";
const CHANNEL = "C0REGRESS01";

const reply: NewReplyEvent = {
  version: 1,
  eventId: eventIdFor("conv-1", "m1"),
  detectedAt: "2026-06-01T12:00:05.000Z",
  conversation: { uid: "conv-1", name: "Diary study" },
  message: { uid: "m1", createdAt: "2026-06-01T12:00:00.000Z", body: "ref m1: see you", bodyTruncated: false },
  sender: { known: true, uid: "participant-1", firstName: "Jane" },
  targets: [
    { subscriptionId: `p#${CHANNEL}`, channelId: CHANNEL, mentions: [], threadPerConversation: true, body: "full" },
  ],
};

describe("notify after an attempt that may have posted", () => {
  let slack: FakeSlack;
  let ports: NotifyPorts;
  let now = new Date("2026-06-01T12:00:10.000Z");
  const later = (seconds: number) => {
    now = new Date(now.getTime() + seconds * 1000);
  };

  let platform: TestPlatform;
  const statuses = (outcomes: TargetOutcome[]) => outcomes.map((outcome) => outcome.status);

  beforeAll(async () => {
    slack = await startFakeSlack({ token: TOKEN, channels: [CHANNEL], clock: () => now });
    platform = await createTestPlatform({
      prefix: "notify-regression",
      slack: { url: slack.url, token: TOKEN, timeoutMs: 2_000 },
      clock: { now: () => now },
      log: new RecordingLog(),
      metrics: new RecordingMetrics(),
    });
    ports = { ...composeNotifier(platform), claimLeaseSeconds: 60, sleep: async () => undefined };
  });

  afterAll(async () => {
    await slack?.close();
    await platform?.close();
  });

  it("after Slack took a post and answered 500, finds it in the channel on the next attempt and posts nothing, even when an attempt in between is rate limited (the fault property once found a repeat here)", async () => {
    // Slack posts, then answers 500: the notifier cannot know, and keeps its claim with its lease ended.
    slack.failNext("chat.postMessage", 1, { acceptThenFail: true });
    expect(statuses(await notify(reply, ports))).toEqual(["retry"]);
    expect(slack.posts).toHaveLength(1);

    // The next attempt does not wait for the lease: it reads the channel back and finds the post.
    later(5);
    slack.failNext("conversations.history", 1, { status: 429, retryAfter: 1 });
    expect(statuses(await notify(reply, ports))).toEqual(["already_posted"]);
    expect(slack.posts).toHaveLength(1);
    expect(JSON.stringify(slack.posts[0]?.blocks)).not.toContain(POSSIBLY_REPEATED_NOTE);

    // It recorded the post in the ledger: later redeliveries skip it without reading Slack.
    const reads = slack.calls["conversations.history"] ?? 0;
    expect(statuses(await notify(reply, ports))).toEqual(["already_posted"]);
    expect(slack.calls["conversations.history"] ?? 0).toBe(reads);
  });

  it("after a 500 that did not post, posts the alert once, unmarked, as soon as the read-back finds nothing", async () => {
    const other = {
      ...reply,
      eventId: eventIdFor("conv-1", "m2"),
      message: { ...reply.message, uid: "m2", body: "ref m2: thanks" },
    };
    const postsBefore = slack.posts.length;
    slack.failNext("chat.postMessage", 1, { status: 500 });
    expect(statuses(await notify(other, ports))).toEqual(["retry"]);
    expect(slack.posts).toHaveLength(postsBefore);

    later(5);
    expect(statuses(await notify(other, ports))).toEqual(["posted"]);
    expect(slack.posts).toHaveLength(postsBefore + 1);
    expect(JSON.stringify(slack.posts.at(-1)?.blocks)).not.toContain(POSSIBLY_REPEATED_NOTE);
  });
});
