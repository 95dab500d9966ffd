import { WebClient } from "@slack/web-api";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { CountingMetrics } from "../../src/adapters/observability.ts";
import { composeHttpRoutes, composeNotifier, composePoller, subscriptionStore } from "../../src/app/compose.ts";
import { alertButtonValue, MARK_READ_ACTION_ID, MUTE_ACTION_ID, REPLY_ACTION_ID } from "../../src/domain/alert.ts";
import {
  REPLY_INPUT_ACTION_ID,
  REPLY_INPUT_BLOCK_ID,
  REPLY_RETRY_ACTION_ID,
} from "../../src/domain/slack-interactions.ts";
import { subscriptionSchema } from "../../src/domain/subscriptions.ts";
import { type HttpServer, serveRoutes } from "../../src/http/server.ts";
import { type FakeSlack, type RecordedPost, type RecordedView, startFakeSlack } from "../../src/local/fake-slack.ts";
import { type RespondentSimulator, startRespondentSimulator } from "../../src/local/simulator.ts";
import { notify } from "../../src/usecases/notify.ts";
import { poll } from "../../src/usecases/poll.ts";
import { replyEvent } from "../support/builders.ts";
import { createTestPlatform, type TestPlatform, takeQueuedEvents } from "../support/platform.ts";

const TOKEN = "xoxb-slack-events-test";
const SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5";
const CHANNEL = "C0TWOWAY001";
const OTHER_CHANNEL = "C0TWOWAY002";
const ADMIN = "U0ADMIN0001";
const RESEARCHER = "U0RESEARCH1";

/** Resolves when `check` holds, polling the recorders (the work runs after Slack got its answer). */
async function until<T>(what: string, check: () => T | undefined | false, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("POST /slack/events: buttons, the Reply modal and /respondent, over signed HTTP", () => {
  let simulator: RespondentSimulator;
  let slack: FakeSlack;
  let platform: TestPlatform;
  let server: HttpServer;
  let metrics: CountingMetrics;

  beforeAll(async () => {
    simulator = await startRespondentSimulator({ conversations: 4 });
    slack = await startFakeSlack({ token: TOKEN, channels: [CHANNEL, OTHER_CHANNEL], signingSecret: SIGNING_SECRET });
  });
  afterAll(async () => {
    await slack.close();
    await simulator.close();
  });

  beforeEach(async () => {
    slack.reset();
    simulator.clearRequests();
    metrics = new CountingMetrics();
    platform = await createTestPlatform({
      prefix: "slack-events",
      respondent: { url: simulator.url, apiKey: simulator.apiKey, apiSecret: simulator.apiSecret },
      slack: { url: slack.url, token: TOKEN, signingSecret: SIGNING_SECRET },
      slackAdminUsers: [ADMIN],
      metrics,
    });
    server = await serveRoutes({ port: 0, routes: composeHttpRoutes(platform), log: platform.log });
    slack.setRequestUrl(`${server.url}/slack/events`);
    return async () => {
      await server.close();
      await platform.close();
    };
  });

  const sentTo = (conversationUid: string) =>
    simulator.sentMessages.filter((message) => message.conversationUid === conversationUid);

  /** A participant writes in a fresh conversation; the notifier alerts CHANNEL about it, as it does in production. */
  async function alert(): Promise<{ conversationUid: string; post: RecordedPost }> {
    const conversationUid = simulator.addConversation({
      firstMessage: { from: "participant", body: "Can we move it?" },
    });
    const messageUid = simulator.addMessage(conversationUid, { from: "participant", body: "Thursday is better" });
    const event = replyEvent(conversationUid, messageUid, [CHANNEL]);
    await notify(event, composeNotifier(platform));
    const post = slack.posts.at(-1);
    if (!post || post.channel !== CHANNEL) throw new Error("no alert was posted");
    return { conversationUid, post };
  }

  async function openModal(post: RecordedPost, user = RESEARCHER): Promise<RecordedView> {
    const views = slack.views.length;
    const answer = await slack.clickButton(post, REPLY_ACTION_ID, user);
    expect(answer.status).toBe(200);
    return until("the Reply modal", () => slack.views.length > views && slack.views.at(-1));
  }

  const reply = (text: string) => ({ [REPLY_INPUT_BLOCK_ID]: { [REPLY_INPUT_ACTION_ID]: text } });

  it("the whole loop: a poll alerts, Reply opens the modal, the text reaches the participant once, the thread says who answered, our reply alerts nobody, and the participant's answer lands in the thread", async () => {
    await subscriptionStore(platform).add(
      subscriptionSchema.parse({ projectId: "*", channelId: CHANNEL, createdAt: new Date().toISOString() }),
    );
    const poller = composePoller(platform).poll;
    const notifier = composeNotifier(platform);
    const deliver = async () => {
      for (const event of await takeQueuedEvents(platform)) await notify(event, notifier);
    };
    await poll(poller);
    const conversationUid = simulator.conversationUids[0] ?? "";
    simulator.addMessage(conversationUid, { from: "participant", body: "Is the interview still on?" });
    await poll(poller);
    await deliver();
    const alertPost = slack.posts.find((post) => post.channel === CHANNEL && post.threadTs === undefined);
    expect(JSON.stringify(alertPost?.blocks)).toContain("Is the interview still on?");
    if (!alertPost) return;

    const view = await openModal(alertPost);
    expect(view.view.callback_id).toBe("respondent_reply_modal");
    const submitted = await slack.submitView(view, reply("Yes, see you at 10."), RESEARCHER);

    expect(submitted).toEqual({ status: 200, body: "" });
    const note = await until("the thread note", () =>
      slack.posts.find((post) => post.threadTs === alertPost.ts && post.text.includes("replied")),
    );
    expect(note.blocks).toEqual([
      { type: "section", text: { type: "mrkdwn", text: `↩️ <@${RESEARCHER}> replied:\n> Yes, see you at 10.` } },
    ]);
    expect(sentTo(conversationUid).map((message) => message.body)).toEqual(["Yes, see you at 10."]);

    // Our own reply is our side's message: the next poll queues nothing for it.
    const afterOurReply = await poll(poller);
    expect(afterOurReply.newReplies).toBe(0);

    simulator.addMessage(conversationUid, { from: "participant", body: "Great, thanks!" });
    await poll(poller);
    await deliver();
    const answer = slack.posts.find((post) => JSON.stringify(post.blocks).includes("Great, thanks!"));
    expect(answer?.threadTs).toBe(alertPost.ts);
  });

  it("a submission that reaches us twice sends the text once", async () => {
    const { conversationUid, post } = await alert();
    const view = await openModal(post);

    const [first, second] = await Promise.all([
      slack.submitView(view, reply("Only once, please."), RESEARCHER),
      slack.submitView(view, reply("Only once, please."), RESEARCHER),
    ]);
    await server.idle();
    const third = await slack.submitView(view, reply("Only once, please."), RESEARCHER);
    await server.idle();

    expect([first.status, second.status, third.status]).toEqual([200, 200, 200]);
    expect(sentTo(conversationUid)).toHaveLength(1);
    expect(slack.posts.filter((candidate) => candidate.threadTs === post.ts)).toHaveLength(1);
  });

  it("an empty reply keeps the modal open with the reason, and sends nothing", async () => {
    const { conversationUid, post } = await alert();
    const view = await openModal(post);

    const answer = await slack.submitView(view, reply("   "), RESEARCHER);
    await server.idle();

    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({
      response_action: "errors",
      errors: { [REPLY_INPUT_BLOCK_ID]: "Write the reply to send." },
    });
    expect(sentTo(conversationUid)).toEqual([]);
  });

  it.each([
    ["a bad signature", { secret: "not-the-signing-secret-000000000" }],
    ["a stale timestamp", { timestamp: Math.floor(Date.now() / 1000) - 6 * 60 }],
    ["a timestamp in the future", { timestamp: Math.floor(Date.now() / 1000) + 6 * 60 }],
    ["a malformed signature", { signature: "v1=abc" }],
  ])("refuses %s with 401 and does nothing", async (_name, sign) => {
    const { conversationUid, post } = await alert();
    const view = await openModal(post);
    const ephemerals = slack.ephemerals.length;

    const click = await slack.sendInteraction(
      {
        type: "block_actions",
        user: { id: RESEARCHER },
        trigger_id: "T-refused-1",
        channel: { id: CHANNEL },
        message: { ts: post.ts, text: post.text, blocks: post.blocks },
        actions: [{ action_id: MARK_READ_ACTION_ID, value: alertButtonValue(replyEvent(conversationUid, "x", [])) }],
      },
      sign,
    );
    const submission = await slack.sendInteraction(
      {
        type: "view_submission",
        user: { id: RESEARCHER },
        view: {
          ...view.view,
          id: view.viewId,
          state: { values: reply("forged") },
        },
      },
      sign,
    );
    const command = await slack.sendCommand(
      { text: `subscribe * --no-actions`, user_id: ADMIN, channel_id: OTHER_CHANNEL },
      sign,
    );
    await server.idle();

    expect([click.status, submission.status, command.status]).toEqual([401, 401, 401]);
    expect(sentTo(conversationUid)).toEqual([]);
    expect(simulator.readMarks).not.toContain(conversationUid);
    expect(slack.ephemerals.length).toBe(ephemerals);
    expect(await subscriptionStore(platform).list()).toEqual([]);
    expect(metrics.get("SlackRequestsRefused")).toBe(3);
  });

  it("a button on a message this app did not post acts on nothing, and the clicker is told", async () => {
    const { conversationUid } = await alert();
    // Someone posts a look-alike message carrying a real conversation's button value.
    const forged = await new WebClient(TOKEN, { slackApiUrl: `${slack.url}/api/` }).chat.postMessage({
      channel: CHANNEL,
      text: "totally an alert",
      blocks: [
        {
          type: "actions",
          elements: [
            {
              type: "button",
              text: { type: "plain_text", text: "Reply" },
              action_id: REPLY_ACTION_ID,
              value: alertButtonValue(replyEvent(conversationUid, "m-forged", [])),
            },
            {
              type: "button",
              text: { type: "plain_text", text: "Mark as read" },
              action_id: MARK_READ_ACTION_ID,
              value: alertButtonValue(replyEvent(conversationUid, "m-forged", [])),
            },
          ],
        },
      ],
    });
    const post = slack.posts.find((candidate) => candidate.ts === forged.ts);
    if (!post) throw new Error("the look-alike was not posted");

    await slack.clickButton(post, REPLY_ACTION_ID, RESEARCHER);
    await slack.clickButton(post, MARK_READ_ACTION_ID, RESEARCHER);
    await server.idle();

    expect(slack.views).toEqual([]);
    expect(slack.updates).toEqual([]);
    expect(simulator.readMarks).toEqual([]);
    expect(slack.ephemerals.map((note) => [note.user, note.text])).toEqual([
      [RESEARCHER, expect.stringContaining("not on an alert this app posted in this channel")],
      [RESEARCHER, expect.stringContaining("not on an alert this app posted in this channel")],
    ]);
  });

  it("Mark as read calls the read endpoint once and updates the alert to say who marked it", async () => {
    const { conversationUid, post } = await alert();
    // A colleague's Slack still shows the alert as it was before the update.
    const stale = structuredClone(post);

    await slack.clickButton(post, MARK_READ_ACTION_ID, RESEARCHER);
    await server.idle();
    await slack.clickButton(stale, MARK_READ_ACTION_ID, ADMIN);
    await server.idle();

    expect(simulator.readMarks).toEqual([conversationUid]);
    expect(slack.updates).toHaveLength(1);
    const updated = slack.posts.find((candidate) => candidate.ts === post.ts);
    expect(JSON.stringify(updated?.blocks)).toContain(`Marked as read by <@${RESEARCHER}>`);
    expect(JSON.stringify(updated?.blocks)).not.toContain(MARK_READ_ACTION_ID);
    expect(JSON.stringify(updated?.blocks)).toContain(REPLY_ACTION_ID);
    expect(slack.ephemerals.map((note) => [note.user, note.text])).toEqual([
      [ADMIN, `✅ Already marked as read by <@${RESEARCHER}>.`],
    ]);
  });

  it("Mute stops the conversation's alerts in that channel only; the clicker is told how to undo it", async () => {
    const { conversationUid, post } = await alert();

    await slack.clickButton(post, MUTE_ACTION_ID, RESEARCHER);
    await server.idle();

    expect(slack.ephemerals.map((note) => note.user)).toEqual([RESEARCHER]);
    expect(slack.ephemerals[0]?.text).toContain("🔕 Muted");
    expect(slack.ephemerals[0]?.text).toContain(
      `respondent-notifier conversations unmute --conversation ${conversationUid} --channel ${CHANNEL}`,
    );
    // The next reply of that conversation, for both channels: only the other channel gets it.
    const next = simulator.addMessage(conversationUid, { from: "participant", body: "one more thing" });
    const before = slack.posts.length;
    await notify(replyEvent(conversationUid, next, [CHANNEL, OTHER_CHANNEL]), composeNotifier(platform));
    const posted = slack.posts.slice(before);
    expect(posted.map((each) => each.channel)).toEqual([OTHER_CHANNEL]);

    // A second click (a colleague's): already muted, nothing changes.
    await slack.clickButton(post, MUTE_ACTION_ID, ADMIN);
    await server.idle();
    expect(slack.ephemerals.at(-1)?.text).toContain("Already muted");
  });

  it("Respondent failing while sending: the submitter is told, and nothing is sent twice on their retry", async () => {
    const { conversationUid, post } = await alert();

    // A 500: Respondent may have taken it; the writer is told to check, and no retry is offered.
    const uncertain = await openModal(post);
    simulator.failNext(1, { status: 500 });
    await slack.submitView(uncertain, reply("Are you there?"), RESEARCHER);
    const told = await until("the failure note", () => slack.ephemerals.find((note) => note.user === RESEARCHER));
    expect(told.text).toBe("Your reply may not have been sent");
    expect(JSON.stringify(told.blocks)).not.toContain(REPLY_RETRY_ACTION_ID);
    await slack.submitView(uncertain, reply("Are you there?"), RESEARCHER);
    await server.idle();
    expect(sentTo(conversationUid)).toEqual([]);

    // A 400: it certainly did not go; "Try again" sends it once, a second click sends nothing more.
    slack.ephemerals.length = 0;
    const refused = await openModal(post);
    simulator.failNext(1, { status: 400 });
    await slack.submitView(refused, reply("Second try"), RESEARCHER);
    const notSent = await until("the not-sent note", () => slack.ephemerals.find((note) => note.user === RESEARCHER));
    expect(notSent.text).toBe("Your reply was not sent");
    const retryValue = JSON.stringify(notSent.blocks).match(/"value":"([0-9a-f]+)"/)?.[1] ?? "";
    const note: RecordedPost = {
      ...post,
      ts: "1.000001",
      blocks: notSent.blocks,
    };
    await slack.clickButton(note, REPLY_RETRY_ACTION_ID, ADMIN);
    await server.idle();
    expect(sentTo(conversationUid)).toEqual([]);
    await slack.clickButton(note, REPLY_RETRY_ACTION_ID, RESEARCHER);
    await server.idle();
    await slack.clickButton(note, REPLY_RETRY_ACTION_ID, RESEARCHER);
    await server.idle();

    expect(retryValue).not.toBe("");
    expect(sentTo(conversationUid).map((message) => message.body)).toEqual(["Second try"]);
    expect(slack.ephemerals.map((entry) => [entry.user, entry.text])).toEqual([
      [RESEARCHER, "Your reply was not sent"],
      [ADMIN, `Only <@${RESEARCHER}>, who wrote this reply, can retry it.`],
      [RESEARCHER, "✅ This reply was sent already; it is not sent twice."],
    ]);
  });

  it("/respondent from someone not in SLACK_ADMIN_USERS: subscribe is refused, list and help still work", async () => {
    const subscribe = await slack.sendCommand({ text: "subscribe *", user_id: RESEARCHER, channel_id: OTHER_CHANNEL });
    const help = await slack.sendCommand({ text: "help", user_id: RESEARCHER, channel_id: OTHER_CHANNEL });
    const list = await slack.sendCommand({ text: "list", user_id: RESEARCHER, channel_id: OTHER_CHANNEL });
    await server.idle();

    expect(subscribe.status).toBe(200);
    expect(JSON.parse(subscribe.body)).toEqual({
      response_type: "ephemeral",
      text: expect.stringContaining("Only the admins listed in SLACK_ADMIN_USERS may subscribe from Slack"),
    });
    expect(JSON.parse(help.body).text).toContain("/respondent subscribe <projectId|*> [options]");
    expect(slack.responses.map((response) => [response.responseId, response.body.text])).toEqual([
      [list.responseId, `<#${OTHER_CHANNEL}> has no subscriptions.`],
    ]);
    expect(await subscriptionStore(platform).list()).toEqual([]);
  });

  it("/respondent end to end: an admin subscribes this channel with options, lists, and unsubscribes", async () => {
    const before = Date.now();
    const bad = await slack.sendCommand({
      text: "subscribe * --body everything",
      user_id: ADMIN,
      channel_id: OTHER_CHANNEL,
    });
    const subscribe = await slack.sendCommand({
      text: "subscribe * --no-actions --mention <!here> --body preview",
      user_id: ADMIN,
      channel_id: OTHER_CHANNEL,
    });
    await server.idle();
    const stored = await subscriptionStore(platform).list();
    const list = await slack.sendCommand({ text: "list", user_id: RESEARCHER, channel_id: OTHER_CHANNEL });
    await server.idle();
    const unsubscribe = await slack.sendCommand({ text: "unsubscribe *", user_id: ADMIN, channel_id: OTHER_CHANNEL });
    await server.idle();

    expect(JSON.parse(bad.body).text).toContain("argument 'everything' is invalid");
    expect(stored).toEqual([
      expect.objectContaining({
        projectId: "*",
        channelId: OTHER_CHANNEL,
        mentions: ["here"],
        body: "preview",
        actions: false,
      }),
    ]);
    // It starts now: messages written before the command never alert.
    expect(Date.parse(stored[0]?.createdAt ?? "")).toBeGreaterThanOrEqual(before - 1_000);
    const texts = (id: string) =>
      slack.responses.filter((response) => response.responseId === id).map((r) => r.body.text);
    expect(texts(subscribe.responseId)).toEqual([
      expect.stringContaining(`<#${OTHER_CHANNEL}> now gets alerts for every project`),
    ]);
    expect(texts(list.responseId)).toEqual([expect.stringContaining("body preview · buttons off")]);
    expect(texts(unsubscribe.responseId)).toEqual([`✅ <#${OTHER_CHANNEL}> gets no more alerts for every project.`]);
    expect(await subscriptionStore(platform).list()).toEqual([]);
  });
});
