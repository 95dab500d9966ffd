import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { composeNotifier } from "../../src/app/compose.ts";
import { type FakeSlack, startFakeSlack } from "../../src/local/fake-slack.ts";
import type { Clock } from "../../src/ports.ts";
import { type NotifyPorts, notify } from "../../src/usecases/notify.ts";
import { replyEvent } from "../support/builders.ts";
import { createTestPlatform, type TestPlatform } from "../support/platform.ts";

const TOKEN = "xoxb-reply-count";
const CHANNEL = "C0COUNT0001";
const OTHER = "C0COUNT0002";

function reply(
  conversationUid: string,
  messageUid: string,
  createdAt: string,
  channels = [CHANNEL],
  timezone?: string,
) {
  const event = replyEvent(conversationUid, messageUid, channels);
  return {
    ...event,
    message: { ...event.message, createdAt },
    targets: event.targets.map((target) => ({ ...target, ...(timezone ? { timezone } : {}) })),
  };
}

describe("the conversation's running count in its thread: '3rd reply today'", () => {
  let slack: FakeSlack;
  let platform: TestPlatform;
  let ports: NotifyPorts;
  const now = new Date("2026-12-01T20:00:00.000Z");
  const clock: Clock = { now: () => now };

  beforeAll(async () => {
    slack = await startFakeSlack({ token: TOKEN, channels: [CHANNEL, OTHER] });
  });
  afterAll(async () => {
    await slack.close();
  });
  beforeEach(async () => {
    slack.reset();
    platform = await createTestPlatform({ prefix: "count", slack: { url: slack.url, token: TOKEN }, clock });
    ports = { ...composeNotifier(platform), timeZone: "UTC" };
    return () => platform.close();
  });

  const footers = () =>
    slack.posts.map((post) => JSON.stringify(post.blocks).match(/(\d+(?:st|nd|rd|th)) reply today/)?.[1]);

  it("counts per conversation, channel and local day, and counts a redelivered alert once", async () => {
    await notify(reply("conv-1", "m1", "2026-12-01T08:00:00.000Z"), ports);
    await notify(reply("conv-1", "m2", "2026-12-01T09:00:00.000Z"), ports);
    await notify(reply("conv-2", "x1", "2026-12-01T09:30:00.000Z"), ports);
    // Delivered again (a redelivery): the ledger skips it, and the count stays.
    await notify(reply("conv-1", "m2", "2026-12-01T09:00:00.000Z"), ports);
    await notify(reply("conv-1", "m3", "2026-12-01T10:00:00.000Z"), ports);
    // The next day starts again at 1st.
    await notify(reply("conv-1", "m4", "2026-12-02T08:00:00.000Z"), ports);

    expect(footers()).toEqual(["1st", "2nd", "1st", "3rd", "1st"]);
  });

  it("uses the subscription's zone for 'today'", async () => {
    // 22:30 and 23:30 UTC on 1 Dec are 23:30 on 1 Dec and 00:30 on 2 Dec in Berlin.
    await notify(reply("conv-1", "m1", "2026-12-01T22:30:00.000Z", [CHANNEL], "Europe/Berlin"), ports);
    await notify(reply("conv-1", "m2", "2026-12-01T23:30:00.000Z", [CHANNEL], "Europe/Berlin"), ports);
    await notify(reply("conv-1", "m3", "2026-12-01T23:40:00.000Z", [OTHER]), ports);

    expect(footers()).toEqual(["1st", "1st", "1st"]);
    expect(slack.posts[1]?.text).toContain("Wed 2 Dec, 00:30 CET");
  });
});
