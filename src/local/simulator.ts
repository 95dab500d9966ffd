import { randomBytes, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { signWebhookBody, WEBHOOK_SIGNATURE_HEADER } from "../domain/webhook-signature.ts";
import { pick, seededRandom, shuffle } from "./random.ts";

/**
 * A local stand-in for the Respondent Partner API's `GET /v1/messaging/conversations`
 * (../shared/respondent/conversations.openapi.yaml): a real HTTP server on 127.0.0.1 with
 * the contract's field names, required fields, `totalResults` only on `includeCount=true` and
 * a capped page size. It backs the no-account local run, the tests and the benchmark, so data
 * is kept compact (shared strings, small records) and page JSON is built per request.
 */

export interface RespondentSimulatorOptions {
  apiKey?: string;
  apiSecret?: string;
  /** The largest page size the server applies; the response's `pageSize` is min(requested, cap). */
  pageSizeCap?: number;
  /** Added before every answer; a function varies it per request (e.g. to reorder completions). */
  latencyMs?: number | ((request: SimulatorRequest) => number);
  /**
   * `shuffled`: each request returns the items of a page (and the messages of each item) in a
   * new random order. Which conversations are on which page stays stable, so a full walk still
   * sees each conversation once.
   */
  order?: "stable" | "shuffled";
  /** Clock for everything created after start-up (added conversations and messages). */
  now?: () => Date;
  seed?: number;
  projects?: number;
  conversations?: number;
  messagesPerConversation?: number;
  /**
   * Generated history ends at this instant. Defaults to the earlier of now() and
   * 2026-01-01T00:00:00Z, so history is identical run after run and always older than any
   * subscription made since: restarting the demo never re-announces old messages.
   */
  historyEndsAt?: Date;
  /** Behave like a server that ignores `includeCount` (never sends `totalResults`). */
  omitTotalResults?: boolean;
  /**
   * How the messages feed takes `since` / `until` (their real format is not documented):
   * `iso` (default) accepts ISO 8601 instants, both ends included; `refuse` answers 400 to any
   * request that carries `since`, like an API that wants another format.
   */
  feedSince?: "iso" | "refuse";
  /** How webhook deliveries are signed: over the body as sent (default), over another serialisation, or not at all. */
  webhookSigning?: "raw" | "pretty" | "none";
  /**
   * After a message is sent to a conversation (`POST .../messages`), its participant writes back
   * this long later (the local demo's "the participant answers"). Unset: nobody writes back.
   */
  participantAnswersAfterMs?: number;
}

/** A message our side sent through `POST /v1/messaging/conversations/{uid}/messages`. */
export interface SimulatorSentMessage {
  conversationUid: string;
  messageUid: string;
  body: string;
  at: string;
}

export interface SimulatorRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  page: number | undefined;
  pageSize: number | undefined;
  includeCount: boolean;
  projectId: string | undefined;
  externalResearcherId: string | undefined;
  /** Set once answered; undefined while pending or for a `hang` fault. */
  status: number | undefined;
}

export type SimulatorFault =
  | { status: number; retryAfter?: string; body?: string }
  | { kind: "hang" }
  | { kind: "non-json" };

export type Sender = "participant" | "researcher";

export interface AddConversationInput {
  projectId?: string;
  externalResearcherId?: string;
  name?: string;
  participant?: { firstName?: string; lastName?: string };
  createdAt?: Date;
  /** A conversation always has at least one message (the contract requires `latestMessage`). */
  firstMessage?: { from?: Sender; body?: string };
}

export interface AddMessageInput {
  from: Sender;
  body?: string;
  createdAt?: Date;
  /** Serve the message without `sender` (a contract violation the poller must survive). */
  senderOmitted?: boolean;
}

export type SimulatorActivity =
  | { kind: "message"; conversationUid: string; messageUid: string; from: Sender; body: string }
  | { kind: "conversation"; conversationUid: string; projectId: string };

export interface AutoRepliesOptions {
  everyMs: number;
  /** Chance that a tick opens a new conversation instead of adding a message (default 0.1). */
  newConversationChance?: number;
  /** Chance that a message comes from our side rather than the participant (default 0.3). */
  researcherChance?: number;
  onActivity?: (activity: SimulatorActivity) => void;
}

export interface RespondentSimulator {
  /** Base URL without a trailing slash, e.g. http://127.0.0.1:54321. */
  readonly url: string;
  readonly apiKey: string;
  readonly apiSecret: string;
  /** Our API account: the `user` of every conversation and the sender of researcher messages. */
  readonly teamUser: { uid: string; firstName: string; lastName: string };
  readonly projectIds: readonly string[];
  readonly externalResearcherIds: readonly string[];
  readonly conversationUids: string[];
  /** Every request received, in arrival order (no headers are kept). */
  readonly requests: readonly SimulatorRequest[];
  /** Every message sent to a conversation through the API, in order (201 answers only). */
  readonly sentMessages: readonly SimulatorSentMessage[];
  /** The conversation uids marked read through the API, one entry per accepted call. */
  readonly readMarks: readonly string[];
  /** The most requests that were being handled at the same moment. */
  readonly maxConcurrentRequests: number;
  addConversation(input?: AddConversationInput): string;
  addMessage(conversationUid: string, input: AddMessageInput): string;
  /** Marks the conversation `deleted: true`; with `remove` it disappears from listings instead. */
  deleteConversation(conversationUid: string, options?: { remove?: boolean }): void;
  /** Serves `raw` (any JSON value) in place of the conversation's item; filters still see the original. */
  setRawConversation(conversationUid: string, raw: unknown): void;
  /** Adds a conversation whose item breaks the contract (no latestMessage, name not a string). */
  injectMalformed(input?: AddConversationInput): string;
  /** The next `count` requests (matching `match.page` when given) get `fault` instead of an answer. */
  failNext(count: number, fault: SimulatorFault, match?: { page?: number }): void;
  /** `count` distinct conversations each get a participant reply now; returns how many did. */
  simulateReplies(count: number): number;
  /** Keeps participants and our side writing (and new conversations opening); returns a stop function. */
  startAutoReplies(options: AutoRepliesOptions): () => void;
  clearRequests(): void;
  /** The feed will never show this message (an API that indexes late or loses one): only a sweep finds it. */
  omitFromFeed(messageUid: string): void;
  /** Switches how the feed takes `since` (see RespondentSimulatorOptions.feedSince). */
  setFeedSince(mode: "iso" | "refuse"): void;
  /**
   * The organisation's webhook (what `POST /v1/webhooks` registers). While one is set, every
   * participant message is delivered to its URL as a signed `MESSAGES.CREATED` POST, the way
   * Respondent does; `registerWebhook` sets it without an API call (e.g. to point the
   * simulator at the local HTTP server), and returns its signing key.
   */
  readonly webhook: { id: string; url: string; privateKey: string } | undefined;
  registerWebhook(url: string): { id: string; url: string; privateKey: string };
  /** Every delivery attempted, in order, with the HTTP status (or the error) it got. */
  readonly webhookDeliveries: readonly WebhookDelivery[];
  /** Sends one `MESSAGES.CREATED` delivery for a message now (again, for a duplicate: same `uuid` when given). */
  deliverWebhook(conversationUid: string, messageUid: string, options?: { uuid?: string }): Promise<WebhookDelivery>;
  /** Resolves once every delivery started so far has been answered. */
  webhooksSettled(): Promise<void>;
  close(): Promise<void>;
  /** Every `GET /v1/projects/{projectId}` received, in arrival order (kept apart from `requests`). */
  readonly projectRequests: readonly ProjectRequest[];
  /** Renames a project (`publicInternalName`, `publicTitle`): the next lookup answers the new names. */
  renameProject(projectId: string, names: { internalName?: string; title?: string }): void;
  /** The next `count` project lookups get `fault` instead of an answer (conversation listings are unaffected). */
  failNextProjectLookups(count: number, fault: SimulatorFault): void;
}

export interface ProjectRequest {
  projectId: string;
  /** Set once answered; undefined while pending or for a `hang` fault. */
  status: number | undefined;
}

export interface WebhookDelivery {
  uuid: string;
  conversationUid: string;
  messageUid: string;
  url: string;
  status: number | undefined;
  error?: string;
}

const DEFAULTS = {
  apiKey: "simulator-key",
  apiSecret: "simulator-secret",
  pageSizeCap: 50,
  seed: 1,
  projects: 3,
  conversations: 12,
  messagesPerConversation: 3,
} as const;
const CONTRACT_DEFAULT_PAGE_SIZE = 20;
const HISTORY_ANCHOR = Date.parse("2026-01-01T00:00:00.000Z");
const DAY_MS = 86_400_000;
const OBJECT_ID = /^[0-9a-f]{24}$/i;
const PROJECT_PATH = /^\/v1\/projects\/([^/]+)$/;

const PROJECT_NAMES = [
  "Checkout usability study",
  "Onboarding interviews",
  "Pricing page feedback",
  "Mobile banking diary study",
  "B2B procurement interviews",
  "Accessibility review",
  "Travel booking card sort",
];
const FIRST_NAMES = [
  "Jane",
  "Mei",
  "Oluwaseun",
  "José",
  "Zoë",
  "Björn",
  "Анна",
  "Yuki",
  "Priya",
  "Fatima",
  "Liam",
  "Siobhán",
  "Matteo",
  "Nguyễn",
  "Amara",
  "Kofi",
];
const LAST_INITIALS = ["A", "B", "D", "K", "L", "M", "N", "O", "R", "S", "T", "W"];
const PARTICIPANT_BODIES = [
  "Hi! Yes, Thursday at 3pm works for me.",
  "Sorry, I missed the call. Can we reschedule?",
  "Thanks 🙏 I just submitted the screener.",
  "Is the session recorded? Just want to check before I join.",
  "Merci ! Je suis disponible jeudi matin 🙂",
  "はい、大丈夫です。よろしくお願いします。",
  "Да, мне подходит это время.",
  "¡Claro! ¿A qué hora empieza la sesión?",
  "مرحبا، نعم أنا متاح يوم الخميس",
  "The Zoom link says the meeting hasn't started yet 🤔",
  "Could you send the incentive to my PayPal & not the gift card?",
  "I'm running 5 minutes late, sorry!!",
  "Done ✅ the diary entry for today is in.",
  "<!channel> oops, wrong window - yes, tomorrow is fine",
  "Quick question: do I need a webcam for this?",
  "Thank you, that was fun! 🎉",
];
const RESEARCHER_BODIES = [
  "Thanks for signing up! Does Thursday at 3pm work for you?",
  "Here is the calendar invite, see you then.",
  "No problem, I've moved the session to Friday.",
  "Yes, the session is recorded for internal use only.",
  "Your incentive has been sent, thanks again!",
  "Could you confirm your time zone?",
];
const OPENING_BODY = "Hi! Thanks for your interest in our study. When would suit you for a 30-minute chat?";

interface Person {
  uid: string;
  firstName: string;
  lastName: string;
}

/** ObjectId-shaped: creation second, a per-seed tag, then a sequence, so same-second uids sort in creation order. */
function formatObjectId(atMs: number, tag: string, sequence: number): string {
  const seconds = Math.max(0, Math.floor(atMs / 1000)) % 0x1_0000_0000;
  return seconds.toString(16).padStart(8, "0") + tag + sequence.toString(16).padStart(10, "0");
}

function sequenceOf(objectId: string, tag: string): number | undefined {
  if (!OBJECT_ID.test(objectId) || objectId.slice(8, 14) !== tag) return undefined;
  return Number.parseInt(objectId.slice(14), 16);
}

/** Messages are the bulk of the data: the uid is kept as its sequence number and formatted when served. */
class StoredMessage {
  constructor(
    readonly sequence: number,
    readonly at: number,
    readonly body: string,
    readonly fromParticipant: boolean,
    readonly senderOmitted: boolean,
  ) {}
}

/** Strings are shared references or derived when served; only numbers are per conversation. */
class StoredConversation {
  deleted = false;
  locked = false;
  raw: { value: unknown } | undefined = undefined;
  readonly messages: StoredMessage[] = [];
  constructor(
    readonly tag: string,
    readonly sequence: number,
    readonly createdAt: number,
    readonly projectId: string,
    readonly projectName: string,
    readonly externalResearcherId: string,
    readonly participantSequence: number,
    readonly firstName: string,
    readonly lastName: string,
    readonly nameOverride: string | undefined,
  ) {}

  get uid(): string {
    return formatObjectId(this.createdAt, this.tag, this.sequence);
  }

  get name(): string {
    return this.nameOverride ?? `${this.projectName} - ${this.firstName} ${this.lastName}.`;
  }

  participant(): Person {
    const uid = formatObjectId(this.createdAt, this.tag, this.participantSequence);
    return { uid, firstName: this.firstName, lastName: this.lastName };
  }

  latest(): StoredMessage | undefined {
    let latest: StoredMessage | undefined;
    for (const message of this.messages) {
      // Same instant: the later sequence has the larger uid.
      if (!latest || message.at > latest.at || (message.at === latest.at && message.sequence > latest.sequence)) {
        latest = message;
      }
    }
    return latest;
  }
}

/** Starts the simulator on 127.0.0.1 (an ephemeral port unless `port` is given). */
export async function startRespondentSimulator(
  options: RespondentSimulatorOptions & { port?: number } = {},
): Promise<RespondentSimulator> {
  const apiKey = options.apiKey ?? DEFAULTS.apiKey;
  const apiSecret = options.apiSecret ?? DEFAULTS.apiSecret;
  const pageSizeCap = options.pageSizeCap ?? DEFAULTS.pageSizeCap;
  const now = options.now ?? (() => new Date());
  const seed = options.seed ?? DEFAULTS.seed;
  const historyRandom = seededRandom(seed);
  const liveRandom = seededRandom(seed ^ 0x5bd1e995);
  const orderRandom = seededRandom(seed ^ 0x27d4eb2f);

  const idTag = Math.floor(historyRandom() * 0xffffff)
    .toString(16)
    .padStart(6, "0");
  let lastSequence = 0;
  const nextSequence = () => {
    lastSequence += 1;
    return lastSequence;
  };
  const formatId = (atMs: number, sequence: number) => formatObjectId(atMs, idTag, sequence);
  const objectId = (atMs: number) => formatId(atMs, nextSequence());

  const historyEnd = (options.historyEndsAt ?? new Date(Math.min(now().getTime(), HISTORY_ANCHOR))).getTime();
  const teamUser: Person = { uid: objectId(historyEnd - 400 * DAY_MS), firstName: "Acme Research", lastName: "T" };
  const projectCount = Math.max(1, options.projects ?? DEFAULTS.projects);
  const projects = Array.from({ length: projectCount }, (_, index) => ({
    id: objectId(historyEnd - (200 - index) * DAY_MS),
    name: PROJECT_NAMES[index % PROJECT_NAMES.length] ?? "Study",
    title: `Paid study: ${(PROJECT_NAMES[index % PROJECT_NAMES.length] ?? "Study").toLowerCase()}`,
    createdAt: historyEnd - (200 - index) * DAY_MS,
    externalResearcherId: `researcher-${(index % 2) + 1}`,
  }));
  const projectIds = projects.map((project) => project.id);
  const externalResearcherIds = [...new Set(projects.map((project) => project.externalResearcherId))];

  const conversations: StoredConversation[] = [];
  const bySequence = new Map<number, StoredConversation>();
  /** Every message in the order it was written: what the messages feed serves. */
  const feedIndex: Array<{ conversation: StoredConversation; message: StoredMessage }> = [];
  const hiddenFromFeed = new Set<string>();
  let feedSince = options.feedSince ?? "iso";
  let webhook: { id: string; url: string; privateKey: string } | undefined;
  const webhookDeliveries: WebhookDelivery[] = [];
  const pendingDeliveries = new Set<Promise<unknown>>();
  // Declared here, defined once the serving helpers exist (history is written before any webhook is set).
  let sendWebhook: (
    conversation: StoredConversation,
    message: StoredMessage,
    uuid: string,
  ) => Promise<WebhookDelivery> = async () => {
    throw new Error("simulator: webhooks are not ready yet");
  };

  const createConversation = (input: AddConversationInput, createdAt: number, random: () => number) => {
    const project = projects.find((candidate) => candidate.id === input.projectId) ?? pick(projects, random);
    const projectId = input.projectId ?? project.id;
    const participantSequence = nextSequence();
    const conversation = new StoredConversation(
      idTag,
      nextSequence(),
      createdAt,
      projectId,
      project.name,
      input.externalResearcherId ?? project.externalResearcherId,
      participantSequence,
      input.participant?.firstName ?? pick(FIRST_NAMES, random),
      input.participant?.lastName ?? pick(LAST_INITIALS, random),
      input.name,
    );
    conversations.push(conversation);
    bySequence.set(conversation.sequence, conversation);
    return conversation;
  };

  const appendMessage = (
    conversation: StoredConversation,
    input: AddMessageInput,
    at: number,
    random: () => number,
  ) => {
    const fromParticipant = input.from === "participant";
    const body = input.body ?? pick(fromParticipant ? PARTICIPANT_BODIES : RESEARCHER_BODIES, random);
    const message = new StoredMessage(nextSequence(), at, body, fromParticipant, input.senderOmitted === true);
    conversation.messages.push(message);
    feedIndex.push({ conversation, message });
    if (fromParticipant && webhook) void sendWebhook(conversation, message, randomUUID());
    return message;
  };

  const messagesPerConversation = Math.max(1, options.messagesPerConversation ?? DEFAULTS.messagesPerConversation);
  const conversationCount = Math.max(0, options.conversations ?? DEFAULTS.conversations);
  // Gaps of 1 to 181 minutes, shrunk for long histories so the last message stays before historyEnd.
  const gapSpreadMs = Math.min(180 * 60_000, Math.floor(DAY_MS / (2 * messagesPerConversation)));
  for (let index = 0; index < conversationCount; index += 1) {
    const createdAt = historyEnd - DAY_MS - Math.floor(historyRandom() * 60 * DAY_MS);
    const conversation = createConversation({}, createdAt, historyRandom);
    let at = createdAt;
    let from: Sender = "researcher";
    for (let m = 0; m < messagesPerConversation; m += 1) {
      appendMessage(conversation, { from, ...(m === 0 ? { body: OPENING_BODY } : {}) }, at, historyRandom);
      at += Math.min(60_000, gapSpreadMs) + Math.floor(historyRandom() * gapSpreadMs);
      if (m === 0 || historyRandom() < 0.6) from = from === "researcher" ? "participant" : "researcher";
    }
  }

  const find = (conversationUid: string) => {
    const sequence = sequenceOf(conversationUid, idTag);
    const conversation = sequence === undefined ? undefined : bySequence.get(sequence);
    if (!conversation || conversation.uid !== conversationUid)
      throw new Error(`simulator: no conversation ${conversationUid}`);
    return conversation;
  };

  const addConversation = (input: AddConversationInput = {}) => {
    const createdAt = (input.createdAt ?? now()).getTime();
    const conversation = createConversation(input, createdAt, liveRandom);
    const from = input.firstMessage?.from ?? "researcher";
    const body = input.firstMessage?.body ?? (from === "researcher" ? OPENING_BODY : undefined);
    appendMessage(conversation, { from, ...(body === undefined ? {} : { body }) }, createdAt, liveRandom);
    return conversation;
  };

  const addMessage = (conversationUid: string, input: AddMessageInput) => {
    const conversation = find(conversationUid);
    return appendMessage(conversation, input, (input.createdAt ?? now()).getTime(), liveRandom);
  };

  // ---- serving -------------------------------------------------------------------------

  const toJson = (conversation: StoredConversation, shuffled: boolean) => {
    if (conversation.raw) return conversation.raw.value;
    const user = { uid: teamUser.uid, firstName: teamUser.firstName, lastName: teamUser.lastName };
    const participant = conversation.participant();
    const latest = conversation.latest();
    const messages = conversation.messages.map((message) => ({
      uid: formatId(message.at, message.sequence),
      createdAt: new Date(message.at).toISOString(),
      body: message.body,
      ...(message.senderOmitted
        ? {}
        : {
            sender: message.fromParticipant
              ? { uid: participant.uid, firstName: participant.firstName, lastName: participant.lastName }
              : user,
          }),
    }));
    const read = latest ? !latest.fromParticipant : true;
    return {
      uid: conversation.uid,
      createdAt: new Date(conversation.createdAt).toISOString(),
      updatedAt: new Date(latest?.at ?? conversation.createdAt).toISOString(),
      name: conversation.name,
      deleted: conversation.deleted,
      locked: conversation.locked,
      read,
      metadata: { projectId: conversation.projectId, externalResearcherId: conversation.externalResearcherId },
      user,
      participants: [
        { ...user, read: true, deleted: false },
        {
          uid: participant.uid,
          firstName: participant.firstName,
          lastName: participant.lastName,
          read,
          deleted: false,
        },
      ],
      messages: shuffled ? shuffle(messages, orderRandom) : messages,
      latestMessage: latest
        ? { uid: formatId(latest.at, latest.sequence), createdAt: new Date(latest.at).toISOString(), body: latest.body }
        : { uid: conversation.uid, createdAt: new Date(conversation.createdAt).toISOString(), body: "" },
      messagesCount: conversation.messages.length,
    };
  };

  const requests: SimulatorRequest[] = [];
  const faults: Array<{ remaining: number; fault: SimulatorFault; page: number | undefined }> = [];
  let inFlight = 0;
  let maxConcurrentRequests = 0;

  const sendJson = (response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    const text = JSON.stringify(body);
    response.writeHead(status, {
      "content-type": "application/json; charset=utf-8",
      "content-length": Buffer.byteLength(text),
      ...headers,
    });
    response.end(text);
  };

  const takeFault = (page: number | undefined) => {
    const entry = faults.find((candidate) => candidate.page === undefined || candidate.page === page);
    if (!entry) return undefined;
    entry.remaining -= 1;
    if (entry.remaining <= 0) faults.splice(faults.indexOf(entry), 1);
    return entry.fault;
  };

  const positiveInteger = (value: string | undefined, fallback: number) => {
    if (value === undefined) return fallback;
    const number = Number(value);
    return Number.isInteger(number) && number >= 1 ? number : undefined;
  };

  const servePage = (record: SimulatorRequest, response: ServerResponse) => {
    const { query } = record;
    const problems: string[] = [];
    const page = positiveInteger(query.page, 1);
    if (page === undefined) problems.push("page must be a positive integer");
    const requestedPageSize = positiveInteger(query.pageSize, CONTRACT_DEFAULT_PAGE_SIZE);
    if (requestedPageSize === undefined) problems.push("pageSize must be a positive integer");
    if (query.includeCount !== undefined && query.includeCount !== "true" && query.includeCount !== "false") {
      problems.push("includeCount must be a boolean value");
    }
    if (query.projectId !== undefined && !OBJECT_ID.test(query.projectId))
      problems.push("projectId must be a mongodb id");
    if (page === undefined || requestedPageSize === undefined || problems.length > 0) {
      sendJson(response, 400, { statusCode: 400, message: problems, error: "Bad Request" });
      return 400;
    }

    const { projectId, externalResearcherId } = record;
    const matching =
      projectId === undefined && externalResearcherId === undefined
        ? conversations
        : conversations.filter(
            (conversation) =>
              (projectId === undefined || conversation.projectId === projectId) &&
              (externalResearcherId === undefined || conversation.externalResearcherId === externalResearcherId),
          );
    const pageSize = Math.min(requestedPageSize, pageSizeCap);
    const start = (page - 1) * pageSize;
    const shuffled = options.order === "shuffled";
    const slice = matching.slice(start, start + pageSize);
    const results = (shuffled ? shuffle(slice, orderRandom) : slice).map((item) => toJson(item, shuffled));
    const includeCount = record.includeCount && options.omitTotalResults !== true;
    sendJson(response, 200, {
      ...(includeCount ? { totalResults: matching.length } : {}),
      page,
      pageSize,
      results,
    });
    return 200;
  };

  const sentMessages: SimulatorSentMessage[] = [];
  const readMarks: string[] = [];
  const answerTimers = new Set<NodeJS.Timeout>();

  /** `POST .../messages` (send as our team's account) and `PATCH .../read`, as the contract describes them. */
  const serveConversationAction = async (
    request: IncomingMessage,
    response: ServerResponse,
    conversationUid: string,
    kind: string,
  ): Promise<number> => {
    const method = kind === "messages" ? "POST" : "PATCH";
    if (request.method !== method) {
      sendJson(response, 404, {
        statusCode: 404,
        message: `Cannot ${request.method} ${request.url}`,
        error: "Not Found",
      });
      return 404;
    }
    const text = await readRequestBody(request);
    if (request.headers["x-api-key"] !== apiKey || request.headers["x-api-secret"] !== apiSecret) {
      sendJson(response, 401, { statusCode: 401, message: "Unauthorized" });
      return 401;
    }
    const sequence = sequenceOf(conversationUid, idTag);
    const conversation = sequence === undefined ? undefined : bySequence.get(sequence);
    if (!conversation || conversation.uid !== conversationUid || conversation.deleted) {
      sendJson(response, 404, { statusCode: 404, message: "Conversation not found", error: "Not Found" });
      return 404;
    }
    if (kind === "read") {
      readMarks.push(conversationUid);
      sendJson(response, 200, true);
      return 200;
    }
    let body: unknown;
    try {
      body = (JSON.parse(text) as { body?: unknown }).body;
    } catch {
      body = undefined;
    }
    if (typeof body !== "string" || body.trim() === "") {
      sendJson(response, 400, { statusCode: 400, message: ["body must be a non-empty string"], error: "Bad Request" });
      return 400;
    }
    if (conversation.locked) {
      sendJson(response, 403, { statusCode: 403, message: "Conversation is locked", error: "Forbidden" });
      return 403;
    }
    const message = appendMessage(conversation, { from: "researcher", body }, now().getTime(), liveRandom);
    const messageUid = formatId(message.at, message.sequence);
    sentMessages.push({ conversationUid, messageUid, body, at: new Date(message.at).toISOString() });
    const answerAfter = options.participantAnswersAfterMs;
    if (answerAfter !== undefined) {
      const timer = setTimeout(() => {
        answerTimers.delete(timer);
        if (!conversation.deleted) appendMessage(conversation, { from: "participant" }, now().getTime(), liveRandom);
      }, answerAfter);
      timer.unref();
      answerTimers.add(timer);
    }
    const team = { uid: teamUser.uid, firstName: teamUser.firstName, lastName: teamUser.lastName };
    sendJson(response, 201, {
      uid: messageUid,
      createdAt: new Date(message.at).toISOString(),
      body,
      sender: team,
    });
    return 201;
  };

  const projectRequests: ProjectRequest[] = [];
  const projectFaults: Array<{ remaining: number; fault: SimulatorFault }> = [];

  /** `GET /v1/projects/{projectId}`: the Project object (the fields we read, and the required ones around them). */
  const serveProject = async (request: IncomingMessage, response: ServerResponse, projectId: string) => {
    const record: ProjectRequest = { projectId, status: undefined };
    projectRequests.push(record);
    const fault = projectFaults[0];
    if (fault) {
      fault.remaining -= 1;
      if (fault.remaining <= 0) projectFaults.shift();
      if ("kind" in fault.fault && fault.fault.kind === "hang") return;
      if ("kind" in fault.fault) {
        response.writeHead(200, { "content-type": "text/html" });
        response.end("<html>upstream error</html>");
        record.status = 200;
        return;
      }
      record.status = fault.fault.status;
      sendJson(response, fault.fault.status, { statusCode: fault.fault.status, message: "simulated failure" });
      return;
    }
    if (request.headers["x-api-key"] !== apiKey || request.headers["x-api-secret"] !== apiSecret) {
      record.status = 401;
      sendJson(response, 401, { statusCode: 401, message: "Unauthorized" });
      return;
    }
    const project = projects.find((candidate) => candidate.id === projectId);
    if (!project) {
      record.status = 404;
      sendJson(response, 404, { statusCode: 404, message: "Project not found", error: "Not Found" });
      return;
    }
    record.status = 200;
    sendJson(response, 200, {
      id: project.id,
      createdAt: new Date(project.createdAt).toISOString(),
      publicTitle: project.title,
      publicInternalName: project.name,
      projectStatus: "PUBLISHED",
      projectRecruitingStatus: "RECRUITING",
      targetMarketType: "B2C",
      typeOfResearch: "REMOTE",
      targetResearchMethodology: "ONE_ON_ONE",
      participantTimeRequiredMinutes: 30,
      incentiveAmount: 50,
      targetNumberOfParticipants: 10,
      externalResearcher: { id: project.externalResearcherId },
    });
  };

  const isoInstant = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

  const messageJson = (conversation: StoredConversation, message: StoredMessage) => {
    const participant = conversation.participant();
    const user = { uid: teamUser.uid, firstName: teamUser.firstName, lastName: teamUser.lastName };
    const latest = conversation.latest();
    const read = latest ? !latest.fromParticipant : true;
    return {
      uid: formatId(message.at, message.sequence),
      createdAt: new Date(message.at).toISOString(),
      updatedAt: new Date(message.at).toISOString(),
      body: message.body,
      ...(message.senderOmitted ? {} : { sender: message.fromParticipant ? participant : user }),
      conversation: {
        uid: conversation.uid,
        createdAt: new Date(conversation.createdAt).toISOString(),
        updatedAt: new Date(latest?.at ?? conversation.createdAt).toISOString(),
        name: conversation.name,
        deleted: conversation.deleted,
        locked: conversation.locked,
        read,
        metadata: { projectId: conversation.projectId, externalResearcherId: conversation.externalResearcherId },
        participants: [
          { ...user, read: true, deleted: false },
          { ...participant, read, deleted: false },
        ],
      },
    };
  };

  /** `GET /v1/messaging/messages`: oldest first, `since` / `until` inclusive, the usual pages. */
  const serveFeed = (record: SimulatorRequest, response: ServerResponse) => {
    const { query } = record;
    const problems: string[] = [];
    const page = positiveInteger(query.page, 1);
    if (page === undefined) problems.push("page must be a positive integer");
    const requestedPageSize = positiveInteger(query.pageSize, CONTRACT_DEFAULT_PAGE_SIZE);
    if (requestedPageSize === undefined) problems.push("pageSize must be a positive integer");
    if (query.projectId !== undefined && !OBJECT_ID.test(query.projectId))
      problems.push("projectId must be a mongodb id");
    if (query.since !== undefined && feedSince === "refuse") problems.push("since must be a unix timestamp");
    for (const name of ["since", "until"] as const) {
      const value = query[name];
      if (value !== undefined && feedSince === "iso" && !isoInstant.test(value))
        problems.push(`${name} must be a date`);
    }
    if (page === undefined || requestedPageSize === undefined || problems.length > 0) {
      sendJson(response, 400, { statusCode: 400, message: problems, error: "Bad Request" });
      return 400;
    }
    const sinceMs = query.since === undefined ? Number.NEGATIVE_INFINITY : Date.parse(query.since);
    const untilMs = query.until === undefined ? Number.POSITIVE_INFINITY : Date.parse(query.until);
    const matching = feedIndex
      .filter(
        ({ conversation, message }) =>
          message.at >= sinceMs &&
          message.at <= untilMs &&
          !conversation.raw &&
          (query.projectId === undefined || conversation.projectId === query.projectId) &&
          (query.externalResearcherId === undefined ||
            conversation.externalResearcherId === query.externalResearcherId) &&
          (query.conversationUid === undefined || conversation.uid === query.conversationUid) &&
          !hiddenFromFeed.has(formatId(message.at, message.sequence)),
      )
      .sort((a, b) => a.message.at - b.message.at || a.message.sequence - b.message.sequence);
    const pageSize = Math.min(requestedPageSize, pageSizeCap);
    const start = (page - 1) * pageSize;
    const results = matching
      .slice(start, start + pageSize)
      .map(({ conversation, message }) => messageJson(conversation, message));
    const includeCount = record.includeCount && options.omitTotalResults !== true;
    sendJson(response, 200, { ...(includeCount ? { totalResults: matching.length } : {}), page, pageSize, results });
    return 200;
  };

  const readBody = async (request: IncomingMessage) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString("utf8");
  };

  const webhookJson = (value: { id: string; url: string; privateKey: string }) => ({
    ...value,
    teamId: teamUser.uid,
    organizationId: projectIds[0],
  });

  const registerWebhook = (url: string) => {
    webhook = { id: objectId(now().getTime()), url, privateKey: randomBytes(24).toString("base64url") };
    return { ...webhook };
  };

  /** The conversation by uid, the organisation's webhook, and the feed. */
  const serveMore = async (record: SimulatorRequest, request: IncomingMessage, response: ServerResponse) => {
    if (record.method === "GET" && record.path === "/v1/messaging/messages") return serveFeed(record, response);
    const conversationMatch = /^\/v1\/messaging\/conversations\/([^/]+)$/.exec(record.path);
    if (record.method === "GET" && conversationMatch) {
      const uid = decodeURIComponent(conversationMatch[1] ?? "");
      const sequence = sequenceOf(uid, idTag);
      const conversation = sequence === undefined ? undefined : bySequence.get(sequence);
      if (!conversation || conversation.uid !== uid) {
        sendJson(response, 404, { statusCode: 404, message: "Conversation not found", error: "Not Found" });
        return 404;
      }
      sendJson(response, 200, toJson(conversation, options.order === "shuffled"));
      return 200;
    }
    if (record.path === "/v1/webhooks" && record.method === "GET") {
      if (!webhook) {
        sendJson(response, 404, { statusCode: 404, message: "Webhook not found", error: "Not Found" });
        return 404;
      }
      sendJson(response, 200, webhookJson(webhook));
      return 200;
    }
    if (record.path === "/v1/webhooks" && record.method === "POST") {
      let url: unknown;
      try {
        url = (JSON.parse(await readBody(request)) as { url?: unknown }).url;
      } catch {
        url = undefined;
      }
      if (typeof url !== "string" || !/^https?:\/\/\S+$/.test(url)) {
        sendJson(response, 400, { statusCode: 400, message: ["url must be a URL address"], error: "Bad Request" });
        return 400;
      }
      sendJson(response, 201, webhookJson(registerWebhook(url)));
      return 201;
    }
    const webhookMatch = /^\/v1\/webhooks\/([^/]+)$/.exec(record.path);
    if (record.method === "DELETE" && webhookMatch) {
      if (!webhook || webhook.id !== decodeURIComponent(webhookMatch[1] ?? "")) {
        sendJson(response, 404, { statusCode: 404, message: "Webhook not found", error: "Not Found" });
        return 404;
      }
      webhook = undefined;
      sendJson(response, 200, { deleted: true });
      return 200;
    }
    sendJson(response, 404, { statusCode: 404, message: `Cannot ${record.method} ${record.path}`, error: "Not Found" });
    return 404;
  };

  sendWebhook = async (conversation, message, uuid) => {
    const target = webhook;
    const messageUid = formatId(message.at, message.sequence);
    const delivery: WebhookDelivery = {
      uuid,
      conversationUid: conversation.uid,
      messageUid,
      url: target?.url ?? "",
      status: undefined,
    };
    webhookDeliveries.push(delivery);
    if (!target) {
      delivery.error = "no webhook registered";
      return delivery;
    }
    const envelope = {
      event: "MESSAGES.CREATED",
      uuid,
      created: now().toISOString(),
      payload: {
        resource: {
          messageId: messageUid,
          messageBody: message.body,
          conversationId: conversation.uid,
          senderType: "PARTICIPANT",
          projectId: conversation.projectId,
          createdAt: new Date(message.at).toISOString(),
        },
      },
    };
    const body = JSON.stringify(envelope);
    const signing = options.webhookSigning ?? "raw";
    // `pretty` sends other bytes than those signed: a receiver only matches after re-serialising.
    const sent = signing === "pretty" ? JSON.stringify(envelope, null, 2) : body;
    const work = (async () => {
      try {
        const answer = await fetch(target.url, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            ...(signing === "none" ? {} : { [WEBHOOK_SIGNATURE_HEADER]: signWebhookBody(body, target.privateKey) }),
          },
          body: sent,
          signal: AbortSignal.timeout(3_000),
        });
        await answer.arrayBuffer();
        delivery.status = answer.status;
      } catch (error) {
        delivery.error = error instanceof Error ? error.message : String(error);
      }
    })();
    pendingDeliveries.add(work);
    await work;
    pendingDeliveries.delete(work);
    return delivery;
  };

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? "/", "http://127.0.0.1");
    const query = Object.fromEntries(url.searchParams);
    const pageNumber = query.page === undefined ? 1 : Number(query.page);
    const record: SimulatorRequest = {
      method: request.method ?? "GET",
      path: url.pathname,
      query,
      page: Number.isFinite(pageNumber) ? pageNumber : undefined,
      pageSize: query.pageSize === undefined ? undefined : Number(query.pageSize),
      includeCount: query.includeCount === "true",
      projectId: query.projectId,
      externalResearcherId: query.externalResearcherId,
      status: undefined,
    };
    if (record.method === "GET" && PROJECT_PATH.test(record.path)) {
      await serveProject(request, response, decodeURIComponent(record.path.replace(PROJECT_PATH, "$1")));
      return;
    }
    requests.push(record);

    const latency = typeof options.latencyMs === "function" ? options.latencyMs(record) : (options.latencyMs ?? 0);
    if (latency > 0) await new Promise((resolve) => setTimeout(resolve, latency));
    if (response.destroyed) return;

    const fault = takeFault(record.page);
    if (fault && "kind" in fault && fault.kind === "hang") return;
    if (fault && "kind" in fault) {
      const html = "<html><head><title>502 Bad Gateway</title></head><body>upstream error</body></html>";
      response.writeHead(200, { "content-type": "text/html", "content-length": Buffer.byteLength(html) });
      response.end(html);
      record.status = 200;
      return;
    }
    if (fault) {
      const body = fault.body ?? JSON.stringify({ statusCode: fault.status, message: "simulated failure" });
      response.writeHead(fault.status, {
        "content-type": fault.body === undefined ? "application/json; charset=utf-8" : "text/plain; charset=utf-8",
        "content-length": Buffer.byteLength(body),
        ...(fault.retryAfter === undefined ? {} : { "retry-after": fault.retryAfter }),
      });
      response.end(body);
      record.status = fault.status;
      return;
    }

    const action = /^\/v1\/messaging\/conversations\/([^/]+)\/(messages|read)$/.exec(record.path);
    if (action?.[1] && action[2]) {
      record.status = await serveConversationAction(request, response, decodeURIComponent(action[1]), action[2]);
      return;
    }
    if (
      record.path === "/v1/messaging/messages" ||
      record.path.startsWith("/v1/messaging/conversations/") ||
      record.path === "/v1/webhooks" ||
      record.path.startsWith("/v1/webhooks/")
    ) {
      if (request.headers["x-api-key"] !== apiKey || request.headers["x-api-secret"] !== apiSecret) {
        record.status = 401;
        sendJson(response, 401, { statusCode: 401, message: "Unauthorized" });
        return;
      }
      record.status = await serveMore(record, request, response);
      return;
    }
    if (record.method !== "GET" || record.path !== "/v1/messaging/conversations") {
      record.status = 404;
      sendJson(response, 404, {
        statusCode: 404,
        message: `Cannot ${record.method} ${record.path}`,
        error: "Not Found",
      });
      return;
    }
    if (request.headers["x-api-key"] !== apiKey || request.headers["x-api-secret"] !== apiSecret) {
      record.status = 401;
      sendJson(response, 401, { statusCode: 401, message: "Unauthorized" });
      return;
    }
    record.status = servePage(record, response);
  };

  const server = createServer((request, response) => {
    inFlight += 1;
    maxConcurrentRequests = Math.max(maxConcurrentRequests, inFlight);
    response.on("close", () => {
      inFlight -= 1;
    });
    handle(request, response).catch(() => {
      if (!response.headersSent) sendJson(response, 500, { statusCode: 500, message: "Internal server error" });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  // ---- live activity -------------------------------------------------------------------

  const liveConversations = () => conversations.filter((conversation) => !conversation.deleted && !conversation.raw);
  const autoReplyStops = new Set<() => void>();

  const simulateReplies = (count: number) => {
    const candidates = shuffle(liveConversations(), liveRandom).slice(0, Math.max(0, count));
    for (const conversation of candidates)
      appendMessage(conversation, { from: "participant" }, now().getTime(), liveRandom);
    return candidates.length;
  };

  const startAutoReplies = (autoOptions: AutoRepliesOptions) => {
    const newConversationChance = autoOptions.newConversationChance ?? 0.1;
    const researcherChance = autoOptions.researcherChance ?? 0.3;
    const report = autoOptions.onActivity ?? (() => undefined);
    const tick = () => {
      const candidates = liveConversations();
      if (candidates.length === 0 || liveRandom() < newConversationChance) {
        const conversation = addConversation();
        report({ kind: "conversation", conversationUid: conversation.uid, projectId: conversation.projectId });
        return;
      }
      const conversation = pick(candidates, liveRandom);
      const from: Sender = liveRandom() < researcherChance ? "researcher" : "participant";
      const message = appendMessage(conversation, { from }, now().getTime(), liveRandom);
      report({
        kind: "message",
        conversationUid: conversation.uid,
        messageUid: formatId(message.at, message.sequence),
        from,
        body: message.body,
      });
    };
    const timer = setInterval(tick, Math.max(1, autoOptions.everyMs));
    timer.unref();
    const stop = () => {
      clearInterval(timer);
      autoReplyStops.delete(stop);
    };
    autoReplyStops.add(stop);
    return stop;
  };

  return {
    url: `http://127.0.0.1:${port}`,
    apiKey,
    apiSecret,
    teamUser: { ...teamUser },
    projectIds,
    externalResearcherIds,
    get conversationUids() {
      return conversations.map((conversation) => conversation.uid);
    },
    requests,
    sentMessages,
    readMarks,
    get maxConcurrentRequests() {
      return maxConcurrentRequests;
    },
    addConversation: (input) => addConversation(input).uid,
    addMessage(conversationUid, input) {
      const message = addMessage(conversationUid, input);
      return formatId(message.at, message.sequence);
    },
    deleteConversation(conversationUid, deleteOptions = {}) {
      const conversation = find(conversationUid);
      conversation.deleted = true;
      if (deleteOptions.remove) {
        conversations.splice(conversations.indexOf(conversation), 1);
        bySequence.delete(conversation.sequence);
      }
    },
    setRawConversation(conversationUid, raw) {
      find(conversationUid).raw = { value: raw };
    },
    injectMalformed(input) {
      const conversation = addConversation(input);
      const { latestMessage: _dropped, ...valid } = toJson(conversation, false) as Record<string, unknown>;
      conversation.raw = { value: { ...valid, name: 42 } };
      return conversation.uid;
    },
    failNext(count, fault, match) {
      if (count > 0) faults.push({ remaining: count, fault, page: match?.page });
    },
    simulateReplies,
    startAutoReplies,
    clearRequests() {
      requests.length = 0;
    },
    projectRequests,
    renameProject(projectId, names) {
      const project = projects.find((candidate) => candidate.id === projectId);
      if (!project) throw new Error(`no project ${projectId}`);
      if (names.internalName !== undefined) project.name = names.internalName;
      if (names.title !== undefined) project.title = names.title;
    },
    failNextProjectLookups(count, fault) {
      if (count > 0) projectFaults.push({ remaining: count, fault });
    },
    omitFromFeed(messageUid) {
      hiddenFromFeed.add(messageUid);
    },
    setFeedSince(mode) {
      feedSince = mode;
    },
    get webhook() {
      return webhook && { ...webhook };
    },
    registerWebhook,
    webhookDeliveries,
    async deliverWebhook(conversationUid, messageUid, deliverOptions = {}) {
      const conversation = find(conversationUid);
      const message = conversation.messages.find(
        (candidate) => formatId(candidate.at, candidate.sequence) === messageUid,
      );
      if (!message) throw new Error(`simulator: no message ${messageUid} in ${conversationUid}`);
      return sendWebhook(conversation, message, deliverOptions.uuid ?? randomUUID());
    },
    async webhooksSettled() {
      while (pendingDeliveries.size > 0) await Promise.allSettled([...pendingDeliveries]);
    },
    async close() {
      for (const stop of [...autoReplyStops]) stop();
      for (const timer of answerTimers) clearTimeout(timer);
      answerTimers.clear();
      await Promise.allSettled([...pendingDeliveries]);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

async function readRequestBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > 1_000_000) throw new RangeError("request body too large");
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}
