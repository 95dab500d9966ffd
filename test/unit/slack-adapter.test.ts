import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createSlackPoster } from "../../src/adapters/slack.ts";
import { createSlackDirectory } from "../../src/adapters/slack-directory.ts";
import { formatAlert, type SlackMessage } from "../../src/domain/alert.ts";
import {
  EXIT_FAILURE,
  isRetryable,
  type NotifierError,
  SlackAuthError,
  SlackChannelUnusableError,
  SlackRateLimitedError,
  SlackRejectedError,
  SlackUnavailableError,
} from "../../src/errors.ts";
import { type FakeSlack, startFakeSlack } from "../../src/local/fake-slack.ts";
import type { Log } from "../../src/ports.ts";

const TOKEN = "xoxb-1111-2222-secretTESTtoken";
const CHANNEL = "C0000000001";
const NOT_INVITED = "C0000000002";
const ARCHIVED = "C0000000003";
const UNKNOWN = "C0000000999";

const message: SlackMessage = {
  text: "💬 Jane D. replied",
  blocks: [{ type: "section", text: { type: "mrkdwn", text: "> hello" } }],
};

let slack: FakeSlack;
let logLines: string[];

const log: Log = {
  debug: (line) => logLines.push(`debug ${line}`),
  info: (line) => logLines.push(`info ${line}`),
  warn: (line) => logLines.push(`warn ${line}`),
  error: (line) => logLines.push(`error ${line}`),
};

function poster(
  overrides: { token?: string; timeoutMs?: number; retries?: number; apiUrl?: string; postIntervalMs?: number } = {},
) {
  return createSlackPoster({
    token: overrides.token ?? TOKEN,
    apiUrl: overrides.apiUrl ?? `${slack.url}/api/`,
    timeoutMs: overrides.timeoutMs ?? 2_000,
    log,
    postIntervalMs: overrides.postIntervalMs ?? 0,
    ...(overrides.retries === undefined ? {} : { retries: overrides.retries }),
  });
}

async function failureOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Error) return error;
    throw new Error(`rejected with a non-error: ${String(error)}`);
  }
  throw new Error("expected the call to fail, but it succeeded");
}

beforeAll(async () => {
  slack = await startFakeSlack({
    token: TOKEN,
    channels: [CHANNEL, { id: NOT_INVITED, isMember: false }, { id: ARCHIVED, isArchived: true }],
  });
});

afterAll(async () => {
  await slack.close();
});

beforeEach(() => {
  slack.reset();
  logLines = [];
});

describe("posting an alert", () => {
  it("posts text and blocks with link and media unfurling off, and returns Slack's ts", async () => {
    const result = await poster().post(CHANNEL, message, undefined);

    expect(slack.posts).toEqual([
      {
        channel: CHANNEL,
        text: message.text,
        blocks: message.blocks,
        threadTs: undefined,
        ts: result.ts,
        unfurlLinks: false,
        unfurlMedia: false,
      },
    ]);
  });

  it("replies in the conversation's thread when given a thread ts", async () => {
    await poster().post(CHANNEL, message, "1700000000.000100");

    expect(slack.posts[0]?.threadTs).toBe("1700000000.000100");
  });

  it("does not retry a post inside the client, because Slack may already have posted it", async () => {
    slack.failNext("chat.postMessage", 1, { acceptThenFail: true });

    const error = await failureOf(poster().post(CHANNEL, message, undefined));

    expect(error).toBeInstanceOf(SlackUnavailableError);
    expect(slack.calls["chat.postMessage"]).toBe(1);
    expect(slack.posts).toHaveLength(1);
  });

  it("is accepted by Slack's limits for a worst-case alert (1 MB body, huge names, every option)", async () => {
    const alert = formatAlert(
      {
        version: 1,
        eventId: "e".repeat(64),
        detectedAt: "2026-06-01T12:00:00.000Z",
        conversation: { uid: "conv-1", name: "<>".repeat(50_000), projectId: "&".repeat(5_000) },
        message: {
          uid: "m1",
          createdAt: "2026-06-01T12:00:00.000Z",
          body: "👩🏽‍💻<&>\n".repeat(100_000),
          bodyTruncated: true,
        },
        sender: { known: true, firstName: "<".repeat(5_000), lastName: "Doe" },
        targets: [],
      },
      {
        subscriptionId: "s",
        channelId: CHANNEL,
        mentions: ["U0123456789", "S0123456789", "here", "channel"],
        threadPerConversation: true,
        body: "full",
      },
      { conversationUrlTemplate: "https://app.respondent.io/messages/{conversationUid}", possiblyRepeated: true },
    );

    await poster().post(CHANNEL, alert, undefined);

    expect(slack.posts).toHaveLength(1);
  });
});

describe("finding an alert again (read-back)", () => {
  const withMetadata = (eventId: string): SlackMessage => ({
    ...message,
    metadata: { event_type: "respondent_reply", event_payload: { event_id: eventId, conversation_uid: "conv-1" } },
  });

  it("sends the alert's metadata with the post, and finds the alert by its event id among the channel's messages", async () => {
    const since = new Date(Date.now() - 60_000);
    const client = poster();
    const { ts } = await client.post(CHANNEL, withMetadata("event-1"), undefined);
    await client.post(CHANNEL, withMetadata("event-2"), undefined);

    expect(slack.posts[0]?.metadata).toEqual(withMetadata("event-1").metadata);
    expect(await client.findAlert(CHANNEL, { eventId: "event-1", oldest: since })).toEqual({ ts, threadTs: undefined });
    expect(await client.findAlert(CHANNEL, { eventId: "event-3", oldest: since })).toBeUndefined();
    // Nothing older than `oldest` is looked at.
    expect(
      await client.findAlert(CHANNEL, { eventId: "event-1", oldest: new Date(Date.now() + 60_000) }),
    ).toBeUndefined();
  });

  it("finds a reply among its thread's messages, and the thread's first message too", async () => {
    const since = new Date(Date.now() - 60_000);
    const client = poster();
    const { ts: parent } = await client.post(CHANNEL, withMetadata("parent"), undefined);
    const { ts: reply } = await client.post(CHANNEL, withMetadata("reply"), parent);

    expect(await client.findAlert(CHANNEL, { eventId: "reply", oldest: since, threadTs: parent })).toEqual({
      ts: reply,
      threadTs: parent,
    });
    expect(await client.findAlert(CHANNEL, { eventId: "parent", oldest: since, threadTs: parent })).toMatchObject({
      ts: parent,
    });
    // A reply is not among the channel's own (top-level) messages.
    expect(await client.findAlert(CHANNEL, { eventId: "reply", oldest: since })).toBeUndefined();
  });

  it("reports a token without the history scope as an auth error that no retry changes, naming the scope", async () => {
    const blind = await startFakeSlack({ token: TOKEN, channels: [CHANNEL], scopes: ["chat:write"] });
    try {
      const error = await failureOf(
        poster({ apiUrl: `${blind.url}/api/` }).findAlert(CHANNEL, { eventId: "e", oldest: new Date(0) }),
      );
      expect(error).toBeInstanceOf(SlackAuthError);
      expect((error as NotifierError).retryable).toBe(false);
      expect(error.message).toContain("channels:history");
    } finally {
      await blind.close();
    }
  });
});

describe("keeping to Slack's pace", () => {
  it("spaces posts to one channel by the post interval, but not posts to different channels", async () => {
    const client = poster({ postIntervalMs: 300 });
    const started = Date.now();
    await client.post(CHANNEL, message, undefined);
    await client.post(CHANNEL, message, undefined);
    const sameChannel = Date.now() - started;

    expect(sameChannel).toBeGreaterThanOrEqual(300);
    expect(slack.posts).toHaveLength(2);
  });

  it("waits out a short Retry-After in place and posts, since a 429 certainly did not post", async () => {
    slack.failNext("chat.postMessage", 1, { status: 429, retryAfter: 1 });

    const posted = await poster().post(CHANNEL, message, undefined);

    expect(posted.ts).toBe(slack.posts[0]?.ts);
    expect(slack.calls["chat.postMessage"]).toBe(2);
  });

  it("gives a long Retry-After back to the queue, and holds the channel's next post without calling Slack", async () => {
    const client = poster();
    slack.failNext("chat.postMessage", 1, { status: 429, retryAfter: 30 });

    const first = await failureOf(client.post(CHANNEL, message, undefined));
    const second = await failureOf(client.post(CHANNEL, message, undefined));

    expect(first).toBeInstanceOf(SlackRateLimitedError);
    expect((first as NotifierError).retryAfterSeconds).toBe(30);
    expect(second).toBeInstanceOf(SlackRateLimitedError);
    expect((second as NotifierError).retryAfterSeconds).toBeGreaterThan(25);
    expect(slack.calls["chat.postMessage"]).toBe(1);
  });
});

describe("classifying Slack's answers", () => {
  it("reports an unknown channel as unusable, saying how to find the right channel id", async () => {
    const error = await failureOf(poster().post(UNKNOWN, message, undefined));

    expect(error).toBeInstanceOf(SlackChannelUnusableError);
    expect(error.message).toContain("channel_not_found");
    expect(error.message).toContain("channel details > About");
  });

  it("reports a channel the app is not in as unusable, saying to invite the app there", async () => {
    const error = await failureOf(poster().post(NOT_INVITED, message, undefined));

    expect(error).toBeInstanceOf(SlackChannelUnusableError);
    expect(error.message).toContain(`/invite @<app> in <#${NOT_INVITED}>`);
  });

  it("reports an archived channel as unusable, saying to unarchive it or remove the subscription", async () => {
    const error = await failureOf(poster().post(ARCHIVED, message, undefined));

    expect(error).toBeInstanceOf(SlackChannelUnusableError);
    expect(error.message).toContain("unarchive the channel or remove the subscription");
    expect(isRetryable(error)).toBe(false);
    // Every alert to this channel fails until someone acts there; nothing was posted.
    expect(decisionsOf(error)).toEqual({ reach: "channel", mayHaveTakenEffect: false, retryAfterSeconds: undefined });
  });

  it("reports a wrong token as an auth error", async () => {
    const error = await failureOf(poster({ token: "xoxb-9999-wrong-token" }).post(CHANNEL, message, undefined));

    expect(error).toBeInstanceOf(SlackAuthError);
    expect(error.message).toContain("invalid_auth");
  });

  it.each(["account_inactive", "token_revoked", "not_authed"])("reports %s as an auth error", async (slackError) => {
    slack.failNext("chat.postMessage", 1, { error: slackError });

    const error = await failureOf(poster().post(CHANNEL, message, undefined));

    expect(error).toBeInstanceOf(SlackAuthError);
    expect(error.message).toContain(slackError);
    expect(isRetryable(error)).toBe(false);
    // The token is the whole workspace's problem, not this channel's.
    expect(decisionsOf(error)).toMatchObject({ reach: "service", mayHaveTakenEffect: false });
  });

  it("reports missing_scope as an auth error naming the chat:write scope", async () => {
    slack.failNext("chat.postMessage", 1, { error: "missing_scope" });

    const error = await failureOf(poster().post(CHANNEL, message, undefined));

    expect(error).toBeInstanceOf(SlackAuthError);
    expect(error.message).toContain("chat:write");
  });

  it("turns a 429 into SlackRateLimitedError with Slack's Retry-After, at once and without retrying", async () => {
    slack.failNext("chat.postMessage", 1, { status: 429, retryAfter: 42 });
    const started = Date.now();

    const error = await failureOf(poster().post(CHANNEL, message, undefined));

    expect(error).toBeInstanceOf(SlackRateLimitedError);
    expect((error as SlackRateLimitedError).retryAfterSeconds).toBe(42);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(slack.calls["chat.postMessage"]).toBe(1);
    // A 429 is an answer: Slack did not post.
    expect(decisionsOf(error)).toEqual({ reach: "channel", mayHaveTakenEffect: false, retryAfterSeconds: 42 });
  });

  it("treats a 429 without Retry-After as rate limited with a default wait", async () => {
    slack.failNext("chat.postMessage", 1, { status: 429 });

    const error = await failureOf(poster().post(CHANNEL, message, undefined));

    expect(error).toBeInstanceOf(SlackRateLimitedError);
    expect((error as SlackRateLimitedError).retryAfterSeconds).toBeGreaterThan(0);
  });

  it("turns the ratelimited platform error into SlackRateLimitedError", async () => {
    slack.failNext("chat.postMessage", 1, { error: "ratelimited" });

    const error = await failureOf(poster().post(CHANNEL, message, undefined));

    expect(error).toBeInstanceOf(SlackRateLimitedError);
  });

  it("reports a 500 as Slack unavailable (retryable) after a single attempt", async () => {
    slack.failNext("chat.postMessage", 1, { status: 500 });

    const error = await failureOf(poster().post(CHANNEL, message, undefined));

    expect(error).toBeInstanceOf(SlackUnavailableError);
    expect(error.message).toContain("HTTP 500");
    expect(slack.calls["chat.postMessage"]).toBe(1);
    expect(isRetryable(error)).toBe(true);
    // Slack may have posted before failing its answer: a retry must find out first.
    expect(decisionsOf(error)).toEqual({ reach: "service", mayHaveTakenEffect: true, retryAfterSeconds: undefined });
  });

  it.each(["internal_error", "fatal_error", "service_unavailable", "request_timeout"])(
    "reports the %s platform error as Slack unavailable",
    async (slackError) => {
      slack.failNext("chat.postMessage", 1, { error: slackError });

      const error = await failureOf(poster().post(CHANNEL, message, undefined));

      expect(error).toBeInstanceOf(SlackUnavailableError);
    },
  );

  it("reports a Slack that answers too late as unavailable", async () => {
    slack.failNext("chat.postMessage", 1, { delayMs: 1_500 });

    const error = await failureOf(poster({ timeoutMs: 200, retries: 0 }).post(CHANNEL, message, undefined));

    expect(error).toBeInstanceOf(SlackUnavailableError);
    expect(error.message).toContain("did not answer within 200 ms");
    // The request went out: the post may be in the channel.
    expect(decisionsOf(error)).toMatchObject({ mayHaveTakenEffect: true });
    expect(isRetryable(error)).toBe(true);
  });

  it("reports a refused connection as unavailable", async () => {
    const closedPort = await unusedPort();

    const error = await failureOf(
      poster({ apiUrl: `http://127.0.0.1:${closedPort}/api/`, retries: 0 }).post(CHANNEL, message, undefined),
    );

    expect(error).toBeInstanceOf(SlackUnavailableError);
    expect(error.message).toContain("ECONNREFUSED");
    // The request never left this machine: nothing was posted, the claim can be given back.
    expect(decisionsOf(error)).toEqual({ reach: "service", mayHaveTakenEffect: false, retryAfterSeconds: undefined });
    expect(isRetryable(error)).toBe(true);
  });

  it("reports an unknown host as never sent, like a refused connection", async () => {
    const error = await failureOf(
      poster({ apiUrl: "http://no-such-host.invalid/api/", retries: 0 }).post(CHANNEL, message, undefined),
    );

    expect(error).toBeInstanceOf(SlackUnavailableError);
    expect(decisionsOf(error)).toMatchObject({ mayHaveTakenEffect: false });
  });

  it("reports a post Slack accepted but answered 500 to as unavailable, never as certainly rejected", async () => {
    slack.failNext("chat.postMessage", 1, { acceptThenFail: true });

    const error = await failureOf(poster({ retries: 0 }).post(CHANNEL, message, undefined));

    expect(slack.posts).toHaveLength(1);
    expect(error).toBeInstanceOf(SlackUnavailableError);
    expect(decisionsOf(error)).toMatchObject({ mayHaveTakenEffect: true });
  });

  it("reports blocks Slack refuses (invalid_blocks) as rejected, not retryable", async () => {
    const tooLongHeader: SlackMessage = {
      text: "x",
      blocks: [{ type: "header", text: { type: "plain_text", text: "h".repeat(151) } }],
    };

    const error = await failureOf(poster().post(CHANNEL, tooLongHeader, undefined));

    expect(error).toBeInstanceOf(SlackRejectedError);
    expect((error as SlackRejectedError).slackError).toBe("invalid_blocks");
    expect(isRetryable(error)).toBe(false);
    expect(decisionsOf(error)).toMatchObject({ reach: "item", mayHaveTakenEffect: false });
    expect(logLines.some((line) => line.includes("must be less than 151 characters"))).toBe(true);
  });

  it("reports a text over 40,000 characters as rejected (msg_too_long)", async () => {
    const error = await failureOf(poster().post(CHANNEL, { text: "x".repeat(40_001), blocks: [] }, undefined));

    expect(error).toBeInstanceOf(SlackRejectedError);
    expect((error as SlackRejectedError).slackError).toBe("msg_too_long");
  });
});

describe("keeping the token secret", () => {
  it("never puts the token in error messages or log lines, even when Slack echoes it", async () => {
    slack.failNext("chat.postMessage", 1, { error: TOKEN });
    slack.failNext("chat.postMessage", 1, { status: 500 });
    slack.failNext("chat.postMessage", 1, { status: 429, retryAfter: 30 });
    const client = poster();
    const errors: Error[] = [];

    for (let attempt = 0; attempt < 3; attempt += 1)
      errors.push(await failureOf(client.post(CHANNEL, message, undefined)));
    slack.failNext("chat.postMessage", 1, { delayMs: 1_000 });
    errors.push(await failureOf(poster({ timeoutMs: 200 }).post(CHANNEL, message, undefined)));
    errors.push(await failureOf(poster({ token: `${TOKEN}-wrong` }).post(CHANNEL, message, undefined)));

    expect(errors.map((error) => error.constructor)).toEqual([
      SlackRejectedError,
      SlackUnavailableError,
      SlackRateLimitedError,
      SlackUnavailableError,
      SlackAuthError,
    ]);
    const everything = [...errors.map((error) => `${error.message} ${String(error.cause ?? "")}`), ...logLines].join(
      "\n",
    );
    expect(everything).not.toContain("secretTESTtoken");
  });
});

describe("the read-only calls doctor makes (createSlackDirectory)", () => {
  const directory = (token = TOKEN) => createSlackDirectory({ token, apiUrl: `${slack.url}/api/`, timeoutMs: 2_000 });

  it("tells which workspace and bot user the token belongs to", async () => {
    expect(await directory().identity()).toMatchObject({ team: "Fake Slack workspace", user: "respondent-notifier" });
  });

  it("reports a wrong token as an auth error, ending the command with exit code 1", async () => {
    const error = await failureOf(directory("xoxb-9999-wrong-token").identity());

    expect(error).toBeInstanceOf(SlackAuthError);
    expect((error as NotifierError).exitCode).toBe(EXIT_FAILURE);
  });

  it("tells whether a channel exists, has the app, is archived or private", async () => {
    const client = directory();

    expect(await client.channel(CHANNEL)).toMatchObject({ exists: true, isMember: true, isArchived: false });
    expect(await client.channel(NOT_INVITED)).toMatchObject({ exists: true, isMember: false });
    expect(await client.channel(ARCHIVED)).toMatchObject({ exists: true, isArchived: true });
    expect(await client.channel(UNKNOWN)).toEqual({
      exists: false,
      name: undefined,
      isMember: false,
      isArchived: false,
      isPrivate: false,
    });
  });
});

/** The decisions the error carries for its callers (retry policy, ledger, health). */
function decisionsOf(error: Error): Pick<NotifierError, "reach" | "mayHaveTakenEffect" | "retryAfterSeconds"> {
  const { reach, mayHaveTakenEffect, retryAfterSeconds } = error as NotifierError;
  return { reach, mayHaveTakenEffect, retryAfterSeconds };
}

async function unusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
