import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { composeNotifier, muteStore } from "../../src/app/compose.ts";
import { type FakeSlack, startFakeSlack } from "../../src/local/fake-slack.ts";
import { muteConversation, unmuteConversation } from "../../src/usecases/mutes.ts";
import { type NotifyPorts, notify } from "../../src/usecases/notify.ts";
import { replyEvent } from "../support/builders.ts";
import { CLI_TEST_TIMEOUT_MS, runCli } from "../support/cli.ts";
import { createTestPlatform, type TestPlatform } from "../support/platform.ts";

const TOKEN = "xoxb-mute-test";
const MUTED = "C0MUTED0001";
const OTHER = "C0MUTED0002";

describe("conversations mute|unmute: one conversation, one channel", { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  let slack: FakeSlack;
  let platform: TestPlatform;
  let ports: NotifyPorts;
  let env: Record<string, string>;

  beforeAll(async () => {
    slack = await startFakeSlack({ token: TOKEN, channels: [MUTED, OTHER] });
    platform = await createTestPlatform({ prefix: "mute", slack: { url: slack.url, token: TOKEN } });
    ports = composeNotifier(platform);
    env = { DYNAMODB_ENDPOINT: inject("dynamodbEndpoint"), TABLE_NAME: platform.tableName };
  }, CLI_TEST_TIMEOUT_MS);
  afterAll(async () => {
    await platform.close();
    await slack.close();
  });

  const postsIn = (channel: string) =>
    slack.posts.filter((post) => post.channel === channel).map((post) => post.text.match(/reply (\w+)/)?.[1]);

  it("stops the alerts of that conversation in that channel only, records them as handled, and resumes on unmute", async () => {
    const muted = await runCli(["conversations", "mute", "--conversation", "conv-1", "--channel", MUTED], env);
    expect(muted.code, muted.stderr).toBe(0);
    expect(muted.stdout).toContain(`muted: conversation conv-1 in ${MUTED}`);
    const again = await runCli(["conversations", "mute", "--conversation", "conv-1", "--channel", MUTED], env);
    expect(again.stdout).toContain("was muted in C0MUTED0001 already; nothing changed");
    const listed = await runCli(["conversations", "muted"], env);
    expect(listed.stdout).toMatch(/conv-1\s+in\s+C0MUTED0001\s+muted .* by cli/);

    const outcomes = await notify(replyEvent("conv-1", "m1", [MUTED, OTHER]), ports);
    await notify(replyEvent("conv-2", "x1", [MUTED]), ports);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(["muted", "posted"]);
    expect(postsIn(MUTED)).toEqual(["x1"]);
    expect(postsIn(OTHER)).toEqual(["m1"]);

    const unmuted = await runCli(["conversations", "unmute", "--conversation", "conv-1", "--channel", MUTED], env);
    expect(unmuted.code, unmuted.stderr).toBe(0);
    expect(unmuted.stdout).toContain(`unmuted: conversation conv-1 in ${MUTED}`);

    // The reply that came while muted is not replayed (a redelivery finds it handled); the next one is alerted.
    const redelivered = await notify(replyEvent("conv-1", "m1", [MUTED, OTHER]), ports);
    expect(redelivered.map((outcome) => outcome.status)).toEqual(["already_posted", "already_posted"]);
    await notify(replyEvent("conv-1", "m2", [MUTED]), ports);
    expect(postsIn(MUTED)).toEqual(["x1", "m2"]);

    const notMuted = await runCli(["conversations", "unmute", "--conversation", "conv-1", "--channel", MUTED], env);
    expect(notMuted.stdout).toContain("was not muted in C0MUTED0001; nothing changed");
  });

  it("refuses a channel or conversation that is not one, naming the flag's value", async () => {
    const run = await runCli(["conversations", "mute", "--conversation", "conv-1", "--channel", "#general"], env);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('channel "#general"');
    const bad = await runCli(["conversations", "unmute", "--conversation", "a b", "--channel", MUTED], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('conversation "a b"');
  });

  it("the use case the Mute button calls: who muted it is kept", async () => {
    const mutes = { mutes: muteStore(platform), clock: platform.clock, log: platform.log };
    const outcome = await muteConversation({ conversationUid: "conv-9", channelId: OTHER, by: "U0SLACKUSER" }, mutes);
    expect(outcome.status).toBe("muted");
    expect((await muteStore(platform).list()).find((mute) => mute.conversationUid === "conv-9")?.mutedBy).toBe(
      "U0SLACKUSER",
    );
    expect((await unmuteConversation({ conversationUid: "conv-9", channelId: OTHER }, mutes)).status).toBe("unmuted");
    expect(await muteStore(platform).isMuted("conv-9", OTHER)).toBe(false);
  });
});
