import { type ConversationState, detectNewMessages, isUnchanged } from "../domain/detection.ts";
import type { NewReplyEvent } from "../domain/events.ts";
import type { Conversation } from "../domain/respondent.ts";
import { pollScopes, type Subscription } from "../domain/subscriptions.ts";
import { asNotifierError, describeError } from "../errors.ts";
import type { Clock, ConversationSource, EventQueue, Log, Metrics, SeenCache, StateStore } from "../ports.ts";
import type { ProjectNames } from "./project-names.ts";

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
  const startedAt = Date.now();
  const subscriptionsReadAt = ports.clock.now();
  const subscriptions = await ports.subscriptions.list();
  const scopes = pollScopes(subscriptions);
  const report: PollReport = {
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
  };
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
        ports.metrics.count("PagesFetched");
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
        await processPage(fresh, { subscriptions, readAt: subscriptionsReadAt }, label, ports, options, report, output);
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
  return report;
}

async function processPage(
  conversations: Conversation[],
  routing: { subscriptions: readonly Subscription[]; readAt: Date },
  scope: string,
  ports: PollPorts,
  options: PollOptions,
  report: PollReport,
  output: ScopeOutput,
): Promise<void> {
  const cache = ports.cache;
  const candidates = conversations.filter(
    (conversation) => cache?.get(conversation.uid) !== conversation.latestMessage.uid,
  );
  if (candidates.length === 0) return;

  let stored: Map<string, ConversationState>;
  try {
    stored = await ports.state.getStates(candidates.map((conversation) => conversation.uid));
  } catch (error) {
    recordConversationFailures(candidates, error, scope, ports, output);
    return;
  }

  const detectedAt = ports.clock.now();
  const changes: Array<{
    conversation: Conversation;
    expected: ConversationState | undefined;
    next: ConversationState;
  }> = [];
  const events: NewReplyEvent[] = [];
  for (const conversation of candidates) {
    const previous = stored.get(conversation.uid);
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
    });
    if (detection.latestMessageMissing) {
      ports.log.warn("latestMessage is not among the conversation's messages; will check again next poll", {
        conversationUid: conversation.uid,
      });
    }
    report.ownMessages += detection.ownMessages;
    if (!detection.nextState) continue;
    changes.push({ conversation, expected: previous, next: detection.nextState });
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

  await forEachLimited(changes, options.writeConcurrency ?? 8, async ({ conversation, expected, next }) => {
    try {
      await ports.state.advanceState(conversation.uid, expected, next);
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
      const item = items[next];
      next += 1;
      if (item !== undefined) await work(item);
    }
  });
  await Promise.all(workers);
}
