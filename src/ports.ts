/**
 * The ports the use cases depend on. Adapters (DynamoDB, SQS, Slack, the Respondent HTTP
 * client, in-process fakes) implement them at the edge; the domain never imports an SDK.
 */

import type { SlackMessage } from "./domain/alert.ts";
import type { ConversationState, StoredConversation } from "./domain/detection.ts";
import type { AlertTarget, DigestDue, NewReplyEvent } from "./domain/events.ts";
import type { FeedState } from "./domain/feed.ts";
import type { HealthComponent, HealthRecord } from "./domain/health.ts";
import type { PollChainState, PollTick } from "./domain/poll-chain.ts";
import type { Conversation, FeedMessage, MalformedConversation, Webhook } from "./domain/respondent.ts";
import type { Subscription } from "./domain/subscriptions.ts";

/** The Partner API key pair, sent as `x-api-key` / `x-api-secret`. */
export interface RespondentCredentials {
  apiKey: string;
  apiSecret: string;
}

export interface ListConversationsFilter {
  projectId?: string | undefined;
  externalResearcherId?: string | undefined;
}

export interface ConversationPageResult {
  page: number;
  /** The page size the server applied (it may cap what we asked for). */
  appliedPageSize: number;
  totalResults: number | undefined;
  conversations: Conversation[];
  malformed: MalformedConversation[];
}

export interface ConversationSource {
  /** Walks every page of `GET /v1/messaging/conversations` for the filter, in page order. */
  listConversations(filter: ListConversationsFilter): AsyncIterable<ConversationPageResult>;
}

/** `GET /v1/messaging/messages` for one scope and time window (both ends included). */
export interface MessagesFilter {
  projectId?: string | undefined;
  since: Date;
  until: Date;
}

export interface MessagePageResult {
  page: number;
  appliedPageSize: number;
  totalResults: number | undefined;
  messages: FeedMessage[];
  /** Items that failed validation (counted and logged; a sweep still covers their conversations). */
  malformed: number;
}

export interface MessageFeed {
  /**
   * Walks every page of the messages feed for the filter. Throws RespondentRequestRejectedError
   * when the API refuses the request (a 4xx other than 401/403/408/429): the feed is then unusable.
   */
  listMessages(filter: MessagesFilter): AsyncIterable<MessagePageResult>;
}

export interface ConversationReader {
  /** `GET /v1/messaging/conversations/{uid}`; undefined when the API says there is no such conversation. */
  getConversation(conversationUid: string): Promise<Conversation | undefined>;
}

/** The organisation's one webhook (`/v1/webhooks`). */
export interface WebhookAdmin {
  /** Undefined when none is registered. */
  getWebhook(): Promise<Webhook | undefined>;
  /** Registers `url`, deactivating the previous webhook; the answer carries the signing key. */
  createWebhook(url: string): Promise<Webhook>;
  deleteWebhook(webhookId: string): Promise<void>;
}

export interface StateStore {
  /** Reads the stored state of each uid (absent uids have none). */
  getStates(conversationUids: readonly string[]): Promise<Map<string, ConversationState>>;
  /** The state and the feed's marks of each uid, in one read (uids with neither are absent). */
  getStored(conversationUids: readonly string[]): Promise<Map<string, StoredConversation>>;
  /**
   * Stores `next` only if the stored state is still `expected` (absent when undefined).
   * Throws StateConflictError when another writer moved it first. With `accountedFeedMarks`
   * (the feed is on), the item is updated in place: those marks are removed and any other
   * mark (one the feed added meanwhile) stays.
   */
  advanceState(
    conversationUid: string,
    expected: ConversationState | undefined,
    next: ConversationState,
    accountedFeedMarks?: readonly string[],
  ): Promise<void>;
  /** Records that the feed handled these messages (idempotent, commutes with every other write). */
  addFeedMarks(conversationUid: string, messageUids: readonly string[]): Promise<void>;
}

/** The feed's shared state (one item): which source the poller uses, how far the feed got, the team's account. */
export interface StoredFeedState {
  state: FeedState;
  revision: number;
}

export interface FeedStateStore {
  read(): Promise<StoredFeedState | undefined>;
  /** Stores `next` only if the stored revision is still `expectedRevision` (no item when undefined). */
  write(next: FeedState, expectedRevision: number | undefined): Promise<boolean>;
  /** Removes it (`doctor --reset-feed`); resolves false when there was none. */
  reset(): Promise<boolean>;
}

/** Webhook deliveries seen and conversation reads they caused, so duplicates and floods cost nothing. */
export interface WebhookHintStore {
  /** True the first time a delivery uuid is recorded; the record expires after `keepSeconds`. */
  recordDelivery(uuid: string, receivedAt: Date, keepSeconds: number): Promise<boolean>;
  /**
   * Claims the right to read the conversation now, for `windowMs`: refused (with the end of the
   * current window) while another read's window is open.
   */
  claimRead(
    conversationUid: string,
    now: Date,
    windowMs: number,
  ): Promise<{ claimed: true } | { claimed: false; until: Date }>;
}

/** The webhook URL this installation registered (so `webhook register` can tell ours from another integration's). */
export interface WebhookRegistration {
  webhookId: string;
  url: string;
  registeredAt: string;
}

export interface WebhookRegistrationStore {
  read(): Promise<WebhookRegistration | undefined>;
  save(registration: WebhookRegistration): Promise<void>;
  forget(): Promise<void>;
}

export interface SubscriptionStore {
  list(): Promise<Subscription[]>;
  /** Creates the subscription; throws UsageError if one exists for the same project and channel. */
  add(subscription: Subscription): Promise<void>;
  /** Replaces an existing subscription (keeping its identity); used by declarative apply. */
  put(subscription: Subscription): Promise<void>;
  /** Returns false when there was nothing to remove. */
  remove(projectId: string, channelId: string): Promise<boolean>;
}

export interface EventQueue {
  /** Resolves only once every event is durably queued; throws QueueUnavailableError otherwise. */
  sendEvents(events: readonly NewReplyEvent[]): Promise<void>;
}

/** One message of the notifier's queue, as SQS (or the Lambda's SQS event) hands it over. */
export interface QueuedMessage {
  messageId: string;
  /** What changing the message's visibility needs (the SQS receipt handle). */
  receiptHandle: string;
  /** The FIFO message group: the conversation. */
  groupId: string | undefined;
  body: string;
  /** Deliveries so far, this one included. */
  receiveCount: number;
}

/** What a consumer does with a message once its delivery is decided. */
export interface DeliverySettlement {
  /**
   * Removes a delivered message. Absent where the runtime removes delivered messages itself
   * (the notifier Lambda reports the others as batch item failures).
   */
  acknowledge?(message: QueuedMessage): Promise<void>;
  /** Makes the message visible again after `seconds` (at least one). */
  retryLater(message: QueuedMessage, seconds: number): Promise<void>;
  /** Moves a message that can never be delivered to the dead-letter queue now. */
  deadLetter(message: QueuedMessage, reason: string): Promise<void>;
}

/** The notifier's queue as a consumer outside Lambda (the local runtime, tests) reads it. */
export interface DeliveryQueue extends Required<DeliverySettlement> {
  /** Up to `max` visible messages, waiting up to `waitSeconds` for the first. */
  receive(max: number, waitSeconds: number): Promise<QueuedMessage[]>;
  /** Messages not delivered yet: visible, in flight or delayed. */
  pendingCount(): Promise<number>;
}

/** The move task of a redrive, as far as the queue tells. */
export interface MoveTaskProgress {
  status: string;
  moved: number;
  toMove: number | undefined;
  failureReason: string | undefined;
}

export interface MoveTaskSource {
  redriveStatus(sourceArn: string): Promise<MoveTaskProgress | undefined>;
}

/** A message of a dead-letter queue, as far as the queue tells. */
export interface DeadLetterMessage {
  id: string;
  body: string;
  groupId: string | undefined;
  /** Deliveries so far, this listing's included. */
  receiveCount: number | undefined;
  /** The queue's SentTimestamp: a FIFO queue resets it when it moves a message to its DLQ. */
  sentAt: string | undefined;
}

/** The caller's hold on a delivery, for the ledger's later conditional writes. */
export interface Claim {
  claimedAt: string;
}

/**
 * `claimed`: this caller may post. `posted`: already in the channel, skip. `in_progress`: another
 * notifier holds a fresh claim until `leaseUntil`. `reclaimed`: an earlier attempt claimed and never
 * confirmed (it crashed, or Slack's answer was lost): this caller may deliver, but the alert may be
 * in the channel since `firstClaimedAt`, so it must look before it posts.
 */
export type ClaimOutcome =
  | { status: "claimed"; claim: Claim }
  | { status: "posted"; messageTs?: string | undefined }
  | { status: "in_progress"; leaseUntil: Date }
  | {
      status: "reclaimed";
      claim: Claim;
      firstClaimedAt: Date;
      /** The thread the earlier attempt posted into, when it recorded one (replies held for a digest). */
      threadTs?: string | undefined;
    }
  /** Held for a digest (quiet hours, digest interval): the digest posts it. */
  | { status: "held"; digestId: string }
  /** Handled without a post of its own: muted in that channel, or shown in a digest (`messageTs`). */
  | { status: "settled"; how: SettledHow; messageTs?: string | undefined };

/** How a delivery was handled without an alert of its own. */
export type SettledHow = "muted" | "digested";

export interface ClaimOptions {
  /**
   * The digest delivering a reply it held: a delivery held for this digest is claimed afresh
   * (nothing was posted for it yet), recording the thread it will be posted into.
   */
  takeHeld?: { digestId: string; threadTs: string | undefined };
}

export interface DeliveryLedger {
  claim(
    eventId: string,
    channelId: string,
    now: Date,
    leaseSeconds: number,
    options?: ClaimOptions,
  ): Promise<ClaimOutcome>;
  /** Our claim is handled without a post (the conversation is muted there); a claim taken over by another notifier is left to it. */
  settle(eventId: string, channelId: string, claim: Claim, how: SettledHow, now: Date): Promise<void>;
  /** A delivery held for `digestId` is handled by the digest without a post of its own (shown in it, or muted since). */
  settleHeld(
    eventId: string,
    channelId: string,
    digestId: string,
    how: SettledHow,
    messageTs: string | undefined,
    now: Date,
  ): Promise<void>;
  markPosted(eventId: string, channelId: string, messageTs: string, now: Date): Promise<void>;
  /** Gives a fresh claim back after a failure that certainly did not post: the next attempt posts without looking. */
  release(eventId: string, channelId: string): Promise<void>;
  /** Ends our claim's lease now, keeping the claim: the next attempt may take it over at once, and looks first. */
  expireLease(eventId: string, channelId: string, claim: Claim, now: Date): Promise<void>;
}

export interface ThreadStore {
  getThread(conversationUid: string, channelId: string): Promise<string | undefined>;
  /** Keeps the first thread saved for the pair; returns the one that is stored. */
  saveThread(conversationUid: string, channelId: string, threadTs: string): Promise<string>;
}

export interface AlertSearch {
  /** The event id the alert carries in its message metadata. */
  eventId: string;
  /** Messages older than this are not looked at (just before the first attempt's claim). */
  oldest: Date;
  /** Look among this thread's replies; absent: among the channel's top-level messages. */
  threadTs?: string | undefined;
  /** The metadata `event_type` to look for; default the alert's (`respondent_reply`). */
  eventType?: string | undefined;
}

export interface SlackPoster {
  /** Throws the Slack* errors of errors.ts, classified. */
  post(channelId: string, message: SlackMessage, threadTs: string | undefined): Promise<{ ts: string }>;
  /**
   * The alert of `search.eventId` if it is in the channel (its ts, and its thread's when it is a
   * reply), undefined if not. Throws the Slack* errors of errors.ts: missing_scope when the app
   * may not read the channel's history.
   */
  findAlert(channelId: string, search: AlertSearch): Promise<{ ts: string; threadTs: string | undefined } | undefined>;
}

export interface SlackIdentity {
  team: string;
  user: string;
  /** From the x-oauth-scopes header; undefined when it is not sent. */
  scopes: string[] | undefined;
}

export interface SlackChannelInfo {
  exists: boolean;
  name: string | undefined;
  isMember: boolean;
  isArchived: boolean;
  isPrivate: boolean;
}

/** The read-only Slack calls the checks make (auth.test, conversations.info). */
export interface SlackDirectory {
  identity(): Promise<SlackIdentity>;
  channel(channelId: string): Promise<SlackChannelInfo>;
}

/** A health record with the revision that conditional writes compare against. */
export interface StoredHealth {
  record: HealthRecord;
  revision: number;
}

export interface HealthStore {
  /** Undefined when there is no record yet; an unreadable one reads as a fresh `ok` record that the next write replaces. */
  read(component: HealthComponent): Promise<StoredHealth | undefined>;
  /**
   * Stores `next` only if the stored revision is still `expectedRevision` (no record when
   * undefined). Resolves false when another writer came first.
   */
  write(component: HealthComponent, next: HealthRecord, expectedRevision: number | undefined): Promise<boolean>;
}

/** Who holds the poller's lease, and until when. */
export interface PollLeaseHolder {
  holder: string;
  until: Date;
}

/**
 * The poller's lease: one item in the table that a poll tick takes before polling, so that an
 * overlapping tick (a duplicate or late scheduler delivery, `start` next to the deployed poller)
 * skips instead of listing everything a second time. Overlaps stay harmless without it
 * (conditional state writes, the ledger); the lease only saves the work.
 */
export interface PollLease {
  /**
   * Takes the lease until `until` unless another holder has it and it has not run out; then
   * resolves that holder. Throws StateUnavailableError when the table cannot be reached.
   */
  acquire(holder: string, until: Date): Promise<{ acquired: true } | { acquired: false; heldBy: PollLeaseHolder }>;
  /** Ends the lease at once if `holder` still has it; a no-op otherwise. */
  release(holder: string): Promise<void>;
}

/**
 * Where the fast-poll chain is (src/usecases/poll-chain.ts): one item in the table. Every
 * change is conditional, so that of two ticks or two watchdogs acting on the same state only
 * one wins. Throws StateUnavailableError when the table cannot be reached.
 */
export interface PollChainStore {
  read(): Promise<PollChainState | undefined>;
  /**
   * Moves the chain `tick.chainId` from `tick.seq - 1` to `tick.seq`, started at `at`. False
   * when the chain is elsewhere: a duplicate or redelivered tick, or a chain since replaced.
   */
  advance(tick: PollTick, at: Date): Promise<boolean>;
  /** Stores `next` if the stored state is still `seen` (undefined: no chain yet); false otherwise. */
  replace(next: PollChainState, seen: PollChainState | undefined): Promise<boolean>;
}

/** The chain's delay queue: a tick sent now reaches the poller after `delaySeconds`. */
export interface PollTickQueue {
  send(tick: Omit<PollTick, "kind">, delaySeconds: number): Promise<void>;
}

/** The deployed stack's one credentials secret, as `secret fill` reads and writes it whole. */
export interface CredentialsSecretStore {
  /** Where it is, for messages (its ARN). */
  readonly where: string;
  /** The stored JSON object; undefined when it has no value yet or is not a JSON object. */
  read(): Promise<Record<string, unknown> | undefined>;
  /** Stores `value` as the secret's new version, in one write. */
  write(value: Record<string, string>): Promise<void>;
}

export type ResumeOutcome = "resumed" | "was_active" | "not_found";

export interface SubscriptionPauses {
  /**
   * Pauses the subscription with a reason, unless it is paused already (or gone). Resolves true
   * only for the caller that paused it, so the pause is announced once.
   */
  pause(projectId: string, channelId: string, reason: string, at: Date): Promise<boolean>;
  /** Unpauses it and clears the reason. */
  resume(projectId: string, channelId: string, at: Date): Promise<ResumeOutcome>;
}

/** The operators' Slack channel: health transitions and paused subscriptions are posted there. */
export interface OpsChannel {
  channelId: string;
  /** Throws the Slack* errors of errors.ts. */
  post(message: SlackMessage): Promise<void>;
}

export interface Clock {
  now(): Date;
}

export type LogAttributes = Record<string, unknown>;

export interface Log {
  debug(message: string, attributes?: LogAttributes): void;
  info(message: string, attributes?: LogAttributes): void;
  warn(message: string, attributes?: LogAttributes): void;
  error(message: string, attributes?: LogAttributes): void;
}

export type MetricName =
  | "Polls"
  | "PollFailures"
  | "PagesFetched"
  | "ConversationsScanned"
  | "ConversationsMalformed"
  | "ConversationsFailed"
  | "DuplicateConversations"
  | "StateConflicts"
  | "NewReplies"
  | "EventsQueued"
  | "AlertsPosted"
  | "AlertsSkippedDuplicate"
  | "AlertsPossiblyRepeated"
  | "AlertsFoundOnReadBack"
  | "AlertsRetried"
  | "PermanentFailures"
  | "RepliesSent"
  | "RepliesFailed"
  | "ConversationsMarkedRead"
  | "SlackRequestsRefused"
  | "MissedByFeed"
  | "WebhookHints"
  | "PollChainsStarted"
  | "PollTicksStale";

export interface Metrics {
  count(name: MetricName, value?: number): void;
}

export const systemClock: Clock = { now: () => new Date() };

/**
 * What the poller last knew of each conversation's stored `lastMessageUid`. State only moves
 * forward, so when the API's latestMessage.uid equals the remembered uid nothing can be new,
 * whatever the table says now: a warm poller skips the read. A miss or a difference always
 * reads the table, and writes stay conditional, so a stale entry costs a read, never an alert.
 */
export type SeenCache = Map<string, string>;

export interface SeenSnapshotLoad {
  entries: number;
  parts: number;
  /** Parts that could not be read and were ignored (their conversations are read instead). */
  unreadableParts: number;
  /** When the oldest part read was saved; undefined when nothing was read. */
  savedAt: Date | undefined;
}

export interface SeenSnapshotSave {
  entries: number;
  parts: number;
  bytes: number;
}

/**
 * The poller's SeenCache (conversationUid -> the messageUid its stored state had reached),
 * persisted so that a new poller process does not start cold. See src/usecases/seen-snapshot.ts.
 */
export interface SeenSnapshotStore {
  /** Adds the stored entries to `cache`; throws StateUnavailableError when it cannot be read at all. */
  loadInto(cache: Map<string, string>): Promise<SeenSnapshotLoad>;
  /** Replaces the stored snapshot with `cache`; throws StateUnavailableError. */
  save(cache: ReadonlyMap<string, string>): Promise<SeenSnapshotSave>;
}

// ---- Slack actions (the Reply and Mark as read buttons, the modal, /respondent) ----------------

/** The Respondent calls the Slack actions make for a conversation. */
export interface ConversationActions {
  /**
   * `POST /v1/messaging/conversations/{uid}/messages`, tried once (it is not idempotent). Throws the
   * Respondent* errors of errors.ts; `mayHaveTakenEffect` after a timeout, a 5xx or a dropped
   * connection, false when the request certainly did not send a message.
   */
  sendMessage(conversationUid: string, body: string): Promise<{ messageUid: string | undefined }>;
  /** `PATCH /v1/messaging/conversations/{uid}/read` (idempotent: retried). Throws the Respondent* errors. */
  markRead(conversationUid: string): Promise<void>;
}

/** A Block Kit modal, as `views.open` takes it. */
export interface SlackModal {
  type: "modal";
  callback_id: string;
  title: { type: "plain_text"; text: string };
  submit?: { type: "plain_text"; text: string };
  close?: { type: "plain_text"; text: string };
  private_metadata?: string;
  blocks: unknown[];
}

/** A message for one person (ephemeral) or for a slash command's `response_url`. */
export interface SlackNote {
  text: string;
  blocks?: unknown[];
}

/** The Slack calls that answer a person: the modal, an alert's update, messages only they see. */
export interface SlackResponder {
  /** `views.open` with the interaction's trigger (valid for 3 seconds). Throws the Slack* errors. */
  openModal(triggerId: string, view: SlackModal): Promise<void>;
  /** `chat.update` of one of our messages. Throws the Slack* errors. */
  updateMessage(channelId: string, ts: string, message: SlackMessage): Promise<void>;
  /** `chat.postEphemeral`: only `userId` sees it. Throws the Slack* errors. */
  postEphemeral(channelId: string, userId: string, note: SlackNote, threadTs?: string | undefined): Promise<void>;
  /** Answers a slash command through its `response_url` (ephemeral). Throws the Slack* errors. */
  respond(responseUrl: string, note: SlackNote): Promise<void>;
}

/** What the notifier recorded of its alerts (the delivery ledger), as the Slack endpoint checks it. */
export interface AlertRecords {
  /** The ts of the alert of `eventId` in `channelId` once it is recorded as posted; undefined otherwise. */
  postedAlertTs(eventId: string, channelId: string): Promise<string | undefined>;
}

/** One Reply submission: what is sent, to which conversation, for whom, and where it is told. */
export interface ReplySubmission {
  conversationUid: string;
  channelId: string;
  /** The alert the Reply button was on, and the thread the "replied" note goes to. */
  alertTs: string;
  threadTs: string;
  userId: string;
  text: string;
}

/**
 * `sending`: a send is under way (or crashed: after `leaseUntil` it counts as `uncertain`).
 * `sent`: Respondent took it. `failed`: it certainly did not reach Respondent; a retry may send.
 * `uncertain`: it may have reached Respondent; it is never sent again automatically.
 */
export type ReplyStatus = "sending" | "sent" | "failed" | "uncertain";

export interface StoredReply {
  key: string;
  submission: ReplySubmission;
  status: ReplyStatus;
  /** Why the last attempt failed (for `failed` and `uncertain`). */
  reason: string | undefined;
  leaseUntil: Date | undefined;
}

export type ReplyClaimOutcome = { status: "claimed" } | { status: "taken"; stored: StoredReply };

/**
 * Exactly-once sends of Reply submissions, keyed by the submission (a redelivered submission has
 * the same key). A conditional write in the table claims the send; only a `failed` one may be
 * claimed again, by the submitter's retry.
 */
export interface ReplyLedger {
  claim(key: string, submission: ReplySubmission, now: Date, leaseSeconds: number): Promise<ReplyClaimOutcome>;
  /** Claims a `failed` submission again for a retry; `taken` when it is not `failed` (any more). */
  reclaimFailed(key: string, now: Date, leaseSeconds: number): Promise<ReplyClaimOutcome>;
  get(key: string): Promise<StoredReply | undefined>;
  markSent(key: string, messageUid: string | undefined, now: Date): Promise<void>;
  markFailed(key: string, outcome: "failed" | "uncertain", reason: string, now: Date): Promise<void>;
}

/** Who marked an alert read, once per alert: the read endpoint is called by the first click only. */
export interface ReadMarks {
  /** `claimed`: this click marks it; `taken`: someone did (or is doing) it already. */
  claim(
    channelId: string,
    alertTs: string,
    userId: string,
    now: Date,
  ): Promise<{ status: "claimed" } | { status: "taken"; by: string }>;
  /** Gives the mark back after a failed read call, so the next click tries again. */
  release(channelId: string, alertTs: string): Promise<void>;
}

// ---- project names ---------------------------------------------------------------------------

/** What `GET /v1/projects/{projectId}` says about a project that we show. */
export interface ProjectInfo {
  id: string;
  /** `publicInternalName`: the team's own name for it. */
  internalName: string | undefined;
  /** `publicTitle`: what participants see. */
  title: string | undefined;
}

export interface ProjectSource {
  /** The project, or undefined when the API does not know it (404); throws the Respondent* errors otherwise. */
  getProject(projectId: string): Promise<ProjectInfo | undefined>;
}

/** A project's row in the name cache: `found: false` records a 404, so it is asked again only after a day. */
export interface CachedProject {
  id: string;
  found: boolean;
  internalName: string | undefined;
  title: string | undefined;
  fetchedAt: Date;
}

export interface ProjectNameStore {
  /** The cached rows of these projects (absent ids have none); throws StateUnavailableError. */
  get(projectIds: readonly string[]): Promise<Map<string, CachedProject>>;
  put(project: CachedProject): Promise<void>;
}

// ---- mutes, counts ---------------------------------------------------------------------------

export interface ConversationMute {
  conversationUid: string;
  channelId: string;
  mutedAt: string;
  /** Who muted it: `cli`, or a Slack user id. */
  mutedBy: string;
}

export interface MuteStore {
  isMuted(conversationUid: string, channelId: string): Promise<boolean>;
  /** Resolves false when it was muted already. */
  mute(mute: ConversationMute): Promise<boolean>;
  /** Resolves false when it was not muted. */
  unmute(conversationUid: string, channelId: string): Promise<boolean>;
  list(): Promise<ConversationMute[]>;
}

/** The replies of a conversation alerted in a channel on one local day, for "3rd reply today". */
export interface ReplyCounter {
  /** Counts the event once however often it is recorded; resolves the day's count with it. */
  record(conversationUid: string, channelId: string, day: string, eventId: string): Promise<number>;
}

// ---- digests ---------------------------------------------------------------------------------

/** One reply held for a digest: the event, and the target it was held for. */
export interface HeldReply {
  event: NewReplyEvent;
  target: AlertTarget;
  heldAt: string;
}

/** A digest: one message for one subscription's channel, due at `dueAt`. */
export interface DigestRecord {
  digestId: string;
  subscriptionId: string;
  channelId: string;
  dueAt: string;
  /** The target of its first held reply: mentions, body mode, thread mode, zone. */
  target: AlertTarget;
  /** Whether a reply was held for quiet hours (the digest then says quiet hours are over). */
  quiet: boolean;
  /** When the first reply was held. */
  since: string;
  /** Set once its delivery started: no reply joins it after that. */
  closedAt: string | undefined;
}

export type HoldOutcome =
  /** Held: the ledger says so and the digest has it. */
  | { status: "held" }
  /** That digest is being delivered already: plan again from its due time. */
  | { status: "closed"; dueAt: Date }
  /** Our claim is gone (another notifier took it over): it is theirs to deliver. */
  | { status: "claim_lost" };

export interface DigestStore {
  /**
   * In one transaction: our ledger claim becomes "held for this digest", the reply joins the
   * digest, and the digest is due at `dueAt`. Throws StateUnavailableError (nothing was held).
   */
  hold(input: {
    digestId: string;
    dueAt: Date;
    reason: "quiet" | "digest";
    reply: HeldReply;
    claim: Claim;
    now: Date;
  }): Promise<HoldOutcome>;
  /** Digests due by `now` whose delivery message was not queued (or was queued more than `requeueAfterMs` ago). */
  due(now: Date, options: { limit: number; requeueAfterMs: number }): Promise<DigestDue[]>;
  markQueued(digest: DigestDue, now: Date): Promise<void>;
  /** Closes the digest to new replies and returns it; undefined when there is no such digest. */
  close(digestId: string, now: Date): Promise<DigestRecord | undefined>;
  /** Its replies, oldest first. */
  replies(digestId: string): Promise<HeldReply[]>;
  /** Delivered: it is no longer due. */
  finish(digestId: string, dueAt: string, now: Date): Promise<void>;
}

/** Sends "this digest is due" to the notifier's queue. */
export interface DigestQueue {
  sendDigests(digests: readonly DigestDue[]): Promise<void>;
}
