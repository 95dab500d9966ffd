import {
  accountedMarks,
  type ConversationState,
  detectFeedMessages,
  detectNewMessages,
  isUnchanged,
  type StoredConversation,
} from "../domain/detection.ts";
import type { NewReplyEvent } from "../domain/events.ts";
import {
  afterFeedPoll,
  afterSweep,
  type FeedState,
  feedCoverage,
  feedPollWorthStoring,
  feedShouldHaveSeen,
  initialFeedState,
  type PollSource,
  pollSource,
  toSweepOnly,
} from "../domain/feed.ts";
import { feedSweepOnlyMessage } from "../domain/ops-messages.ts";
import type { Conversation, FeedMessage } from "../domain/respondent.ts";
import { pollScopes, type Subscription } from "../domain/subscriptions.ts";
import { asNotifierError, describeError } from "../errors.ts";
import type {
  Clock,
  ConversationSource,
  EventQueue,
  FeedStateStore,
  Log,
  MessageFeed,
  Metrics,
  OpsChannel,
  SeenCache,
  StateStore,
} from "../ports.ts";
import type { ProjectNames } from "./project-names.ts";

/** The messages feed between sweeps (RESPONDENT_FEED=on); absent, every poll is a sweep, as before. */
export interface FeedPorts {
  source: MessageFeed;
  store: FeedStateStore;
  /** A sweep runs when this long has passed since the last complete one (RECONCILE_INTERVAL_MINUTES). */
  reconcileIntervalMs: number;
  /** Told once when the poller switches to sweep-only. */
  ops?: OpsChannel | undefined;
}

export interface PollPorts {
  api: ConversationSource;
  state: StateStore;
  queue: EventQueue;
  subscriptions: { list(): Promise<Subscription[]> };
  clock: Clock;
  log: Log;
  metrics: Metrics;
  cache?: SeenCache;
  onProgress?: (progress: PollProgress) => void;
  /** Receives each event as it is queued (the local CLI prints them). */
  onEvent?: (event: NewReplyEvent) => void;
  /**
   * Puts the names of the events' projects into the cache before they are queued, so that their
   * alerts name them (src/usecases/project-names.ts). Never throws, never holds up for long.
   */
  projectNames?: Pick<ProjectNames, "ensure" | "labelFor"> | undefined;
  feed?: FeedPorts | undefined;
}

export interface PollOptions {
  /** Read everything, queue nothing, write nothing: report what would be alerted. */
  dryRun?: boolean;
  /** How many state writes run at once. */
  writeConcurrency?: number;
  /**
   * How many scopes (subscribed projects) are listed at once. Their requests share the API
   * client's `maxConcurrency` budget, so this adds no load on the API: it only keeps the
   * budget busy while a scope waits for its first page (which carries the page count).
   */
  scopeConcurrency?: number;
  /** With the feed on: sweep every conversation now (`poll --once --full`). */
  full?: boolean;
}

export interface PollProgress {
  scope: string;
  page: number;
  pagesFetched: number;
  conversationsChecked: number;
}

export interface PollFailure {
  scope: string;
  conversationUid?: string;
  reason: string;
  retryable: boolean;
}

export interface PollReport {
  subscriptions: number;
  scopes: string[];
  pagesFetched: number;
  conversationsScanned: number;
  conversationsChanged: number;
  malformedConversations: number;
  duplicateConversations: number;
  newReplies: number;
  eventsQueued: number;
  ownMessages: number;
  stateConflicts: number;
  failures: PollFailure[];
  /** Events found (queued, or in a dry run what would have been). */
  events: NewReplyEvent[];
  durationMs: number;
  /** `sweep`: every conversation was listed; `feed`: only the messages since the watermark were read. */
  source: "sweep" | "feed";
  /** Why this poll swept (with the feed on): first, reconcile, full, sweep-only, feed-refused. */
  sweepReason?: string | undefined;
  /** Messages the feed returned. */
  feedMessages: number;
  /** Participant messages this sweep found that the feed should have found. */
  missedByFeed: number;
}

const ALL_SCOPE_LABEL = "*";
export const DEFAULT_SCOPE_CONCURRENCY = 8;

/** What one scope found; merged into the report in scope order, so the report does not depend on timing. */
interface ScopeOutput {
  events: NewReplyEvent[];
  failures: PollFailure[];
}

/**
 * One poll cycle: read the subscriptions, list the polled scopes (a few at once, each page by
 * page in order), detect new participant replies, queue their events, and only then move each
 * conversation's state forward, conditionally on the state that was read. A failure in one
 * conversation, page or scope is recorded and the rest carry on; nothing is advanced that was
 * not queued, so an outage delays alerts and never drops them.
 */
export async function poll(ports: PollPorts, options: PollOptions = {}): Promise<PollReport> {
  const feed = ports.feed;
  if (!feed) return sweep(ports, options, undefined);
  const stored = await feed.store.read();
  const state = stored?.state ?? initialFeedState();
  const source = pollSource(stored?.state, ports.clock.now(), {
    full: options.full === true,
    reconcileIntervalMs: feed.reconcileIntervalMs,
  });
  if (source.kind === "feed") {
    const report = await feedPoll(ports, feed, state, source.since, options);
    if (!report.refusal) return report.report;
    // The feed is unusable as asked: sweep now, so this poll loses nothing, and from now on.
    const reason = `the messages feed refused the request (${describeError(report.refusal)})`;
    ports.log.error(
      "the messages feed refused the request; the poller sweeps only from now on (`respondent-notifier doctor --reset-feed` to try the feed again)",
      { reason: describeError(report.refusal) },
    );
    if (!options.dryRun) await switchToSweepOnly(ports, feed, reason);
    return sweep(ports, options, { state: toSweepOnly(state, reason, ports.clock.now()), why: "feed-refused" });
  }
  return sweep(ports, options, { state, why: source.why });
}

function emptyReport(subscriptions: readonly Subscription[], scopes: ReadonlyArray<string | undefined>): PollReport {
  return {
    subscriptions: subscriptions.length,
    scopes: scopes.map((scope) => scope ?? ALL_SCOPE_LABEL),
    pagesFetched: 0,
    conversationsScanned: 0,
    conversationsChanged: 0,
    malformedConversations: 0,
    duplicateConversations: 0,
    newReplies: 0,
    eventsQueued: 0,
    ownMessages: 0,
    stateConflicts: 0,
    failures: [],
    events: [],
    durationMs: 0,
    source: "sweep",
    feedMessages: 0,
    missedByFeed: 0,
  };
}

interface SweepFeedContext {
  state: FeedState;
  why: Extract<PollSource, { kind: "sweep" }>["why"] | "feed-refused" | "webhook";
  /** Filled while sweeping: the `conversation.user` uids seen, and the messages the feed missed. */
  teamUids?: Set<string>;
}

/** Today's poll: list every conversation of every polled scope. With the feed on, it also checks the feed. */
async function sweep(ports: PollPorts, options: PollOptions, feedContext: SweepFeedContext | undefined) {
  const startedAt = Date.now();
  const subscriptionsReadAt = ports.clock.now();
  const subscriptions = await ports.subscriptions.list();
  const scopes = pollScopes(subscriptions);
  const report = emptyReport(subscriptions, scopes);
  if (feedContext) {
    report.sweepReason = feedContext.why;
    feedContext.teamUids = new Set();
  }
  ports.metrics.count("Polls");
  if (scopes.length === 0) {
    ports.log.info("no active subscription: nothing to poll (add one with `respondent-notifier subscriptions add`)");
  }

  // A conversation listed twice in one poll (pages shifting under us) is handled once. Scopes
  // run concurrently, but each check-and-add below has no await in between, so it stays exact.
  const seenThisPoll = new Set<string>();
  const tasks = scopes.map((scope) => ({ scope, output: { events: [], failures: [] } as ScopeOutput }));
  let stopped = false;
  const scopeConcurrency = Math.max(1, Math.floor(options.scopeConcurrency ?? DEFAULT_SCOPE_CONCURRENCY));
  await forEachLimited(tasks, scopeConcurrency, async ({ scope, output }) => {
    if (stopped) return;
    const label = scope ?? ALL_SCOPE_LABEL;
    try {
      for await (const page of ports.api.listConversations({ projectId: scope })) {
        report.pagesFetched += 1;
        for (const malformed of page.malformed) {
          report.malformedConversations += 1;
          ports.metrics.count("ConversationsMalformed");
          ports.log.warn("skipped a malformed conversation", {
            scope: label,
            page: malformed.page,
            conversationUid: malformed.uid,
            problems: malformed.problems,
          });
        }
        const fresh: Conversation[] = [];
        for (const conversation of page.conversations) {
          if (seenThisPoll.has(conversation.uid)) {
            report.duplicateConversations += 1;
            ports.metrics.count("DuplicateConversations");
            ports.log.warn("conversation listed twice in one poll; handled once", {
              scope: label,
              page: page.page,
              conversationUid: conversation.uid,
            });
            continue;
          }
          seenThisPoll.add(conversation.uid);
          if (!conversation.deleted) fresh.push(conversation);
        }
        report.conversationsScanned += fresh.length;
        ports.metrics.count("ConversationsScanned", fresh.length);
        if (feedContext?.teamUids) for (const conversation of fresh) feedContext.teamUids.add(conversation.user.uid);
        await processPage(
          fresh,
          { subscriptions, readAt: subscriptionsReadAt },
          label,
          ports,
          options,
          report,
          output,
          feedContext,
        );
        ports.onProgress?.({
          scope: label,
          page: page.page,
          pagesFetched: report.pagesFetched,
          conversationsChecked: report.conversationsScanned,
        });
      }
    } catch (error) {
      const failure = toFailure(error, label);
      output.failures.push(failure);
      ports.log.error("could not list conversations", { scope: label, reason: failure.reason });
      // A failure of the whole service (rejected credentials, an API that is down) affects every
      // scope alike: starting the others would only repeat it.
      if (asNotifierError(error).reach === "service") stopped = true;
    }
  });
  report.events = tasks.flatMap((task) => task.output.events);
  report.failures = tasks.flatMap((task) => task.output.failures);
  // The subscribed projects' names (once a day at most), after the listing so as not to add to its requests.
  if (!options.dryRun) {
    await ports.projectNames?.ensure(subscriptions.flatMap((each) => (each.projectId === "*" ? [] : [each.projectId])));
  }

  report.durationMs = Date.now() - startedAt;
  if (report.failures.length > 0) ports.metrics.count("PollFailures");
  const feed = ports.feed;
  if (feed && feedContext && !options.dryRun) {
    const teamUids = feedContext.teamUids ?? [];
    if (report.missedByFeed > 0 && feedContext.state.mode === "feed") {
      await switchToSweepOnly(
        ports,
        feed,
        `the sweep found ${report.missedByFeed} participant message(s) the messages feed did not return`,
      );
    }
    // Only a complete sweep counts: after a failed one, the next poll sweeps again.
    if (report.failures.length === 0) {
      await updateFeedState(ports, feed, (state) => afterSweep(state, subscriptionsReadAt, teamUids));
    }
  }
  return report;
}

/**
 * The sweep's detection for one conversation read on its own (what a webhook hint leads to):
 * the same state, marks, events and conditional write as a sweep, for a conversation of a
 * polled scope only. It never counts misses nor moves the feed's watermark.
 */
export async function checkConversation(ports: PollPorts, conversation: Conversation): Promise<PollReport> {
  const startedAt = Date.now();
  const readAt = ports.clock.now();
  const subscriptions = await ports.subscriptions.list();
  const scopes = pollScopes(subscriptions);
  const report = emptyReport(subscriptions, scopes);
  const projectId = conversation.metadata?.projectId;
  const inScope = scopes.includes(undefined) || (projectId !== undefined && scopes.includes(projectId));
  if (!inScope || conversation.deleted) return report;
  report.conversationsScanned = 1;
  const output: ScopeOutput = { events: [], failures: [] };
  const label = projectId ?? ALL_SCOPE_LABEL;
  await processPage(
    [conversation],
    { subscriptions, readAt },
    label,
    { ...ports, cache: undefined },
    {},
    report,
    output,
    // Always the marks-aware path: whatever RESPONDENT_FEED says here, a poller may use the
    // feed, and a plain write of the state would drop the marks it adds meanwhile.
    { state: initialFeedState(), why: "webhook" },
  );
  report.events = output.events;
  report.failures = output.failures;
  report.durationMs = Date.now() - startedAt;
  return report;
}

/**
 * A poll between sweeps: every page of the messages feed since the watermark (minus the
 * overlap), per polled project or unfiltered for `*`, up to when the subscriptions were read.
 * Participant messages after the stored state and not marked yet are queued as events (the
 * sweep's ids), then marked on their conversation's item; the state itself is the sweep's.
 * The watermark moves only when everything succeeded, so a failure reads the same window again.
 */
async function feedPoll(
  ports: PollPorts,
  feed: FeedPorts,
  state: FeedState,
  since: Date,
  options: PollOptions,
): Promise<{ report: PollReport; refusal?: unknown }> {
  const startedAt = Date.now();
  const until = ports.clock.now();
  const subscriptions = await ports.subscriptions.list();
  const scopes = pollScopes(subscriptions);
  const report = emptyReport(subscriptions, scopes);
  report.source = "feed";
  ports.metrics.count("Polls");
  if (scopes.length === 0) {
    ports.log.info("no active subscription: nothing to poll (add one with `respondent-notifier subscriptions add`)");
  }

  const byConversation = new Map<
    string,
    { conversation: FeedMessage["conversation"]; messages: Map<string, FeedMessage> }
  >();
  let refusal: unknown;
  let serviceDown = false;
  // Scopes at once, within the client's request budget (a steady scope is one request).
  const scopeConcurrency = Math.max(1, Math.floor(options.scopeConcurrency ?? DEFAULT_SCOPE_CONCURRENCY));
  await forEachLimited(scopes, scopeConcurrency, async (scope) => {
    if (refusal !== undefined || serviceDown) return;
    const label = scope ?? ALL_SCOPE_LABEL;
    try {
      for await (const page of feed.source.listMessages({ projectId: scope, since, until })) {
        report.pagesFetched += 1;
        report.malformedConversations += page.malformed;
        for (const message of page.messages) {
          report.feedMessages += 1;
          const entry = byConversation.get(message.conversation.uid) ?? {
            conversation: message.conversation,
            messages: new Map(),
          };
          entry.messages.set(message.uid, message);
          byConversation.set(message.conversation.uid, entry);
        }
      }
    } catch (error) {
      if (asNotifierError(error).code === "respondent_request_rejected") {
        refusal ??= error;
        return;
      }
      const failure = toFailure(error, label);
      report.failures.push(failure);
      ports.log.error("could not read the messages feed", { scope: label, reason: failure.reason });
      if (asNotifierError(error).reach === "service") serviceDown = true;
    }
  });
  if (refusal !== undefined) return { report, refusal };

  const finish = () => {
    report.durationMs = Date.now() - startedAt;
    if (report.failures.length > 0) ports.metrics.count("PollFailures");
    return { report };
  };
  const uids = [...byConversation.keys()];
  let stored = new Map<string, StoredConversation>();
  if (uids.length > 0) {
    try {
      stored = await ports.state.getStored(uids);
    } catch (error) {
      report.failures.push(toFailure(error, ALL_SCOPE_LABEL));
      ports.log.error("could not read conversation states for the messages feed", { reason: describeError(error) });
      return finish();
    }
  }
  const teamUids = new Set(state.teamUids);
  const detectedAt = ports.clock.now();
  const marks: Array<{ conversationUid: string; messageUids: string[] }> = [];
  for (const [uid, { conversation, messages }] of byConversation) {
    const detection = detectFeedMessages({
      conversation,
      messages: [...messages.values()],
      stored: stored.get(uid),
      subscriptions,
      teamUids,
      detectedAt,
    });
    report.ownMessages += detection.ownMessages;
    report.events.push(...detection.events);
    if (detection.participantMessageUids.length > 0) {
      report.conversationsChanged += 1;
      marks.push({ conversationUid: uid, messageUids: detection.participantMessageUids });
    }
  }
  report.newReplies = report.events.length;
  ports.metrics.count("NewReplies", report.events.length);
  if (options.dryRun) return finish();

  if (report.events.length > 0) {
    try {
      await ports.queue.sendEvents(report.events);
    } catch (error) {
      report.failures.push(toFailure(error, ALL_SCOPE_LABEL));
      ports.log.error("events from the messages feed not queued; the next poll reads them again", {
        reason: describeError(error),
      });
      return finish();
    }
    report.eventsQueued = report.events.length;
    ports.metrics.count("EventsQueued", report.events.length);
    for (const event of report.events) ports.onEvent?.(event);
  }
  await forEachLimited(marks, options.writeConcurrency ?? 8, async ({ conversationUid, messageUids }) => {
    try {
      await ports.state.addFeedMarks(conversationUid, messageUids);
    } catch (error) {
      // The sweep would alert them again (the ledger posts each once) and count them as missed.
      report.failures.push({ ...toFailure(error, ALL_SCOPE_LABEL), conversationUid });
    }
  });
  if (report.failures.length === 0 && feedPollWorthStoring(state, until)) {
    await updateFeedState(ports, feed, (current) => afterFeedPoll(current, until, []));
  }
  return finish();
}

/** Applies `transition` to the stored feed state, re-reading and applying it again when another poller wrote first. */
async function updateFeedState(
  ports: PollPorts,
  feed: FeedPorts,
  transition: (state: FeedState) => FeedState,
): Promise<{ before: FeedState; after: FeedState } | undefined> {
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const stored = await feed.store.read();
    const before = stored?.state ?? initialFeedState();
    const after = transition(before);
    if (await feed.store.write(after, stored?.revision)) return { before, after };
  }
  ports.log.warn("the messages-feed state kept changing under this poller; left as it is");
  return undefined;
}

/** Sweep-only from now on; the poller that makes the switch tells the ops channel, once. */
async function switchToSweepOnly(ports: PollPorts, feed: FeedPorts, reason: string): Promise<void> {
  const at = ports.clock.now();
  const result = await updateFeedState(ports, feed, (state) =>
    state.mode === "sweep-only" ? state : toSweepOnly(state, reason, at),
  );
  if (!result || result.before.mode === "sweep-only") return;
  try {
    await feed.ops?.post(feedSweepOnlyMessage(reason));
  } catch (error) {
    ports.log.warn("could not tell the ops channel that the poller sweeps only", { reason: describeError(error) });
  }
}

async function processPage(
  conversations: Conversation[],
  routing: { subscriptions: readonly Subscription[]; readAt: Date },
  scope: string,
  ports: PollPorts,
  options: PollOptions,
  report: PollReport,
  output: ScopeOutput,
  feedContext?: SweepFeedContext,
): Promise<void> {
  const cache = ports.cache;
  const candidates = conversations.filter(
    (conversation) => cache?.get(conversation.uid) !== conversation.latestMessage.uid,
  );
  if (candidates.length === 0) return;

  const candidateUids = candidates.map((conversation) => conversation.uid);
  let stored: Map<string, StoredConversation>;
  try {
    if (feedContext) {
      stored = await ports.state.getStored(candidateUids);
    } else {
      stored = new Map();
      for (const [uid, state] of await ports.state.getStates(candidateUids)) {
        stored.set(uid, { state, feedHandled: [] });
      }
    }
  } catch (error) {
    recordConversationFailures(candidates, error, scope, ports, output);
    return;
  }

  const detectedAt = ports.clock.now();
  const changes: Array<{
    conversation: Conversation;
    expected: ConversationState | undefined;
    next: ConversationState;
    accounted: string[] | undefined;
  }> = [];
  const events: NewReplyEvent[] = [];
  const coverage = feedContext ? feedCoverage(feedContext.state) : undefined;
  for (const conversation of candidates) {
    const item = stored.get(conversation.uid);
    const previous = item?.state;
    const marks = item?.feedHandled ?? [];
    if (isUnchanged(conversation, previous)) {
      cache?.set(conversation.uid, conversation.latestMessage.uid);
      continue;
    }
    const detection = detectNewMessages({
      conversation,
      stored: previous,
      subscriptions: routing.subscriptions,
      detectedAt,
      horizon: routing.readAt,
      alreadyHandled: marks.length > 0 ? new Set(marks) : undefined,
    });
    if (coverage) {
      for (const messageUid of detection.participantMessageUids) {
        const message = conversation.messages.find((candidate) => candidate.uid === messageUid);
        if (!message || !feedShouldHaveSeen(coverage, message.createdAt)) continue;
        report.missedByFeed += 1;
        ports.metrics.count("MissedByFeed");
        ports.log.error("the sweep found a participant message the messages feed should have returned", {
          conversationUid: conversation.uid,
          messageUid,
          createdAt: message.createdAt,
          expectedInFeedBetween: { from: coverage.from.toISOString(), through: coverage.through.toISOString() },
        });
      }
    }
    if (detection.latestMessageMissing) {
      ports.log.warn("latestMessage is not among the conversation's messages; will check again next poll", {
        conversationUid: conversation.uid,
      });
    }
    report.ownMessages += detection.ownMessages;
    if (!detection.nextState) continue;
    changes.push({
      conversation,
      expected: previous,
      next: detection.nextState,
      accounted: feedContext ? accountedMarks(conversation, marks, detection.nextState) : undefined,
    });
    events.push(...detection.events);
  }
  if (changes.length === 0) return;
  report.conversationsChanged += changes.length;
  report.newReplies += events.length;
  output.events.push(...events);
  ports.metrics.count("NewReplies", events.length);
  if (options.dryRun) return;

  if (events.length > 0) {
    await ports.projectNames?.ensure(events.flatMap((event) => event.conversation.projectId ?? []));
    try {
      await ports.queue.sendEvents(events);
    } catch (error) {
      // Nothing of this page advances: the next poll finds the same messages again, and the
      // events that did get through are recognised by their stable ids downstream.
      recordConversationFailures(
        changes.map((change) => change.conversation),
        error,
        scope,
        ports,
        output,
      );
      return;
    }
    report.eventsQueued += events.length;
    ports.metrics.count("EventsQueued", events.length);
    for (const event of events) ports.onEvent?.(event);
  }

  await forEachLimited(changes, options.writeConcurrency ?? 8, async ({ conversation, expected, next, accounted }) => {
    try {
      await ports.state.advanceState(conversation.uid, expected, next, accounted);
      cache?.set(conversation.uid, next.lastMessageUid);
    } catch (error) {
      cache?.delete(conversation.uid);
      if (asNotifierError(error).code === "state_conflict") {
        // Another poller moved this conversation first; its events carry the same ids, so the
        // notifier's ledger posts each alert once whichever poller queued it.
        report.stateConflicts += 1;
        ports.metrics.count("StateConflicts");
        ports.log.info("state moved by another poller; left as it is", { conversationUid: conversation.uid });
        return;
      }
      recordConversationFailures([conversation], error, scope, ports, output);
    }
  });
}

function recordConversationFailures(
  conversations: readonly Conversation[],
  error: unknown,
  scope: string,
  ports: PollPorts,
  output: ScopeOutput,
): void {
  const failure = toFailure(error, scope);
  ports.metrics.count("ConversationsFailed", conversations.length);
  ports.log.error("conversations not processed; they will be retried next poll", {
    scope,
    conversations: conversations.length,
    reason: failure.reason,
  });
  for (const conversation of conversations) {
    output.failures.push({ ...failure, conversationUid: conversation.uid });
  }
}

function toFailure(error: unknown, scope: string): PollFailure {
  return {
    scope,
    reason: describeError(error),
    retryable: asNotifierError(error).retryable,
  };
}

async function forEachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      // By index, not by value: the scope of a `*` subscription is `undefined`, a real item.
      const index = next;
      next += 1;
      await work(items[index] as T);
    }
  });
  await Promise.all(workers);
}
