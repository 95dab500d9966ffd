import {
  type Logger,
  LogLevel,
  type RetryOptions,
  WebAPIHTTPError,
  WebAPIPlatformError,
  WebAPIRateLimitedError,
  WebAPIRequestError,
  WebClient,
} from "@slack/web-api";
import { ALERT_EVENT_TYPE, type SlackMessage } from "../domain/alert.ts";
import {
  NotifierError,
  redactSecrets,
  SlackAuthError,
  SlackChannelUnusableError,
  SlackRateLimitedError,
  SlackRejectedError,
  SlackUnavailableError,
} from "../errors.ts";
import type { Log, SlackPoster } from "../ports.ts";

export interface SlackPosterOptions {
  token: string;
  /** `https://slack.com/api/` in production; the fake Slack's `${url}/api/` locally and in tests. */
  apiUrl: string;
  /** Per HTTP attempt. */
  timeoutMs: number;
  log: Log;
  /** Quick retries inside one invocation (5xx, network errors, timeouts); default 2. */
  retries?: number;
  /** The least time between two posts to one channel (default DEFAULT_POST_INTERVAL_MS). */
  postIntervalMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

/** Slack allows about one message per second per channel: a little slower than that, so that no post lands inside the second of the one before. */
export const DEFAULT_POST_INTERVAL_MS = 1_100;

/**
 * A post waits in place at most this long for its channel's turn (its pace, or a short
 * Retry-After); a longer wait goes back to the queue, which redelivers the alert then.
 */
export const MAX_POST_WAIT_MS = 2_000;

/**
 * A few quick retries only: a Lambda must finish well within its timeout, and the queue owns
 * the long retries (with Slack's Retry-After honoured through the message's visibility).
 */
export const SLACK_RETRY_CONFIG = { retries: 2, factor: 2, minTimeout: 200, maxTimeout: 1_000 } as const;

/**
 * chat.postMessage is not idempotent: after a timeout or a 5xx Slack may have posted, and a
 * quick client-side retry would post again with no trace. Posts are therefore tried once; the
 * next attempt reads the channel back first (findAlert) and posts only if the alert is not there.
 */
export const POST_RETRIES = 0;

/** How many pages of history a read-back looks through (200 messages each) before giving up. */
const READ_BACK_PAGES = 5;

/** When Slack says "rate limited" without saying for how long. */
export const DEFAULT_RETRY_AFTER_SECONDS = 30;

export function createSlackPoster(options: SlackPosterOptions): SlackPoster {
  const retryConfig: RetryOptions = { ...SLACK_RETRY_CONFIG, retries: options.retries ?? POST_RETRIES };
  const client = new WebClient(options.token, {
    slackApiUrl: options.apiUrl,
    timeout: options.timeoutMs,
    retryConfig,
    // Throw WebAPIRateLimitedError at once instead of sleeping out Retry-After inside a Lambda.
    rejectRateLimitedCalls: true,
    // WebClient ignores `logLevel` when it is given a logger: this one filters by itself.
    logger: forwardingLogger(options.log, options.token),
  });
  const attempts = (retryConfig.retries ?? 0) + 1;
  // Reads are idempotent: they get the client's quick retries.
  const reader = new WebClient(options.token, {
    slackApiUrl: options.apiUrl,
    timeout: options.timeoutMs,
    retryConfig: SLACK_RETRY_CONFIG,
    rejectRateLimitedCalls: true,
    logger: forwardingLogger(options.log, options.token),
  });

  const pace = new ChannelPace(options.postIntervalMs ?? DEFAULT_POST_INTERVAL_MS, options.sleep);

  const postOnce = async (channelId: string, message: SlackMessage, threadTs: string | undefined) => {
    await pace.turn(channelId, message.metadata?.event_payload.event_id);
    try {
      return await client.chat.postMessage({
        channel: channelId,
        text: message.text,
        blocks: message.blocks,
        thread_ts: threadTs,
        unfurl_links: false,
        unfurl_media: false,
        ...(message.metadata ? { metadata: message.metadata } : {}),
      });
    } catch (error) {
      const classified = classifySlackError(error, {
        channelId,
        neededScope: "chat:write",
        token: options.token,
        timeoutMs: options.timeoutMs,
        attempts,
      });
      if (classified.code === "slack_rate_limited") pace.hold(channelId, classified.retryAfterSeconds ?? 1);
      throw classified;
    }
  };

  return {
    async post(channelId: string, message: SlackMessage, threadTs: string | undefined): Promise<{ ts: string }> {
      let ts: string | undefined;
      try {
        ts = (await postOnce(channelId, message, threadTs)).ts;
      } catch (error) {
        // A 429 certainly did not post: when Slack asks for a short wait, wait here and try once more.
        if (
          !(error instanceof NotifierError) ||
          error.code !== "slack_rate_limited" ||
          pace.waitFor(channelId) > MAX_POST_WAIT_MS
        ) {
          throw error;
        }
        ts = (await postOnce(channelId, message, threadTs)).ts;
      }
      // ok:true without a ts: the message may well be in the channel, so this must not look
      // like "certainly not posted": the next attempt reads the channel back first.
      if (!ts) {
        throw new SlackUnavailableError(`Slack accepted the alert for ${channelId} but returned no message ts`, {
          mayHavePosted: true,
        });
      }
      return { ts };
    },

    async findAlert(channelId, search) {
      const oldest = (search.oldest.getTime() / 1000).toFixed(6);
      try {
        let cursor: string | undefined;
        for (let page = 0; page < READ_BACK_PAGES; page += 1) {
          const common = { channel: channelId, oldest, include_all_metadata: true, limit: 200, cursor };
          const result = search.threadTs
            ? await reader.conversations.replies({ ...common, ts: search.threadTs })
            : await reader.conversations.history(common);
          const found = (result.messages ?? []).find((message) => {
            const metadata = message.metadata as
              | { event_type?: string; event_payload?: Record<string, unknown> }
              | undefined;
            return (
              metadata?.event_type === (search.eventType ?? ALERT_EVENT_TYPE) &&
              metadata.event_payload?.event_id === search.eventId
            );
          });
          if (found?.ts) return { ts: found.ts, threadTs: found.thread_ts };
          cursor = result.response_metadata?.next_cursor || undefined;
          if (!cursor) return undefined;
        }
        return undefined;
      } catch (error) {
        throw classifySlackError(error, {
          channelId,
          neededScope: channelId.startsWith("G") ? "groups:history" : "channels:history",
          token: options.token,
          timeoutMs: options.timeoutMs,
          attempts: SLACK_RETRY_CONFIG.retries + 1,
        });
      }
    },
  };
}

export interface SlackErrorContext {
  /** The channel the call was about, or the method name for calls without one. */
  channelId: string;
  /** Named in the message when Slack answers missing_scope without saying which. */
  neededScope: string;
  /** Scrubbed from anything derived from a foreign error. */
  token: string;
  timeoutMs?: number;
  attempts?: number;
}

const CHANNEL_FIXES: Record<string, (channelId: string) => string> = {
  channel_not_found: (channelId) =>
    `check the channel id (channel details > About > Channel ID); a private channel also answers this until the app is invited: /invite @<app> in <#${channelId}>`,
  not_in_channel: (channelId) => `invite the app: /invite @<app> in <#${channelId}>`,
  is_archived: () => "unarchive the channel or remove the subscription",
  restricted_action: () => "a workspace setting stops the app posting there: ask an admin, or choose another channel",
  restricted_action_read_only_channel: () =>
    "the channel is read-only for apps: allow the app to post, or choose another channel",
};

const AUTH_ERRORS = new Set([
  "invalid_auth",
  "not_authed",
  "account_inactive",
  "token_revoked",
  "token_expired",
  "not_allowed_token_type",
]);

const RATE_LIMIT_ERRORS = new Set(["ratelimited", "rate_limited"]);

/** Slack's own failures; `fatal_error` may even have posted, so none of these is "certainly not posted". */
const UNAVAILABLE_ERRORS = new Set([
  "internal_error",
  "fatal_error",
  "service_unavailable",
  "request_timeout",
  "team_added_to_org",
]);

/** WebClient throws this plain Error (inside p-retry's AbortError) for a 429 without a usable Retry-After. */
const MISSING_RETRY_AFTER = /^Retry header did not contain a valid timeout/;

/**
 * Turns whatever WebClient threw into one of our typed Slack errors. Nothing of the foreign
 * error object is kept (it can hold request and response details); only codes, statuses and
 * scrubbed messages reach our message text.
 */
export function classifySlackError(error: unknown, context: SlackErrorContext): NotifierError {
  const { channelId } = context;
  if (error instanceof WebAPIRateLimitedError) return new SlackRateLimitedError(channelId, error.retryAfter);
  if (error instanceof WebAPIPlatformError) return classifyPlatformError(error, context);
  if (error instanceof WebAPIHTTPError) {
    if (error.statusCode >= 500 || error.statusCode === 408) {
      // Slack may have carried out the call before failing its answer.
      return new SlackUnavailableError(`Slack answered HTTP ${error.statusCode}${afterAttempts(context)}`, {
        mayHavePosted: true,
      });
    }
    return new SlackRejectedError(channelId, `http_${error.statusCode}`);
  }
  if (error instanceof WebAPIRequestError) {
    if (isTimeout(error.original)) {
      const limit = context.timeoutMs === undefined ? "" : ` within ${context.timeoutMs} ms`;
      return new SlackUnavailableError(`Slack did not answer${limit}${afterAttempts(context)}`, {
        mayHavePosted: true,
      });
    }
    const network = networkFailure(error.original, context.token);
    return new SlackUnavailableError(`could not reach Slack (${network.reason})${afterAttempts(context)}`, {
      mayHavePosted: !network.neverSent,
    });
  }
  if (error instanceof Error && MISSING_RETRY_AFTER.test(error.message)) {
    return new SlackRateLimitedError(channelId, DEFAULT_RETRY_AFTER_SECONDS);
  }
  const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return new SlackUnavailableError(`unexpected failure calling Slack: ${scrub(reason, context.token)}`, {
    mayHavePosted: true,
  });
}

function classifyPlatformError(error: WebAPIPlatformError, context: SlackErrorContext): NotifierError {
  const { channelId } = context;
  const code = safeCode(error.data.error, context.token);
  const channelFix = CHANNEL_FIXES[code];
  if (channelFix) return new SlackChannelUnusableError(channelId, code, channelFix(channelId));
  if (code === "missing_scope") {
    const needed =
      "needed" in error.data && typeof error.data.needed === "string"
        ? safeCode(error.data.needed, context.token)
        : context.neededScope;
    return new SlackAuthError(`missing_scope: add the ${needed} scope in OAuth & Permissions and reinstall the app`);
  }
  if (AUTH_ERRORS.has(code)) return new SlackAuthError(code);
  if (RATE_LIMIT_ERRORS.has(code)) {
    return new SlackRateLimitedError(
      channelId,
      error.data.response_metadata?.retryAfter ?? DEFAULT_RETRY_AFTER_SECONDS,
    );
  }
  if (UNAVAILABLE_ERRORS.has(code)) {
    return new SlackUnavailableError(`Slack failed the call (${code})`, { mayHavePosted: true });
  }
  return new SlackRejectedError(channelId, code);
}

/** Error codes (and scope lists) are short words; anything else from the server is not echoed. */
function safeCode(value: unknown, token: string): string {
  const looksLikeCode = typeof value === "string" && /^[a-z0-9_.:,-]{1,100}$/i.test(value);
  return looksLikeCode && scrub(value, token) === value ? value : "unrecognized_error";
}

function isTimeout(error: Error): boolean {
  return error.name === "TimeoutError" || error.name === "AbortError";
}

/** Failures that happen before a request leaves this machine: Slack cannot have seen it. */
const NEVER_SENT_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "ENETUNREACH", "EHOSTUNREACH"]);

/** "connect ECONNREFUSED ...": the network error's code says whether the request went out at all. */
function networkFailure(error: Error, token: string): { reason: string; neverSent: boolean } {
  const codes = [error, (error as Error & { cause?: unknown }).cause].flatMap((candidate) => {
    const code = candidate instanceof Error ? (candidate as Error & { code?: unknown }).code : undefined;
    return typeof code === "string" ? [code] : [];
  });
  const cause = (error as Error & { cause?: unknown }).cause;
  const detail = codes.at(-1) ?? (cause instanceof Error ? cause.message : undefined);
  const reason = scrub(
    detail && !error.message.includes(detail) ? `${error.message}: ${detail}` : error.message,
    token,
  );
  return { reason, neverSent: codes.some((code) => NEVER_SENT_CODES.has(code)) };
}

function afterAttempts(context: SlackErrorContext): string {
  return context.attempts && context.attempts > 1 ? ` after ${context.attempts} attempts` : "";
}

function scrub(text: string, token: string): string {
  return redactSecrets(text, [token]).slice(0, 300);
}

/**
 * Each channel's turn, in this process. A post takes the next free slot of its channel, at least
 * `intervalMs` after the one before and not before a Retry-After Slack gave for it; the slot is
 * reserved at once, so concurrent posts to one channel never race. A slot at most
 * MAX_POST_WAIT_MS away is waited for here. A later one is kept for the alert and handed back as
 * a rate limit: the queue redelivers the alert at its slot, when it finds the slot waiting for it
 * (in this process), so a burst to one channel does not hold up the others, and each alert of the
 * burst comes back once rather than meeting the limit again and again.
 */
class ChannelPace {
  private readonly nextFree = new Map<string, number>();
  /** When each channel was last posted to: an alert back late for its kept slot still keeps the interval. */
  private readonly lastPost = new Map<string, number>();
  /** Slots kept for alerts that were sent back to wait for them, by channel and alert. */
  private readonly kept = new Map<string, number>();

  constructor(
    private readonly intervalMs: number,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  ) {}

  /** Resolves at the post's slot; throws SlackRateLimitedError (with the slot kept) when it is too far away. */
  async turn(channelId: string, alertKey: string | undefined): Promise<void> {
    const now = Date.now();
    this.forgetStale(now);
    const keyed = alertKey === undefined ? undefined : `${channelId} ${alertKey}`;
    let slot = keyed === undefined ? undefined : this.kept.get(keyed);
    if (slot !== undefined && keyed !== undefined) {
      this.kept.delete(keyed);
    } else {
      slot = Math.max(now, this.nextFree.get(channelId) ?? 0);
      this.nextFree.set(channelId, slot + this.intervalMs);
    }
    const wait = slot - now;
    if (wait > MAX_POST_WAIT_MS) {
      if (keyed !== undefined) this.kept.set(keyed, slot);
      throw new SlackRateLimitedError(channelId, Math.ceil(wait / 1000));
    }
    if (wait > 0) await this.sleep(wait);
    // Never closer to the channel's last post than the interval, whoever's slot this is.
    for (;;) {
      const sinceLast = Date.now() - (this.lastPost.get(channelId) ?? 0);
      if (sinceLast >= this.intervalMs) break;
      await this.sleep(this.intervalMs - sinceLast);
    }
    this.lastPost.set(channelId, Date.now());
  }

  /** Slack answered 429 for the channel: nothing is posted there before `seconds` from now. */
  hold(channelId: string, seconds: number): void {
    this.nextFree.set(channelId, Math.max(this.nextFree.get(channelId) ?? 0, Date.now() + seconds * 1000));
  }

  /** The wait a new post to the channel would have now. */
  waitFor(channelId: string): number {
    return Math.max(0, (this.nextFree.get(channelId) ?? 0) - Date.now());
  }

  /** A kept slot whose alert never came back (another process took it) is given up a minute on. */
  private forgetStale(now: number): void {
    if (this.kept.size < 1_000) return;
    for (const [key, slot] of this.kept) if (slot < now - 60_000) this.kept.delete(key);
  }
}

/** Forwards the client's warnings and errors (never its debug output, which dumps requests). */
function forwardingLogger(log: Log, token: string): Logger {
  const line = (parts: unknown[]) =>
    `slack client: ${scrub(parts.map((part) => (part instanceof Error ? part.message : String(part))).join(" "), token)}`;
  return {
    debug: () => undefined,
    info: () => undefined,
    warn: (...parts: unknown[]) => log.warn(line(parts)),
    error: (...parts: unknown[]) => log.error(line(parts)),
    setLevel: () => undefined,
    getLevel: () => LogLevel.WARN,
    setName: () => undefined,
  };
}
