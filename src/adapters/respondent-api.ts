import { setTimeout as delay } from "node:timers/promises";
import type { RespondentClientSettings } from "../config.ts";
import {
  type Conversation,
  conversationPageSchema,
  conversationSchema,
  type FeedMessage,
  feedMessageSchema,
  type MalformedConversation,
  summarizeIssues,
  type Webhook,
  webhookSchema,
} from "../domain/respondent.ts";
import {
  RespondentAuthError,
  RespondentBadResponseError,
  RespondentRequestRejectedError,
  RespondentUnavailableError,
  redactSecrets,
} from "../errors.ts";
import type {
  ConversationPageResult,
  ConversationReader,
  ConversationSource,
  ListConversationsFilter,
  Log,
  MessageFeed,
  MessagePageResult,
  MessagesFilter,
  Metrics,
  RespondentCredentials,
  WebhookAdmin,
} from "../ports.ts";

export interface RespondentApiClientOptions extends RespondentClientSettings {
  /** Called once per listing, so a rotated secret is picked up by the next poll. */
  credentials: () => Promise<RespondentCredentials>;
  log: Log;
  metrics?: Metrics;
  /** Waits between attempts; tests inject one that records instead of waiting. */
  sleep?: (ms: number) => Promise<void>;
  /** Source of backoff jitter in [0, 1). */
  random?: () => number;
  /** The longest `Retry-After` honoured; longer requests are cut to this. */
  maxRetryAfterSeconds?: number;
}

const CONVERSATIONS_PATH = "/v1/messaging/conversations";
const MESSAGES_PATH = "/v1/messaging/messages";
const WEBHOOKS_PATH = "/v1/webhooks";
const BACKOFF_BASE_MS = 250;
const BACKOFF_CAP_MS = 8_000;
const DEFAULT_MAX_RETRY_AFTER_SECONDS = 30;
const EXCERPT_CHARS = 200;

const HINT_400 = "check the projectId / externalResearcherId filter values";
const HINT_404 =
  "check RESPONDENT_API_URL (production https://api.respondent.io, staging https://api-staging.respondent.io)";
const HINT_FEED_400 = "the messages feed refused the request (its since/until format is not documented)";

/** Why one attempt failed, when another attempt may succeed. */
type RetryableFailure =
  | { kind: "status"; status: number; retryAfterMs: number | undefined; excerpt: string }
  | { kind: "timeout" }
  | { kind: "network"; code: string }
  | { kind: "bad_response"; problem: string };

class AttemptFailed {
  constructor(readonly failure: RetryableFailure) {}
}

interface ListingContext {
  filter: ListConversationsFilter;
  credentials: RespondentCredentials;
  /** Aborted when the listing ends early, so pages still in flight stop. */
  signal: AbortSignal;
}

/**
 * A counting semaphore shared by every listing of one client: several listings (the poller's
 * scopes) may run at once, and together they never have more than `size` requests in flight.
 * Waiters are served first come, first served, so each listing's earlier pages go first.
 */
class RequestSlots {
  private free: number;
  private readonly waiting: Array<() => void> = [];

  constructor(size: number) {
    this.free = size;
  }

  /** Resolves with the slot's release function once one is free; rejects if `signal` aborts first. */
  async acquire(signal: AbortSignal): Promise<() => void> {
    signal.throwIfAborted();
    if (this.free > 0) {
      this.free -= 1;
    } else {
      await new Promise<void>((resolve, reject) => {
        const grant = () => {
          signal.removeEventListener("abort", abandon);
          resolve();
        };
        const abandon = () => {
          const index = this.waiting.indexOf(grant);
          if (index >= 0) this.waiting.splice(index, 1);
          reject(signal.reason);
        };
        this.waiting.push(grant);
        signal.addEventListener("abort", abandon, { once: true });
      });
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.free += 1;
    };
  }
}

/**
 * The Respondent Partner API behind the ConversationSource port. Walks the pages of
 * `GET /v1/messaging/conversations` with a bounded number of requests in flight (at most
 * `maxConcurrency` for the whole client, however many listings run at once), yields them
 * strictly in page order, validates each conversation on its own, and turns every failure into
 * one of the Respondent* errors with a message that is safe to log.
 */
export class RespondentApiClient implements ConversationSource, MessageFeed, ConversationReader, WebhookAdmin {
  private readonly settings: RespondentClientSettings;
  private readonly credentials: () => Promise<RespondentCredentials>;
  private readonly log: Log;
  private readonly metrics: Metrics | undefined;
  private readonly sleep: ((ms: number) => Promise<void>) | undefined;
  private readonly random: () => number;
  private readonly maxRetryAfterMs: number;
  private readonly origin: string;
  private readonly endpoint: string;
  private readonly requestSlots: RequestSlots;

  constructor(options: RespondentApiClientOptions) {
    this.settings = {
      baseUrl: options.baseUrl.replace(/\/+$/, ""),
      pageSize: options.pageSize,
      maxConcurrency: Math.max(1, Math.floor(options.maxConcurrency)),
      timeoutMs: options.timeoutMs,
      maxRetries: Math.max(0, Math.floor(options.maxRetries)),
    };
    this.credentials = options.credentials;
    this.log = options.log;
    this.metrics = options.metrics;
    this.sleep = options.sleep;
    this.random = options.random ?? Math.random;
    this.maxRetryAfterMs = (options.maxRetryAfterSeconds ?? DEFAULT_MAX_RETRY_AFTER_SECONDS) * 1000;
    this.endpoint = `${this.settings.baseUrl}${CONVERSATIONS_PATH}`;
    this.origin = new URL(this.endpoint).origin;
    this.requestSlots = new RequestSlots(this.settings.maxConcurrency);
  }

  async *listConversations(filter: ListConversationsFilter): AsyncGenerator<ConversationPageResult> {
    const listing = new AbortController();
    const context: ListingContext = { filter, credentials: await this.credentials(), signal: listing.signal };
    const pending: Array<Promise<ConversationPageResult>> = [];
    try {
      const first = await this.fetchPage(1, this.settings.pageSize, context);
      const pageSize = first.appliedPageSize;
      if (first.totalResults === undefined) {
        yield* this.walkSequentially(first, context);
        return;
      }

      const lastPage = Math.ceil(first.totalResults / pageSize);
      let nextPage = 2;
      // In flight plus fetched-but-not-yet-yielded never exceeds maxConcurrency: a slow
      // consumer holds the walk back instead of letting pages pile up in memory.
      const refill = () => {
        while (pending.length < this.settings.maxConcurrency && nextPage <= lastPage) {
          const request = this.fetchPage(nextPage, pageSize, context);
          request.catch(() => undefined); // awaited in order below; this only marks it handled
          pending.push(request);
          nextPage += 1;
        }
      };
      refill();
      yield first;
      if (first.conversations.length + first.malformed.length === 0) return;

      for (let head = pending.shift(); head; head = pending.shift()) {
        const page = await head;
        if (page.conversations.length + page.malformed.length === 0) {
          yield page;
          return;
        }
        refill();
        yield page;
      }
    } finally {
      listing.abort();
    }
  }

  /**
   * Walks the messages feed one page at a time (a steady poll needs one page): `since` and
   * `until` as ISO 8601, which is what the API most likely expects (it does not say); a
   * refusal is a RespondentRequestRejectedError carrying the API's own words.
   */
  async *listMessages(filter: MessagesFilter): AsyncGenerator<MessagePageResult> {
    const credentials = await this.credentials();
    const listing = new AbortController();
    try {
      let pageSize = this.settings.pageSize;
      for (let page = 1; ; page += 1) {
        const url = new URL(`${this.settings.baseUrl}${MESSAGES_PATH}`);
        url.searchParams.set("page", String(page));
        url.searchParams.set("pageSize", String(pageSize));
        url.searchParams.set("includeCount", "true");
        url.searchParams.set("since", filter.since.toISOString());
        url.searchParams.set("until", filter.until.toISOString());
        if (filter.projectId !== undefined) url.searchParams.set("projectId", filter.projectId);
        const what = `messages page ${page}`;
        const { value: result } = await this.withRetries(what, { page, feed: true }, listing.signal, async () => {
          const { json } = await this.exchange(url, "GET", undefined, credentials, listing.signal, {
            400: HINT_FEED_400,
            404: `the messages feed is not there (${HINT_404})`,
            what,
            showRefusal: true,
          });
          return parseMessagePage(json, page);
        });
        this.metrics?.count("PagesFetched");
        if (result.malformed > 0) {
          this.log.warn("skipped malformed messages in the feed; the next sweep covers their conversations", {
            page,
            malformed: result.malformed,
          });
        }
        yield result;
        const count = result.messages.length + result.malformed;
        if (count === 0) return;
        if (
          result.totalResults !== undefined
            ? page * result.appliedPageSize >= result.totalResults
            : count < result.appliedPageSize
        ) {
          return;
        }
        pageSize = result.appliedPageSize;
      }
    } finally {
      listing.abort();
    }
  }

  async getConversation(conversationUid: string): Promise<Conversation | undefined> {
    const credentials = await this.credentials();
    const url = new URL(`${this.settings.baseUrl}${CONVERSATIONS_PATH}/${encodeURIComponent(conversationUid)}`);
    const what = `conversation ${conversationUid}`;
    const { value } = await this.withRetries(what, { conversationUid }, new AbortController().signal, async () => {
      const { json } = await this.exchange(url, "GET", undefined, credentials, new AbortController().signal, {
        what,
        notFound: "undefined",
        400: "the conversation id was refused",
      });
      if (json === undefined) return undefined;
      const parsed = conversationSchema.safeParse(json);
      if (!parsed.success) {
        throw new AttemptFailed({
          kind: "bad_response",
          problem: `${what}: not a conversation (${summarizeIssues(parsed.error)})`,
        });
      }
      return parsed.data;
    });
    return value;
  }

  async getWebhook(): Promise<Webhook | undefined> {
    const { json } = await this.webhookRequest("GET", WEBHOOKS_PATH, undefined, "the webhook");
    if (json === undefined || json === null || (typeof json === "object" && Object.keys(json).length === 0)) {
      return undefined;
    }
    return this.parseWebhook(json, "the webhook");
  }

  async createWebhook(url: string): Promise<Webhook> {
    const { json } = await this.webhookRequest("POST", WEBHOOKS_PATH, { url }, "the new webhook");
    return this.parseWebhook(json, "the new webhook");
  }

  async deleteWebhook(webhookId: string): Promise<void> {
    await this.webhookRequest(
      "DELETE",
      `${WEBHOOKS_PATH}/${encodeURIComponent(webhookId)}`,
      undefined,
      `webhook ${webhookId}`,
    );
  }

  private async webhookRequest(
    method: "GET" | "POST" | "DELETE",
    path: string,
    body: unknown,
    what: string,
  ): Promise<{ json: unknown }> {
    const credentials = await this.credentials();
    const url = new URL(`${this.settings.baseUrl}${path}`);
    const signal = new AbortController().signal;
    const { value } = await this.withRetries(what, { webhook: path }, signal, () =>
      this.exchange(url, method, body, credentials, signal, {
        what,
        400: `the API refused the request for ${what}`,
        notFound: method === "GET" ? "undefined" : undefined,
        emptyBody: "undefined",
        showRefusal: true,
      }),
    );
    return { json: value.json };
  }

  private parseWebhook(json: unknown, what: string): Webhook {
    const parsed = webhookSchema.safeParse(json);
    if (!parsed.success) {
      throw new RespondentBadResponseError(
        `Respondent API answered ${what} with something else (${summarizeIssues(parsed.error)})`,
      );
    }
    return parsed.data;
  }

  /** Without `totalResults` the end is the first page that is empty or short of the applied size. */
  private async *walkSequentially(
    first: ConversationPageResult,
    context: ListingContext,
  ): AsyncGenerator<ConversationPageResult> {
    let page = first;
    for (;;) {
      yield page;
      const count = page.conversations.length + page.malformed.length;
      if (count === 0 || count < page.appliedPageSize) return;
      page = await this.fetchPage(page.page + 1, first.appliedPageSize, context);
    }
  }

  private async fetchPage(page: number, pageSize: number, context: ListingContext): Promise<ConversationPageResult> {
    const { value: result, attempt } = await this.withRetries(`page ${page}`, { page }, context.signal, () =>
      this.attempt(page, pageSize, context),
    );
    this.metrics?.count("PagesFetched");
    this.log.debug("fetched a page of Respondent conversations", {
      page,
      appliedPageSize: result.appliedPageSize,
      totalResults: result.totalResults,
      count: result.conversations.length,
      malformed: result.malformed.length,
      attempt,
    });
    if (result.appliedPageSize !== pageSize && page > 1) {
      this.log.warn("Respondent changed the applied page size during a walk; some conversations may be missed", {
        page,
        requestedPageSize: pageSize,
        appliedPageSize: result.appliedPageSize,
      });
    }
    return result;
  }

  /**
   * Runs `attempt` until it succeeds, a final error is thrown, or the retries are used up (then
   * the last failure, as a Respondent* error naming `where`). One retry rule for every request.
   */
  private async withRetries<T>(
    where: string,
    logAttributes: Record<string, unknown>,
    signal: AbortSignal,
    attempt: () => Promise<T>,
  ): Promise<{ value: T; attempt: number }> {
    const attempts = this.settings.maxRetries + 1;
    for (let number = 1; ; number += 1) {
      signal.throwIfAborted();
      try {
        return { value: await attempt(), attempt: number };
      } catch (error) {
        if (!(error instanceof AttemptFailed)) throw error;
        const { failure } = error;
        if (number >= attempts) throw this.exhausted(failure, where, attempts);
        const delayMs = this.retryDelay(failure, number);
        this.log.warn("Respondent request failed; retrying", {
          ...logAttributes,
          attempt: number,
          of: attempts,
          reason: describeFailure(failure, this.settings.timeoutMs, this.origin),
          delayMs,
        });
        await this.pause(delayMs, signal);
      }
    }
  }

  /** One HTTP request: returns the page, throws AttemptFailed when a retry may help, or a final error. */
  private async attempt(page: number, pageSize: number, context: ListingContext): Promise<ConversationPageResult> {
    const url = new URL(this.endpoint);
    url.searchParams.set("page", String(page));
    url.searchParams.set("pageSize", String(pageSize));
    url.searchParams.set("includeCount", "true");
    if (context.filter.projectId !== undefined) url.searchParams.set("projectId", context.filter.projectId);
    if (context.filter.externalResearcherId !== undefined) {
      url.searchParams.set("externalResearcherId", context.filter.externalResearcherId);
    }
    const { json } = await this.exchange(url, "GET", undefined, context.credentials, context.signal, {
      400: HINT_400,
      404: HINT_404,
      what: `page ${page}`,
    });
    return parsePage(json, page);
  }

  /**
   * Sends one request within the shared request budget and classifies the answer: 401/403 throw
   * RespondentAuthError, 408/429/5xx, timeouts, network errors and a body that is not JSON
   * throw AttemptFailed (a retry may help), any other non-2xx throws
   * RespondentRequestRejectedError with the hint for its status. `notFound: "undefined"`
   * answers a 404 with `json: undefined` instead.
   */
  private async exchange(
    url: URL,
    method: "GET" | "POST" | "DELETE",
    body: unknown,
    credentials: RespondentCredentials,
    signal: AbortSignal,
    hints: {
      400?: string;
      404?: string;
      what: string;
      /** Add the start of the answer to a 400's message (the API says what it refused). */
      showRefusal?: boolean;
      notFound?: "undefined";
      emptyBody?: "undefined";
    },
  ): Promise<{ status: number; json: unknown }> {
    const { apiKey, apiSecret } = credentials;
    // Held until the body is read, when the server is done with the request; the timeout only
    // starts once the slot is ours, so waiting for one never times a request out.
    const releaseSlot = await this.requestSlots.acquire(signal);
    const timeout = AbortSignal.timeout(this.settings.timeoutMs);
    let response: Response;
    let text: string;
    try {
      response = await fetch(url, {
        method,
        headers: {
          accept: "application/json",
          "x-api-key": apiKey,
          "x-api-secret": apiSecret,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.any([timeout, signal]),
      });
      text = await response.text();
    } catch (error) {
      signal.throwIfAborted();
      if (timeout.aborted) throw new AttemptFailed({ kind: "timeout" });
      throw new AttemptFailed({ kind: "network", code: networkErrorCode(error) });
    } finally {
      releaseSlot();
    }

    const secrets = [apiKey, apiSecret];
    const { status } = response;
    if (status === 401 || status === 403) throw new RespondentAuthError(status);
    if (status === 404 && hints.notFound === "undefined") return { status, json: undefined };
    if (status === 400) {
      const excerpt = hints.showRefusal ? excerptOf(text, secrets) : "";
      throw new RespondentRequestRejectedError(400, `${hints[400] ?? HINT_400}${excerpt ? `: ${excerpt}` : ""}`);
    }
    if (status === 404) throw new RespondentRequestRejectedError(404, hints[404] ?? HINT_404);
    if (status === 408 || status === 429 || status >= 500) {
      throw new AttemptFailed({
        kind: "status",
        status,
        retryAfterMs: parseRetryAfter(response.headers.get("retry-after")),
        excerpt: excerptOf(text, secrets),
      });
    }
    if (status < 200 || status >= 300) {
      const excerpt = excerptOf(text, secrets);
      throw new RespondentRequestRejectedError(status, `unexpected answer${excerpt ? `: ${excerpt}` : ""}`);
    }
    if (text.trim() === "" && hints.emptyBody === "undefined") return { status, json: undefined };
    try {
      return { status, json: JSON.parse(text) };
    } catch {
      const contentType = response.headers.get("content-type") ?? "no content-type";
      const excerpt = excerptOf(text, secrets);
      throw new AttemptFailed({
        kind: "bad_response",
        problem: `${hints.what}: the body is not JSON (${contentType})${excerpt ? `: ${excerpt}` : ""}`,
      });
    }
  }

  private retryDelay(failure: RetryableFailure, attempt: number): number {
    if (failure.kind === "status" && (failure.status === 429 || failure.status === 503)) {
      if (failure.retryAfterMs !== undefined) return Math.min(failure.retryAfterMs, this.maxRetryAfterMs);
    }
    const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1));
    return Math.floor(this.random() * ceiling);
  }

  private async pause(ms: number, signal: AbortSignal): Promise<void> {
    if (this.sleep) await this.sleep(ms);
    else await delay(ms, undefined, { signal }).catch(() => undefined);
    signal.throwIfAborted();
  }

  private exhausted(failure: RetryableFailure, where: string, attempts: number): Error {
    if (failure.kind === "bad_response") {
      return new RespondentBadResponseError(
        `Respondent API returned an unusable response after ${attempts} attempts: ${failure.problem}`,
      );
    }
    if (failure.kind === "status") {
      const excerpt = failure.excerpt ? `: ${failure.excerpt}` : "";
      return new RespondentUnavailableError(
        `Respondent API unavailable: ${failure.status} after ${attempts} attempts (${where})${excerpt}`,
        failure.status,
      );
    }
    const reason = describeFailure(failure, this.settings.timeoutMs, this.origin);
    return new RespondentUnavailableError(`Respondent API unavailable: ${reason} (${where}, ${attempts} attempts)`);
  }
}

function parsePage(json: unknown, page: number): ConversationPageResult {
  const envelope = conversationPageSchema.safeParse(json);
  if (!envelope.success) {
    throw new AttemptFailed({
      kind: "bad_response",
      problem: `page ${page}: the body is not a page of conversations (${summarizeIssues(envelope.error)})`,
    });
  }
  if (envelope.data.page !== page) {
    // A server that ignores `page` would otherwise be walked forever, or yield page 1 again.
    throw new AttemptFailed({
      kind: "bad_response",
      problem: `page ${page}: the response says it is page ${envelope.data.page}`,
    });
  }
  const conversations: Conversation[] = [];
  const malformed: MalformedConversation[] = [];
  for (const item of envelope.data.results) {
    const parsed = conversationSchema.safeParse(item);
    if (parsed.success) conversations.push(parsed.data);
    else malformed.push({ uid: readableUid(item), page, problems: summarizeIssues(parsed.error) });
  }
  return {
    page,
    appliedPageSize: envelope.data.pageSize,
    totalResults: envelope.data.totalResults,
    conversations,
    malformed,
  };
}

function parseMessagePage(json: unknown, page: number): MessagePageResult {
  const envelope = conversationPageSchema.safeParse(json);
  if (!envelope.success) {
    throw new AttemptFailed({
      kind: "bad_response",
      problem: `messages page ${page}: the body is not a page of messages (${summarizeIssues(envelope.error)})`,
    });
  }
  if (envelope.data.page !== page) {
    throw new AttemptFailed({
      kind: "bad_response",
      problem: `messages page ${page}: the response says it is page ${envelope.data.page}`,
    });
  }
  const messages: FeedMessage[] = [];
  let malformed = 0;
  for (const item of envelope.data.results) {
    const parsed = feedMessageSchema.safeParse(item);
    if (parsed.success) messages.push(parsed.data);
    else malformed += 1;
  }
  return {
    page,
    appliedPageSize: envelope.data.pageSize,
    totalResults: envelope.data.totalResults,
    messages,
    malformed,
  };
}

function readableUid(item: unknown): string | undefined {
  if (typeof item !== "object" || item === null || !("uid" in item)) return undefined;
  const { uid } = item;
  return typeof uid === "string" && /^[\w-]{1,64}$/.test(uid) ? uid : undefined;
}

/** Seconds or an HTTP-date, as milliseconds from now; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** The network error's code (ECONNRESET, ...), looked for down the cause chain; else its name. */
export function networkErrorCode(error: unknown): string {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current instanceof Error; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && /^[A-Z0-9_]+$/.test(code)) return code;
    current = current.cause;
  }
  return error instanceof Error ? error.name : "network error";
}

function describeFailure(failure: RetryableFailure, timeoutMs: number, origin: string): string {
  switch (failure.kind) {
    case "status":
      return failure.excerpt ? `${failure.status}: ${failure.excerpt}` : String(failure.status);
    case "timeout":
      return `timed out after ${timeoutMs} ms`;
    case "network":
      return `cannot reach ${origin}: ${failure.code}`;
    case "bad_response":
      return failure.problem;
  }
}

/** A short, single-line, secret-free extract of a body we did not write. */
function excerptOf(text: string, secrets: readonly string[]): string {
  const oneLine = text
    .slice(0, EXCERPT_CHARS * 4)
    .replace(/\p{Cc}+/gu, " ")
    .replace(/\s+/g, " ")
    .trim();
  const redacted = redactSecrets(oneLine, secrets);
  return redacted.length > EXCERPT_CHARS ? `${redacted.slice(0, EXCERPT_CHARS - 1)}…` : redacted;
}
