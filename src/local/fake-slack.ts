import { createHmac, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { fakeSlackPage } from "./fake-slack-page.ts";

/**
 * A stand-in for the Slack Web API methods the notifier calls, over real HTTP on 127.0.0.1,
 * so the real `WebClient` (retries, timeouts, 429 handling, form encoding) runs unchanged
 * against it: `slackApiUrl` = `${url}/api/`. It checks the bot token and Slack's Block Kit
 * limits, records every post, and can be told to fail the next calls in Slack's ways.
 */

export interface RecordedPost {
  channel: string;
  text: string;
  blocks: unknown[];
  threadTs: string | undefined;
  ts: string;
  unfurlLinks: boolean | undefined;
  unfurlMedia: boolean | undefined;
  /** The message metadata (`event_type`, `event_payload`) the post carried, if any. */
  metadata: { event_type: string; event_payload: Record<string, unknown> } | undefined;
}

/** A `views.open` the app made (the Reply modal). */
export interface RecordedView {
  triggerId: string;
  view: Record<string, unknown>;
  /** The id Slack gave the view; a submission of it carries this id. */
  viewId: string;
  /** The channel and user of the interaction whose trigger opened it. */
  channel: string | undefined;
  user: string | undefined;
  /** Submitted and closed by the app's empty answer, or cancelled. */
  closed: boolean;
  /** The app's `response_action: errors` to the last submission (the modal stays open). */
  errors: Record<string, string> | undefined;
}

/** A `chat.update` the app made; the message in `posts` is updated in place too. */
export interface RecordedUpdate {
  channel: string;
  ts: string;
  text: string;
  blocks: unknown[];
}

/** A `chat.postEphemeral`: a message only `user` sees. */
export interface RecordedEphemeral {
  channel: string;
  user: string;
  text: string;
  blocks: unknown[];
  threadTs: string | undefined;
}

/** What the app answered through a slash command's `response_url`. */
export interface RecordedResponse {
  responseId: string;
  body: Record<string, unknown>;
}

/** The answer of the app's Request URL to a signed request the fake Slack sent. */
export interface InteractionAnswer {
  status: number;
  body: string;
}

export type FakeSlackMethod =
  | "chat.postMessage"
  | "chat.update"
  | "chat.postEphemeral"
  | "views.open"
  | "auth.test"
  | "conversations.info"
  | "conversations.history"
  | "conversations.replies";

/** The bot scopes the fake Slack's token has unless told otherwise (those of slack-app-manifest.yaml). */
export const FAKE_SLACK_SCOPES = [
  "chat:write",
  "channels:read",
  "groups:read",
  "channels:history",
  "groups:history",
  "commands",
];

export type FakeSlackFault =
  /** HTTP 200 with `{ ok: false, error }`: a platform error such as channel_not_found. */
  | { error: string }
  /** HTTP 429; the Retry-After header is sent only when `retryAfter` is given. */
  | { status: 429; retryAfter?: number }
  | { status: 500 | 502 | 503 }
  /** Answers normally, but only after this delay (the call is still carried out: models a slow Slack). */
  | { delayMs: number }
  /** Posts (recorded as delivered), then answers HTTP 500: "Slack accepted, but we never heard". */
  | { acceptThenFail: true }
  /** Posts (recorded as delivered), then drops the connection without answering. */
  | { acceptThenDrop: true };

export interface FakeChannel {
  id: string;
  name?: string;
  /** false: posts answer not_in_channel (the app was not invited). Default true. */
  isMember?: boolean;
  /** true: posts answer is_archived. Default false. */
  isArchived?: boolean;
}

export interface FakeSlackOptions {
  /** The only bot token accepted (default FAKE_SLACK_TOKEN). */
  token?: string;
  /** Channels that exist; posts elsewhere answer channel_not_found (unless acceptAnyChannel). */
  channels?: Array<string | FakeChannel>;
  /** Any channel id exists, is joined and is not archived. */
  acceptAnyChannel?: boolean;
  onPost?: (post: RecordedPost) => void;
  /** The token's scopes (sent as x-oauth-scopes; reading history needs channels:history / groups:history). */
  scopes?: readonly string[];
  /**
   * Posts one channel takes per second, as Slack allows about one: a post beyond it answers 429
   * with Retry-After. Unset: no limit.
   */
  postsPerSecondPerChannel?: number;
  /** Slack's clock: a message's ts is the time it was posted (epoch seconds, unique per message). */
  clock?: () => Date;
  /** Signs the interactions and commands it sends (default: one made up at start, see `signingSecret`). */
  signingSecret?: string;
  /** The app's Request URL (`POST /slack/events`); can also be set later with `setRequestUrl`. */
  requestUrl?: string;
}

export interface FakeSlack {
  /** `http://127.0.0.1:<port>`; the API lives under `${url}/api/`. */
  url: string;
  token: string;
  /** The web page of its channels: `${url}/` (see src/local/fake-slack-page.ts). */
  readonly pageUrl: string;
  /** Every accepted post, in order (a `chat.update` changes the post's text and blocks in place). */
  readonly posts: RecordedPost[];
  readonly views: RecordedView[];
  readonly updates: RecordedUpdate[];
  readonly ephemerals: RecordedEphemeral[];
  readonly responses: RecordedResponse[];
  /** The app's signing secret, as Slack holds it: every request the fake Slack sends is signed with it. */
  readonly signingSecret: string;
  setRequestUrl(url: string): void;
  /**
   * Sends an interaction (`payload=<json>`, form-encoded) to the Request URL, signed as Slack signs
   * (v0, now): `sign` overrides the signature or the timestamp to test refusals.
   */
  sendInteraction(payload: Record<string, unknown>, sign?: SignOverride): Promise<InteractionAnswer>;
  /** Sends a slash command (form fields) to the Request URL, signed; its `response_url` points back here. */
  sendCommand(fields: SlashCommandFields, sign?: SignOverride): Promise<InteractionAnswer & { responseId: string }>;
  /** A click on a button of a recorded post, as Slack sends it (`block_actions`). */
  clickButton(post: RecordedPost, actionId: string, user: string): Promise<InteractionAnswer>;
  /** Submits a recorded view with this text in its input (`view_submission`); `viewHash` to repeat a submission. */
  submitView(
    view: RecordedView,
    values: Record<string, Record<string, string>>,
    user: string,
  ): Promise<InteractionAnswer>;
  /** Requests received per method, faulted ones included. */
  readonly calls: Readonly<Record<string, number>>;
  /**
   * The next `count` calls of `method` fail with `fault` (queued after earlier faults; applied before
   * the token check). With `whenTextIncludes`, only calls whose `text` contains it take the fault, so
   * a test can aim it at one alert whichever order concurrent posts arrive in.
   */
  failNext(
    method: FakeSlackMethod,
    count: number,
    fault: FakeSlackFault,
    options?: { whenTextIncludes?: string },
  ): void;
  /** Forgets posts, calls and pending faults (ts values keep increasing). */
  reset(): void;
  /** Forgets pending faults only: the channels keep their messages. */
  clearFaults(): void;
  /** 429 answers sent because a channel was posted to faster than `postsPerSecondPerChannel`. */
  readonly rateLimited: number;
  /**
   * Resolves once no call is being handled: every call received so far has been answered, or
   * dropped by a client that gave up. A delayed post (the client timed out) has landed by then.
   */
  idle(): Promise<void>;
  close(): Promise<void>;
}

export const FAKE_SLACK_TOKEN = "xoxb-fake-slack-token";

export interface SignOverride {
  /** Signed with this secret instead of the right one. */
  secret?: string;
  /** The timestamp sent (and signed), epoch seconds. */
  timestamp?: number;
  /** Sent as X-Slack-Signature as is. */
  signature?: string;
}

export interface SlashCommandFields {
  command?: string;
  text: string;
  user_id: string;
  channel_id: string;
}

/** Slack's v0 request signature: HMAC-SHA256 of `v0:<timestamp>:<body>` with the signing secret. */
export function slackSignature(secret: string, timestamp: number, body: string): string {
  return `v0=${createHmac("sha256", secret).update(`v0:${timestamp}:${body}`).digest("hex")}`;
}

/** Block Kit and chat.postMessage limits, as documented by Slack. */
export const FAKE_SLACK_LIMITS = {
  blocks: 50,
  text: 40_000,
  headerText: 150,
  sectionText: 3_000,
  sectionFields: 10,
  fieldText: 2_000,
  contextElements: 10,
  actionsElements: 25,
  buttonText: 75,
  buttonUrl: 3_000,
  buttonValue: 2_000,
  blockId: 255,
  actionId: 255,
} as const;

const MAX_REQUEST_BYTES = 5 * 1024 * 1024;

type Params = Record<string, unknown>;
type Answer = { status: number; body: unknown; headers?: Record<string, string> };

class SlackFailure extends Error {
  constructor(
    readonly error: string,
    readonly messages: string[] = [],
    readonly fields: Record<string, unknown> = {},
  ) {
    super(error);
  }
}

export async function startFakeSlack(options: FakeSlackOptions = {}): Promise<FakeSlack> {
  const token = options.token ?? FAKE_SLACK_TOKEN;
  const channels = new Map<string, Required<FakeChannel>>();
  for (const entry of options.channels ?? []) {
    const channel = typeof entry === "string" ? { id: entry } : entry;
    channels.set(channel.id, {
      id: channel.id,
      name: channel.name ?? `channel-${channel.id.toLowerCase()}`,
      isMember: channel.isMember ?? true,
      isArchived: channel.isArchived ?? false,
    });
  }

  const posts: RecordedPost[] = [];
  const views: RecordedView[] = [];
  const updates: RecordedUpdate[] = [];
  const ephemerals: RecordedEphemeral[] = [];
  const responses: RecordedResponse[] = [];
  const signingSecret = options.signingSecret ?? randomBytes(16).toString("hex");
  let requestUrl = options.requestUrl;
  /** trigger_id -> the interaction that issued it (a trigger opens one view, within 3 s at Slack). */
  const triggers = new Map<string, { channel: string | undefined; user: string | undefined; at: number }>();
  let sequence = 0;
  const nextId = (prefix: string) => {
    sequence += 1;
    return `${prefix}${Date.now().toString(36).toUpperCase()}${String(sequence).padStart(4, "0")}`;
  };
  const scopes = options.scopes ?? FAKE_SLACK_SCOPES;
  /** Per channel, the times (ms) of its posts in the last second, for the rate limit. */
  const recentPosts = new Map<string, number[]>();
  let rateLimited = 0;
  let calls: Record<string, number> = {};
  let faults = new Map<string, Array<{ fault: FakeSlackFault; whenTextIncludes?: string }>>();
  let lastTsMicros = 0;
  const pendingTimers = new Set<NodeJS.Timeout>();
  let callsInFlight = 0;
  const idleWaiters: Array<() => void> = [];
  let url = "";

  function findChannel(id: string): Required<FakeChannel> | undefined {
    const known = channels.get(id);
    if (known) return known;
    if (options.acceptAnyChannel && id)
      return { id, name: `channel-${id.toLowerCase()}`, isMember: true, isArchived: false };
    return undefined;
  }

  /** The post's time in microseconds, after every earlier ts (Slack's ts are unique and ordered). */
  function nextTs(): string {
    const now = (options.clock ?? (() => new Date()))().getTime() * 1_000;
    lastTsMicros = Math.max(now, lastTsMicros + 100);
    return `${Math.floor(lastTsMicros / 1_000_000)}.${String(lastTsMicros % 1_000_000).padStart(6, "0")}`;
  }

  function postMessage(params: Params): Answer {
    const channelId = stringParam(params.channel) ?? "";
    const channel = findChannel(channelId);
    if (!channel) throw new SlackFailure("channel_not_found");
    if (channel.isArchived) throw new SlackFailure("is_archived");
    if (!channel.isMember) throw new SlackFailure("not_in_channel");
    const text = stringParam(params.text) ?? "";
    const blocks = blocksParam(params.blocks);
    if (!text && blocks.length === 0) throw new SlackFailure("no_text");
    if (text.length > FAKE_SLACK_LIMITS.text) throw new SlackFailure("msg_too_long");
    const problems = validateBlocks(blocks);
    if (problems.length > 0) throw new SlackFailure("invalid_blocks", problems);

    const post: RecordedPost = {
      channel: channelId,
      text,
      blocks,
      threadTs: stringParam(params.thread_ts),
      ts: nextTs(),
      unfurlLinks: booleanParam(params.unfurl_links),
      unfurlMedia: booleanParam(params.unfurl_media),
      metadata: metadataParam(params.metadata),
    };
    posts.push(post);
    try {
      options.onPost?.(post);
    } catch {
      // A failing observer must not turn an accepted post into an error answer.
    }
    return ok({ channel: channelId, ts: post.ts, message: { type: "message", text, ts: post.ts } });
  }

  function conversationsInfo(params: Params): Answer {
    const channel = findChannel(stringParam(params.channel) ?? "");
    if (!channel) throw new SlackFailure("channel_not_found");
    return ok({
      channel: {
        id: channel.id,
        name: channel.name,
        is_channel: true,
        is_private: channel.id.startsWith("G"),
        is_member: channel.isMember,
        is_archived: channel.isArchived,
      },
    });
  }

  /**
   * `conversations.history` (top-level messages) and `conversations.replies` (a thread: its
   * first message and its replies), newest first as Slack answers, with `oldest` / `latest`
   * (exclusive unless `inclusive`), `limit` and cursor paging; message metadata only with
   * `include_all_metadata`.
   */
  function readMessages(params: Params, thread: boolean): Answer {
    const channelId = stringParam(params.channel) ?? "";
    const channel = findChannel(channelId);
    if (!channel) throw new SlackFailure("channel_not_found");
    const needed = channelId.startsWith("G") ? "groups:history" : "channels:history";
    if (!scopes.includes(needed)) throw new SlackFailure("missing_scope", [], { needed });
    if (!channel.isMember && channelId.startsWith("G")) throw new SlackFailure("channel_not_found");
    const threadTs = stringParam(params.ts);
    if (thread && !threadTs) throw new SlackFailure("invalid_arguments");
    const inclusive = booleanParam(params.inclusive) === true;
    const oldest = Number(stringParam(params.oldest) ?? "0");
    const latest = Number(stringParam(params.latest) ?? "Infinity");
    const inWindow = (ts: string) =>
      inclusive ? Number(ts) >= oldest && Number(ts) <= latest : Number(ts) > oldest && Number(ts) < latest;
    const matching = posts.filter(
      (post) =>
        post.channel === channelId &&
        inWindow(post.ts) &&
        (thread ? post.ts === threadTs || post.threadTs === threadTs : post.threadTs === undefined),
    );
    // History is newest first; a thread reads from its first message on.
    const ordered = thread ? matching : [...matching].reverse();
    const limit = Math.max(1, Math.min(1_000, Number(stringParam(params.limit) ?? "100")));
    const start = Number(stringParam(params.cursor) ?? "0") || 0;
    const page = ordered.slice(start, start + limit);
    const withMetadata = booleanParam(params.include_all_metadata) === true;
    const more = start + limit < ordered.length;
    return ok({
      messages: page.map((post) => ({
        type: "message",
        ts: post.ts,
        text: post.text,
        ...(post.threadTs ? { thread_ts: post.threadTs } : {}),
        ...(withMetadata && post.metadata ? { metadata: post.metadata } : {}),
      })),
      has_more: more,
      response_metadata: { next_cursor: more ? String(start + limit) : "" },
    });
  }

  /** Whether a post to the channel now goes beyond its rate; if so, the seconds to wait. */
  function overRate(channelId: string): number | undefined {
    const rate = options.postsPerSecondPerChannel;
    if (rate === undefined) return undefined;
    const now = Date.now();
    const recent = (recentPosts.get(channelId) ?? []).filter((at) => now - at < 1_000);
    recentPosts.set(channelId, recent);
    if (recent.length < rate) {
      recent.push(now);
      return undefined;
    }
    return Math.max(1, Math.ceil((1_000 - (now - (recent[0] ?? now))) / 1_000));
  }

  function authTest(): Answer {
    return ok({
      url: `${url}/`,
      team: "Fake Slack workspace",
      user: "respondent-notifier",
      team_id: "T0FAKE00001",
      user_id: "U0FAKEBOT01",
      bot_id: "B0FAKEBOT01",
    });
  }

  function viewsOpen(params: Params): Answer {
    const triggerId = stringParam(params.trigger_id) ?? "";
    const trigger = triggers.get(triggerId);
    if (!trigger) throw new SlackFailure("invalid_trigger_id");
    if (Date.now() - trigger.at > 3_000) throw new SlackFailure("expired_trigger_id");
    triggers.delete(triggerId);
    let view: unknown = params.view;
    if (typeof view === "string") {
      try {
        view = JSON.parse(view);
      } catch {
        throw new SlackFailure("invalid_arguments");
      }
    }
    if (!isRecord(view) || view.type !== "modal" || !isRecord(view.title)) throw new SlackFailure("invalid_arguments");
    const problems = validateBlocks(Array.isArray(view.blocks) ? view.blocks : [], ["input"]);
    if (problems.length > 0) throw new SlackFailure("invalid_arguments", problems);
    const viewId = nextId("V");
    views.push({
      triggerId,
      view,
      viewId,
      channel: trigger.channel,
      user: trigger.user,
      closed: false,
      errors: undefined,
    });
    return ok({ view: { id: viewId, hash: `${viewId}.h1`, ...view } });
  }

  function chatUpdate(params: Params): Answer {
    const channel = stringParam(params.channel) ?? "";
    const ts = stringParam(params.ts) ?? "";
    const post = posts.find((candidate) => candidate.channel === channel && candidate.ts === ts);
    if (!post) throw new SlackFailure("message_not_found");
    const text = stringParam(params.text) ?? "";
    const blocks = blocksParam(params.blocks);
    const problems = validateBlocks(blocks);
    if (problems.length > 0) throw new SlackFailure("invalid_blocks", problems);
    post.text = text || post.text;
    post.blocks = blocks;
    const metadata = metadataParam(params.metadata);
    if (metadata) post.metadata = metadata;
    updates.push({ channel, ts, text, blocks });
    return ok({ channel, ts, text });
  }

  function postEphemeral(params: Params): Answer {
    const channel = stringParam(params.channel) ?? "";
    if (!findChannel(channel)) throw new SlackFailure("channel_not_found");
    const user = stringParam(params.user) ?? "";
    if (!user) throw new SlackFailure("user_not_in_channel");
    const blocks = blocksParam(params.blocks);
    const problems = validateBlocks(blocks);
    if (problems.length > 0) throw new SlackFailure("invalid_blocks", problems);
    ephemerals.push({
      channel,
      user,
      text: stringParam(params.text) ?? "",
      blocks,
      threadTs: stringParam(params.thread_ts),
    });
    return ok({ message_ts: nextTs() });
  }

  const methods: Record<string, (params: Params) => Answer> = {
    "chat.postMessage": postMessage,
    "chat.update": chatUpdate,
    "chat.postEphemeral": postEphemeral,
    "views.open": viewsOpen,
    "conversations.info": conversationsInfo,
    "conversations.history": (params) => readMessages(params, false),
    "conversations.replies": (params) => readMessages(params, true),
    "auth.test": authTest,
  };

  function callMethod(method: string, params: Params, headers: IncomingMessage["headers"]): Answer {
    const handler = methods[method];
    if (!handler) return { status: 404, body: { ok: false, error: "unknown_method" } };
    const presented = bearerToken(headers.authorization) ?? stringParam(params.token);
    if (!presented) return platformError(new SlackFailure("not_authed"));
    if (presented !== token) return platformError(new SlackFailure("invalid_auth"));
    try {
      return handler(params);
    } catch (error) {
      if (error instanceof SlackFailure) return platformError(error);
      throw error;
    }
  }

  function takeFault(method: string, params: Params): FakeSlackFault | undefined {
    const queue = faults.get(method) ?? [];
    const text = stringParam(params.text) ?? "";
    const index = queue.findIndex(
      (queued) => queued.whenTextIncludes === undefined || text.includes(queued.whenTextIncludes),
    );
    if (index < 0) return undefined;
    return queue.splice(index, 1)[0]?.fault;
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = new URL(request.url ?? "/", "http://127.0.0.1").pathname;
    if (path === "/" && request.method === "GET") {
      response.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
      response.end(fakeSlackPage());
      return;
    }
    if (path === "/ui/state" && request.method === "GET") {
      send(response, { status: 200, body: pageState() });
      return;
    }
    if (path.startsWith("/ui/") && request.method === "POST") {
      let input: Record<string, unknown>;
      try {
        const parsed: unknown = JSON.parse(await readBody(request));
        input = isRecord(parsed) ? parsed : {};
      } catch {
        input = {};
      }
      send(response, { status: 200, body: await pageAction(path, input) });
      return;
    }
    const hook = /^\/hooks\/commands\/([A-Za-z0-9]+)$/.exec(path);
    if (hook?.[1] && request.method === "POST") {
      let body: unknown;
      try {
        body = JSON.parse(await readBody(request));
      } catch {
        body = undefined;
      }
      if (!isRecord(body) || (typeof body.text !== "string" && !Array.isArray(body.blocks))) {
        send(response, { status: 400, body: "invalid_payload" });
        return;
      }
      responses.push({ responseId: hook[1], body });
      send(response, { status: 200, body: "ok" });
      return;
    }
    const match = /^\/api\/([A-Za-z.]+)$/.exec(path);
    if (!match?.[1] || request.method !== "POST") {
      send(response, { status: 404, body: { ok: false, error: "unknown_method" } });
      return;
    }
    const method = match[1];
    calls[method] = (calls[method] ?? 0) + 1;
    let params: Params;
    try {
      params = parseParams(await readBody(request), request.headers["content-type"]);
    } catch (error) {
      const tooLarge = error instanceof RangeError;
      send(response, {
        status: tooLarge ? 413 : 200,
        body: { ok: false, error: tooLarge ? "request_too_large" : "invalid_form_data" },
      });
      return;
    }

    const fault = takeFault(method, params);
    if (fault && "delayMs" in fault) await delay(fault.delayMs);
    if (fault && "status" in fault) {
      const headers: Record<string, string> =
        fault.status === 429 && fault.retryAfter !== undefined ? { "retry-after": String(fault.retryAfter) } : {};
      send(response, {
        status: fault.status,
        body: { ok: false, error: fault.status === 429 ? "ratelimited" : "internal_error" },
        headers,
      });
      return;
    }
    if (fault && "error" in fault) {
      send(response, platformError(new SlackFailure(fault.error)));
      return;
    }
    if (method === "chat.postMessage" && bearerToken(request.headers.authorization) === token) {
      const retryAfter = overRate(stringParam(params.channel) ?? "");
      if (retryAfter !== undefined) {
        rateLimited += 1;
        send(response, {
          status: 429,
          body: { ok: false, error: "ratelimited" },
          headers: { "retry-after": String(retryAfter) },
        });
        return;
      }
    }
    const answer = callMethod(method, params, request.headers);
    if (fault && "acceptThenFail" in fault && answer.status === 200) {
      send(response, { status: 500, body: "upstream connect error" });
      return;
    }
    if (fault && "acceptThenDrop" in fault && answer.status === 200) {
      request.socket.destroy();
      return;
    }
    send(response, { ...answer, headers: { "x-oauth-scopes": scopes.join(","), ...answer.headers } });
  }

  function delay(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        pendingTimers.delete(timer);
        resolve();
      }, ms);
      pendingTimers.add(timer);
    });
  }

  const server = createServer((request, response) => {
    callsInFlight += 1;
    handle(request, response)
      .catch(() => {
        if (!response.headersSent) send(response, { status: 500, body: { ok: false, error: "fatal_error" } });
      })
      .finally(() => {
        callsInFlight -= 1;
        if (callsInFlight === 0) for (const resolve of idleWaiters.splice(0)) resolve();
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  /** What the page shows: each channel's messages (updates applied) and the ephemerals, the open modals. */
  function pageState(): Record<string, unknown> {
    const ids = [...new Set([...posts.map((post) => post.channel), ...ephemerals.map((note) => note.channel)])];
    const updated = new Set(updates.map((update) => `${update.channel}/${update.ts}`));
    return {
      channels: ids.map((id) => ({
        id,
        messages: posts
          .filter((post) => post.channel === id)
          .map((post) => ({
            ts: post.ts,
            threadTs: post.threadTs,
            text: post.text,
            blocks: post.blocks,
            edited: updated.has(`${post.channel}/${post.ts}`),
          })),
        ephemerals: ephemerals.flatMap((note, index) =>
          note.channel === id
            ? [
                {
                  index,
                  ephemeral: true,
                  user: note.user,
                  threadTs: note.threadTs,
                  text: note.text,
                  blocks: note.blocks,
                },
              ]
            : [],
        ),
      })),
      views: views.map((view) => ({
        viewId: view.viewId,
        user: view.user,
        view: view.view,
        closed: view.closed,
        errors: view.errors,
      })),
    };
  }

  /** A click or a modal's Send on the page becomes the signed interaction Slack would send. */
  async function pageAction(path: string, input: Record<string, unknown>): Promise<Record<string, unknown>> {
    const user = typeof input.user === "string" ? input.user : "U0DEMOUSER1";
    try {
      if (path === "/ui/click" && typeof input.actionId === "string") {
        let post: RecordedPost | undefined;
        if (typeof input.ephemeral === "number") {
          const note = ephemerals[input.ephemeral];
          if (note) post = { ...pseudoPost(note), ts: `${note.threadTs ?? "0"}.e${input.ephemeral}`.slice(0, 40) };
        } else {
          post = posts.find((candidate) => candidate.channel === input.channel && candidate.ts === input.ts);
        }
        if (!post) return { ok: false, error: "message_not_found" };
        const answer = await fake.clickButton(post, input.actionId, user);
        return { ok: answer.status === 200, status: answer.status };
      }
      if (path === "/ui/submit") {
        const view = views.find((candidate) => candidate.viewId === input.viewId);
        if (!view || view.closed) return { ok: false, error: "view_not_found" };
        const values = isRecord(input.values) ? (input.values as Record<string, Record<string, string>>) : {};
        const answer = await fake.submitView(view, values, user);
        return { ok: answer.status === 200, status: answer.status };
      }
      if (path === "/ui/close") {
        const view = views.find((candidate) => candidate.viewId === input.viewId);
        if (view) view.closed = true;
        return { ok: true };
      }
      return { ok: false, error: "unknown_action" };
    } catch (error) {
      return { ok: false, error: error instanceof Error ? error.message : "failed" };
    }
  }

  async function sendSigned(body: string, contentType: string, sign: SignOverride = {}): Promise<InteractionAnswer> {
    if (!requestUrl) throw new Error("fake Slack: no Request URL set (setRequestUrl)");
    const timestamp = sign.timestamp ?? Math.floor(Date.now() / 1000);
    const signature = sign.signature ?? slackSignature(sign.secret ?? signingSecret, timestamp, body);
    const answer = await fetch(requestUrl, {
      method: "POST",
      headers: {
        "content-type": contentType,
        "x-slack-request-timestamp": String(timestamp),
        "x-slack-signature": signature,
        "user-agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
      },
      body,
      signal: AbortSignal.timeout(10_000),
    });
    return { status: answer.status, body: await answer.text() };
  }

  function sendInteraction(payload: Record<string, unknown>, sign?: SignOverride): Promise<InteractionAnswer> {
    const triggerId = typeof payload.trigger_id === "string" ? payload.trigger_id : undefined;
    if (triggerId) {
      const channel =
        isRecord(payload.channel) && typeof payload.channel.id === "string" ? payload.channel.id : undefined;
      const user = isRecord(payload.user) && typeof payload.user.id === "string" ? payload.user.id : undefined;
      triggers.set(triggerId, { channel, user, at: Date.now() });
    }
    const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
    return sendSigned(body, "application/x-www-form-urlencoded", sign);
  }

  const fake: FakeSlack = {
    url,
    pageUrl: `${url}/`,
    token,
    posts,
    views,
    updates,
    ephemerals,
    responses,
    signingSecret,
    setRequestUrl(next) {
      requestUrl = next;
    },
    sendInteraction,
    async sendCommand(fields, sign) {
      const responseId = nextId("R");
      const triggerId = nextId("T");
      triggers.set(triggerId, { channel: fields.channel_id, user: fields.user_id, at: Date.now() });
      const body = new URLSearchParams({
        token: "deprecated-verification-token",
        team_id: "T0FAKE00001",
        team_domain: "fake",
        channel_id: fields.channel_id,
        channel_name: `channel-${fields.channel_id.toLowerCase()}`,
        user_id: fields.user_id,
        user_name: fields.user_id.toLowerCase(),
        command: fields.command ?? "/respondent",
        text: fields.text,
        api_app_id: "A0FAKEAPP01",
        response_url: `${url}/hooks/commands/${responseId}`,
        trigger_id: triggerId,
      }).toString();
      const answer = await sendSigned(body, "application/x-www-form-urlencoded", sign);
      return { ...answer, responseId };
    },
    clickButton(post, actionId, user) {
      const button = findButton(post.blocks, actionId);
      if (!button) throw new Error(`fake Slack: the message ${post.ts} has no button ${actionId}`);
      return sendInteraction({
        type: "block_actions",
        user: { id: user, username: user.toLowerCase(), team_id: "T0FAKE00001" },
        api_app_id: "A0FAKEAPP01",
        team: { id: "T0FAKE00001", domain: "fake" },
        container: {
          type: "message",
          message_ts: post.ts,
          channel_id: post.channel,
          is_ephemeral: false,
          ...(post.threadTs ? { thread_ts: post.threadTs } : {}),
        },
        trigger_id: nextId("T"),
        channel: { id: post.channel, name: `channel-${post.channel.toLowerCase()}` },
        message: {
          type: "message",
          ts: post.ts,
          text: post.text,
          blocks: post.blocks,
          ...(post.threadTs ? { thread_ts: post.threadTs } : {}),
        },
        response_url: `${url}/hooks/actions/${nextId("R")}`,
        actions: [
          {
            type: "button",
            action_id: actionId,
            block_id: button.blockId,
            text: button.text,
            ...(button.value === undefined ? {} : { value: button.value }),
            action_ts: String(Date.now() / 1000),
          },
        ],
      });
    },
    async submitView(view, values, user) {
      const state: Record<string, Record<string, { type: string; value: string }>> = {};
      for (const [blockId, actions] of Object.entries(values)) {
        state[blockId] = Object.fromEntries(
          Object.entries(actions).map(([actionId, value]) => [actionId, { type: "plain_text_input", value }]),
        );
      }
      const answer = await sendInteraction({
        type: "view_submission",
        user: { id: user, username: user.toLowerCase(), team_id: "T0FAKE00001" },
        api_app_id: "A0FAKEAPP01",
        team: { id: "T0FAKE00001", domain: "fake" },
        trigger_id: nextId("T"),
        view: {
          ...view.view,
          id: view.viewId,
          hash: `${view.viewId}.h1`,
          team_id: "T0FAKE00001",
          state: { values: state },
        },
      });
      // As Slack does: an empty 200 closes the modal; `response_action: errors` keeps it open, saying why.
      if (answer.status === 200) {
        let errors: Record<string, string> | undefined;
        try {
          const parsed = answer.body ? (JSON.parse(answer.body) as { response_action?: string; errors?: unknown }) : {};
          if (parsed.response_action === "errors" && isRecord(parsed.errors)) {
            errors = parsed.errors as Record<string, string>;
          }
        } catch {
          errors = undefined;
        }
        view.errors = errors;
        view.closed = errors === undefined;
      }
      return answer;
    },
    get calls() {
      return { ...calls };
    },
    failNext(method, count, fault, options = {}) {
      const queue = faults.get(method) ?? [];
      for (let index = 0; index < count; index += 1) queue.push({ fault, ...options });
      faults.set(method, queue);
    },
    reset() {
      posts.length = 0;
      views.length = 0;
      updates.length = 0;
      ephemerals.length = 0;
      responses.length = 0;
      calls = {};
      faults = new Map();
      recentPosts.clear();
      rateLimited = 0;
    },
    clearFaults() {
      faults = new Map();
    },
    get rateLimited() {
      return rateLimited;
    },
    idle() {
      if (callsInFlight === 0) return Promise.resolve();
      return new Promise((resolve) => idleWaiters.push(resolve));
    },
    async close() {
      for (const timer of pendingTimers) clearTimeout(timer);
      pendingTimers.clear();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
  return fake;
}

/** An ephemeral message as a post a button can be clicked on (Slack sends such clicks too). */
function pseudoPost(note: RecordedEphemeral): RecordedPost {
  return {
    channel: note.channel,
    text: note.text,
    blocks: note.blocks,
    threadTs: note.threadTs,
    ts: "0",
    unfurlLinks: undefined,
    unfurlMedia: undefined,
    metadata: undefined,
  };
}

function ok(fields: Record<string, unknown>): Answer {
  return { status: 200, body: { ok: true, ...fields } };
}

function platformError(failure: SlackFailure): Answer {
  const metadata = failure.messages.length > 0 ? { response_metadata: { messages: failure.messages } } : {};
  return { status: 200, body: { ok: false, error: failure.error, ...failure.fields, ...metadata } };
}

/** `metadata` as chat.postMessage takes it: a JSON string in a form, an object in a JSON body. */
function metadataParam(value: unknown): RecordedPost["metadata"] {
  let parsed: unknown = value;
  if (typeof value === "string") {
    try {
      parsed = JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  if (!isRecord(parsed) || typeof parsed.event_type !== "string" || !isRecord(parsed.event_payload)) return undefined;
  return { event_type: parsed.event_type, event_payload: parsed.event_payload };
}

function send(response: ServerResponse, answer: Answer): void {
  if (response.destroyed) return;
  const isJson = typeof answer.body !== "string";
  response.writeHead(answer.status, {
    "content-type": isJson ? "application/json; charset=utf-8" : "text/plain; charset=utf-8",
    ...answer.headers,
  });
  response.end(isJson ? JSON.stringify(answer.body) : answer.body);
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_REQUEST_BYTES) throw new RangeError("request body too large");
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** WebClient sends form encoding with objects JSON-encoded; Slack also accepts JSON bodies. */
function parseParams(body: string, contentType: string | undefined): Params {
  if (contentType?.startsWith("application/json")) {
    if (!body) return {};
    const parsed: unknown = JSON.parse(body);
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new TypeError("not an object");
    return parsed as Params;
  }
  return Object.fromEntries(new URLSearchParams(body));
}

function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer (.+)$/.exec(header ?? "");
  return match?.[1];
}

function stringParam(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "number") return String(value);
  return undefined;
}

function booleanParam(value: unknown): boolean | undefined {
  if (typeof value === "boolean") return value;
  if (value === "true" || value === "1") return true;
  if (value === "false" || value === "0") return false;
  return undefined;
}

function blocksParam(value: unknown): unknown[] {
  if (value === undefined || value === "") return [];
  let blocks = value;
  if (typeof value === "string") {
    try {
      blocks = JSON.parse(value);
    } catch {
      throw new SlackFailure("invalid_blocks_format");
    }
  }
  if (!Array.isArray(blocks)) throw new SlackFailure("invalid_blocks_format");
  return blocks;
}

/** Slack's answer lists each problem as "[ERROR] <what> [json-pointer:<where>]". */
function validateBlocks(blocks: unknown[], extraTypes: readonly string[] = []): string[] {
  const problems: string[] = [];
  const problem = (what: string, where: string) => problems.push(`[ERROR] ${what} [json-pointer:${where}]`);
  if (blocks.length > FAKE_SLACK_LIMITS.blocks) {
    problem(`no more than ${FAKE_SLACK_LIMITS.blocks} items allowed`, "/blocks");
  }
  for (const [index, block] of blocks.entries()) {
    if (isRecord(block) && typeof block.type === "string" && extraTypes.includes(block.type)) continue;
    validateBlock(block, `/blocks/${index}`, problem);
  }
  return problems;
}

type Problem = (what: string, where: string) => void;

function validateBlock(block: unknown, where: string, problem: Problem): void {
  if (!isRecord(block)) {
    problem("must be an object", where);
    return;
  }
  if (block.block_id !== undefined) checkText(block.block_id, FAKE_SLACK_LIMITS.blockId, `${where}/block_id`, problem);
  switch (block.type) {
    case "header":
      checkTextObject(block.text, FAKE_SLACK_LIMITS.headerText, `${where}/text`, problem, ["plain_text"]);
      return;
    case "section": {
      if (block.text === undefined && block.fields === undefined) {
        problem("must provide either text or fields", where);
      }
      if (block.text !== undefined)
        checkTextObject(block.text, FAKE_SLACK_LIMITS.sectionText, `${where}/text`, problem);
      if (block.fields !== undefined) {
        checkArray(block.fields, 1, FAKE_SLACK_LIMITS.sectionFields, `${where}/fields`, problem, (field, at) =>
          checkTextObject(field, FAKE_SLACK_LIMITS.fieldText, at, problem),
        );
      }
      return;
    }
    case "context":
      checkArray(block.elements, 1, FAKE_SLACK_LIMITS.contextElements, `${where}/elements`, problem, (element, at) => {
        if (isRecord(element) && element.type === "image") return;
        checkTextObject(element, FAKE_SLACK_LIMITS.sectionText, at, problem);
      });
      return;
    case "actions":
      checkArray(block.elements, 1, FAKE_SLACK_LIMITS.actionsElements, `${where}/elements`, problem, (element, at) =>
        validateActionElement(element, at, problem),
      );
      return;
    case "divider":
    case "image":
    case "rich_text":
    case "markdown":
      return;
    default:
      problem(`unsupported type: ${String(block.type)}`, `${where}/type`);
  }
}

function validateActionElement(element: unknown, where: string, problem: Problem): void {
  if (!isRecord(element)) {
    problem("must be an object", where);
    return;
  }
  if (element.type !== "button") return;
  checkTextObject(element.text, FAKE_SLACK_LIMITS.buttonText, `${where}/text`, problem, ["plain_text"]);
  if (element.url !== undefined) checkText(element.url, FAKE_SLACK_LIMITS.buttonUrl, `${where}/url`, problem);
  if (element.value !== undefined) checkText(element.value, FAKE_SLACK_LIMITS.buttonValue, `${where}/value`, problem);
  if (element.action_id !== undefined) {
    checkText(element.action_id, FAKE_SLACK_LIMITS.actionId, `${where}/action_id`, problem);
  }
}

function checkArray(
  value: unknown,
  min: number,
  max: number,
  where: string,
  problem: Problem,
  each: (item: unknown, where: string) => void,
): void {
  if (!Array.isArray(value)) {
    problem("must be an array", where);
    return;
  }
  if (value.length < min) problem(`must contain at least ${min} item`, where);
  if (value.length > max) problem(`no more than ${max} items allowed`, where);
  for (const [index, item] of value.entries()) each(item, `${where}/${index}`);
}

function checkTextObject(
  value: unknown,
  maxLength: number,
  where: string,
  problem: Problem,
  types: string[] = ["plain_text", "mrkdwn"],
): void {
  if (!isRecord(value)) {
    problem("must be a text object", where);
    return;
  }
  if (typeof value.type !== "string" || !types.includes(value.type)) {
    problem(`must be one of: ${types.join(", ")}`, `${where}/type`);
  }
  checkText(value.text, maxLength, `${where}/text`, problem);
}

function checkText(value: unknown, maxLength: number, where: string, problem: Problem): void {
  if (typeof value !== "string" || value.length === 0) {
    problem("must be a non-empty string", where);
    return;
  }
  if (value.length > maxLength) problem(`must be less than ${maxLength + 1} characters`, where);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A button of a message's actions blocks, by its action_id. */
function findButton(
  blocks: unknown[],
  actionId: string,
): { blockId: string | undefined; text: unknown; value: string | undefined } | undefined {
  for (const block of blocks) {
    if (!isRecord(block) || block.type !== "actions" || !Array.isArray(block.elements)) continue;
    for (const element of block.elements) {
      if (isRecord(element) && element.action_id === actionId) {
        return {
          blockId: typeof block.block_id === "string" ? block.block_id : undefined,
          text: element.text,
          value: typeof element.value === "string" ? element.value : undefined,
        };
      }
    }
  }
  return undefined;
}
