import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type FakeSlack, type RecordedPost, startFakeSlack } from "../../src/local/fake-slack.ts";

const TOKEN = "xoxb-fake-test-token";
const CHANNEL = "C0000000001";

let slack: FakeSlack;
const observed: RecordedPost[] = [];

/** Calls a method the way Slack's docs allow: a JSON body, or a form (what WebClient sends). */
async function call(
  method: string,
  params: Record<string, unknown>,
  options: { encoding?: "json" | "form"; token?: string | null } = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const token = options.token === undefined ? TOKEN : options.token;
  const headers: Record<string, string> = token === null ? {} : { authorization: `Bearer ${token}` };
  let body: string;
  if (options.encoding === "form") {
    headers["content-type"] = "application/x-www-form-urlencoded";
    const form = new URLSearchParams();
    for (const [key, value] of Object.entries(params)) {
      form.set(key, typeof value === "string" ? value : JSON.stringify(value));
    }
    body = form.toString();
  } else {
    headers["content-type"] = "application/json; charset=utf-8";
    body = JSON.stringify(params);
  }
  const response = await fetch(`${slack.url}/api/${method}`, { method: "POST", headers, body });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const section = (text: string) => ({ type: "section", text: { type: "mrkdwn", text } });

beforeAll(async () => {
  slack = await startFakeSlack({ token: TOKEN, channels: [CHANNEL], onPost: (post) => observed.push(post) });
});

afterAll(async () => {
  await slack.close();
});

beforeEach(() => {
  slack.reset();
  observed.length = 0;
});

describe("fake Slack", () => {
  it("records a form-encoded post with its JSON-encoded blocks and answers with its ts", async () => {
    const answer = await call(
      "chat.postMessage",
      { channel: CHANNEL, text: "hi", blocks: [section("hello")], thread_ts: "1.2", unfurl_links: "false" },
      { encoding: "form" },
    );

    expect(answer.body).toMatchObject({ ok: true, channel: CHANNEL, ts: slack.posts[0]?.ts });
    expect(slack.posts[0]).toMatchObject({
      text: "hi",
      blocks: [section("hello")],
      threadTs: "1.2",
      unfurlLinks: false,
    });
    expect(observed).toEqual(slack.posts);
  });

  it("hands out increasing, unique ts values", async () => {
    for (let index = 0; index < 3; index += 1) await call("chat.postMessage", { channel: CHANNEL, text: "x" });

    const ts = slack.posts.map((post) => post.ts);
    expect(new Set(ts).size).toBe(3);
    expect([...ts].sort((a, b) => Number(a) - Number(b))).toEqual(ts);
    expect(ts[0]).toMatch(/^\d{10}\.\d{6}$/);
  });

  it("answers not_authed without a token and invalid_auth with a wrong one", async () => {
    expect((await call("auth.test", {}, { token: null })).body).toEqual({ ok: false, error: "not_authed" });
    expect((await call("auth.test", {}, { token: "xoxb-other" })).body).toEqual({ ok: false, error: "invalid_auth" });
  });

  it("answers channel_not_found for a channel it does not know", async () => {
    const answer = await call("chat.postMessage", { channel: "C0000000404", text: "x" });

    expect(answer.body).toEqual({ ok: false, error: "channel_not_found" });
    expect(slack.posts).toEqual([]);
  });

  it("refuses more than 50 blocks with invalid_blocks", async () => {
    const blocks = Array.from({ length: 51 }, () => section("x"));

    const answer = await call("chat.postMessage", { channel: CHANNEL, text: "x", blocks });

    expect(answer.body).toMatchObject({ ok: false, error: "invalid_blocks" });
    expect(slack.posts).toEqual([]);
  });

  it.each([
    ["a section text over 3,000 characters", [section("x".repeat(3_001))]],
    ["a header over 150 characters", [{ type: "header", text: { type: "plain_text", text: "x".repeat(151) } }]],
    ["a mrkdwn header", [{ type: "header", text: { type: "mrkdwn", text: "x" } }]],
    [
      "a section field over 2,000 characters",
      [{ type: "section", fields: [{ type: "mrkdwn", text: "x".repeat(2_001) }] }],
    ],
    [
      "more than 10 section fields",
      [{ type: "section", fields: Array.from({ length: 11 }, () => ({ type: "mrkdwn", text: "x" })) }],
    ],
    [
      "a button label over 75 characters",
      [
        {
          type: "actions",
          elements: [{ type: "button", text: { type: "plain_text", text: "x".repeat(76) }, url: "https://x" }],
        },
      ],
    ],
    ["an unknown block type", [{ type: "banner", text: "x" }]],
  ])("refuses %s with invalid_blocks and says where", async (_case, blocks) => {
    const answer = await call("chat.postMessage", { channel: CHANNEL, text: "x", blocks });

    expect(answer.body).toMatchObject({ ok: false, error: "invalid_blocks" });
    const messages = (answer.body.response_metadata as { messages: string[] }).messages;
    expect(messages[0]).toMatch(/^\[ERROR\] .+ \[json-pointer:\/blocks\/0.*\]$/);
  });

  it("refuses a text over 40,000 characters with msg_too_long and a post without content with no_text", async () => {
    expect((await call("chat.postMessage", { channel: CHANNEL, text: "x".repeat(40_001) })).body).toEqual({
      ok: false,
      error: "msg_too_long",
    });
    expect((await call("chat.postMessage", { channel: CHANNEL })).body).toEqual({ ok: false, error: "no_text" });
  });

  it("refuses blocks that are not a JSON array with invalid_blocks_format", async () => {
    const answer = await call(
      "chat.postMessage",
      { channel: CHANNEL, text: "x", blocks: "[not json" },
      { encoding: "form" },
    );

    expect(answer.body).toEqual({ ok: false, error: "invalid_blocks_format" });
  });

  it("applies queued faults in order, only to the named method, then answers normally", async () => {
    slack.failNext("chat.postMessage", 2, { error: "not_in_channel" });
    slack.failNext("chat.postMessage", 1, { status: 503 });

    const answers = [];
    for (let index = 0; index < 4; index += 1)
      answers.push(await call("chat.postMessage", { channel: CHANNEL, text: "x" }));

    expect(answers.map((answer) => [answer.status, answer.body.error ?? "ok"])).toEqual([
      [200, "not_in_channel"],
      [200, "not_in_channel"],
      [503, "internal_error"],
      [200, "ok"],
    ]);
    expect((await call("auth.test", {})).body.ok).toBe(true);
    expect(slack.calls).toEqual({ "chat.postMessage": 4, "auth.test": 1 });
  });

  it("records a post it answers 500 to when told to accept then fail", async () => {
    slack.failNext("chat.postMessage", 1, { acceptThenFail: true });

    const response = await fetch(`${slack.url}/api/chat.postMessage`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ channel: CHANNEL, text: "x" }),
    });

    expect(response.status).toBe(500);
    expect(slack.posts).toHaveLength(1);
  });

  it("sends Retry-After with a 429 when given one", async () => {
    slack.failNext("chat.postMessage", 1, { status: 429, retryAfter: 7 });

    const response = await fetch(`${slack.url}/api/chat.postMessage`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ channel: CHANNEL, text: "x" }),
    });

    expect(response.status).toBe(429);
    expect(response.headers.get("retry-after")).toBe("7");
  });

  it("forgets posts, calls and pending faults on reset", async () => {
    await call("chat.postMessage", { channel: CHANNEL, text: "x" });
    slack.failNext("chat.postMessage", 1, { error: "is_archived" });

    slack.reset();

    expect(slack.posts).toEqual([]);
    expect(slack.calls).toEqual({});
    expect((await call("chat.postMessage", { channel: CHANNEL, text: "x" })).body.ok).toBe(true);
  });

  it("serves conversations.history and conversations.replies with oldest/latest windows, paging, and metadata only when asked", async () => {
    const metadata = { event_type: "respondent_reply", event_payload: { event_id: "e1" } };
    const first = await call("chat.postMessage", { channel: CHANNEL, text: "one", metadata }, { encoding: "form" });
    const parent = String(first.body.ts);
    await call("chat.postMessage", { channel: CHANNEL, text: "two", thread_ts: parent }, { encoding: "form" });
    const third = await call("chat.postMessage", { channel: CHANNEL, text: "three" });

    const history = await call("conversations.history", { channel: CHANNEL, include_all_metadata: true });
    expect(history.body.messages).toMatchObject([{ text: "three" }, { text: "one", metadata }]);

    const withoutMetadata = await call("conversations.history", { channel: CHANNEL });
    expect(JSON.stringify(withoutMetadata.body.messages)).not.toContain("event_payload");

    const newer = await call("conversations.history", { channel: CHANNEL, oldest: parent });
    expect(newer.body.messages).toMatchObject([{ text: "three", ts: third.body.ts }]);

    const paged = await call("conversations.history", { channel: CHANNEL, limit: 1 });
    expect(paged.body).toMatchObject({ messages: [{ text: "three" }], has_more: true });
    const cursor = (paged.body.response_metadata as { next_cursor: string }).next_cursor;
    const next = await call("conversations.history", { channel: CHANNEL, limit: 1, cursor });
    expect(next.body).toMatchObject({ messages: [{ text: "one" }], has_more: false });

    const thread = await call("conversations.replies", { channel: CHANNEL, ts: parent, include_all_metadata: true });
    expect(thread.body.messages).toMatchObject([
      { text: "one", metadata },
      { text: "two", thread_ts: parent },
    ]);
  });

  it("refuses history reads with missing_scope when the token lacks the history scopes", async () => {
    const blind = await startFakeSlack({ token: TOKEN, channels: [CHANNEL, "G0PRIVATE01"], scopes: ["chat:write"] });
    try {
      const answer = await fetch(`${blind.url}/api/conversations.history`, {
        method: "POST",
        headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify({ channel: "G0PRIVATE01" }),
      });
      expect(await answer.json()).toMatchObject({ ok: false, error: "missing_scope", needed: "groups:history" });
      expect(answer.headers.get("x-oauth-scopes")).toBe("chat:write");
    } finally {
      await blind.close();
    }
  });

  it("records a post and then drops the connection when told to accept then drop", async () => {
    slack.failNext("chat.postMessage", 1, { acceptThenDrop: true });

    await expect(call("chat.postMessage", { channel: CHANNEL, text: "lost answer" })).rejects.toThrow();

    expect(slack.posts.map((post) => post.text)).toEqual(["lost answer"]);
  });

  it("answers 429 with Retry-After to posts beyond its per-channel rate, and counts them", async () => {
    const paced = await startFakeSlack({ token: TOKEN, acceptAnyChannel: true, postsPerSecondPerChannel: 1 });
    try {
      const post = (channel: string) =>
        fetch(`${paced.url}/api/chat.postMessage`, {
          method: "POST",
          headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
          body: JSON.stringify({ channel, text: "hi" }),
        });
      expect((await post("C0RATE00001")).status).toBe(200);
      const limited = await post("C0RATE00001");
      expect(limited.status).toBe(429);
      expect(limited.headers.get("retry-after")).toBe("1");
      // Another channel has its own rate.
      expect((await post("C0RATE00002")).status).toBe(200);
      expect(paced.rateLimited).toBe(1);
      expect(paced.posts).toHaveLength(2);
    } finally {
      await paced.close();
    }
  });

  it("gives a message the ts of its clock's time, still unique and increasing", async () => {
    const at = new Date("2026-12-01T09:00:00.000Z");
    const clocked = await startFakeSlack({ token: TOKEN, acceptAnyChannel: true, clock: () => at });
    try {
      const post = async () =>
        (
          (await (
            await fetch(`${clocked.url}/api/chat.postMessage`, {
              method: "POST",
              headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
              body: JSON.stringify({ channel: "C0CLOCK0001", text: "hi" }),
            })
          ).json()) as { ts: string }
        ).ts;
      const [first, second] = [await post(), await post()];
      expect(first).toBe(`${at.getTime() / 1000}.000000`);
      expect(Number(second)).toBeGreaterThan(Number(first));
    } finally {
      await clocked.close();
    }
  });
});
