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
    slack = await startFakeSlack({ token: TOKEN, channels: [CHANNEL] });
    platform = await createTestPlatform({
      prefix: "notify-regression",
      slack: { url: slack.url, token: TOKEN, timeoutMs: 2_000 },
      clock: { now: () => now },
      log: new RecordingLog(),
      metrics: new RecordingMetrics(),
    });
    ports = { ...composeNotifier(platform), claimLeaseSeconds: 60 };
  });

  afterAll(async () => {
    await slack?.close();
    await platform?.close();
  });

  it("keeps the may-repeat marker when the retry of a possibly-posted alert is rate limited (found by the fault property)", async () => {
    // Slack posts, then answers 500: the notifier cannot know, and keeps its claim.
    slack.failNext("chat.postMessage", 1, { acceptThenFail: true });
    expect(statuses(await notify(reply, ports))).toEqual(["retry"]);
    expect(slack.posts).toHaveLength(1);

    // Past the lease the claim is taken over; this attempt is rate limited and certainly did not post...
    later(61);
    slack.failNext("chat.postMessage", 1, { status: 429, retryAfter: 5 });
    expect(statuses(await notify(reply, ports))).toEqual(["retry"]);
    expect(slack.posts).toHaveLength(1);

    // ...but the first attempt may have: whenever the alert is posted again, it says so.
    for (let attempt = 0; attempt < 5 && slack.posts.length < 2; attempt += 1) {
      later(61);
      await notify(reply, ports);
    }
    expect(slack.posts).toHaveLength(2);
    expect(JSON.stringify(slack.posts[1]?.blocks)).toContain(POSSIBLY_REPEATED_NOTE);

    expect(statuses(await notify(reply, ports))).toEqual(["already_posted"]);
    expect(slack.posts).toHaveLength(2);
  });
});
