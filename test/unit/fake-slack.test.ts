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
});
