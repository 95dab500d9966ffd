import { DynamoDigestStore } from "../adapters/dynamo/digest-store.ts";
import {
  DynamoFeedStateStore,
  DynamoWebhookHintStore,
  DynamoWebhookRegistrationStore,
} from "../adapters/dynamo/feed-store.ts";
import { DynamoHealthStore, DynamoSubscriptionPauses } from "../adapters/dynamo/health-store.ts";
import { DynamoDeliveryLedger } from "../adapters/dynamo/ledger.ts";
import { DynamoMuteStore } from "../adapters/dynamo/mute-store.ts";
import { DynamoPollChainStore } from "../adapters/dynamo/poll-chain-store.ts";
import { DynamoPollLease } from "../adapters/dynamo/poll-lease.ts";
import { DynamoProjectNameStore } from "../adapters/dynamo/project-store.ts";
import { DynamoReplyCounter } from "../adapters/dynamo/reply-counter.ts";
import { DynamoSeenSnapshotStore } from "../adapters/dynamo/seen-snapshot.ts";
import { DynamoAlertRecords, DynamoReadMarks, DynamoReplyLedger } from "../adapters/dynamo/slack-action-stores.ts";
import { DynamoStateStore } from "../adapters/dynamo/state-store.ts";
import { DynamoSubscriptionStore } from "../adapters/dynamo/subscription-store.ts";
import { DynamoThreadStore } from "../adapters/dynamo/thread-store.ts";
import { slackOpsChannel, slackPosterWithToken } from "../adapters/ops-channel.ts";
import { RespondentApiClient, type RespondentApiClientOptions } from "../adapters/respondent-api.ts";
import { createRespondentMessaging } from "../adapters/respondent-messaging.ts";
import { RespondentProjects } from "../adapters/respondent-projects.ts";
import { createSlackDirectory } from "../adapters/slack-directory.ts";
import { createSlackResponder } from "../adapters/slack-responder.ts";
import { SqsDeadLetterQueue } from "../adapters/sqs-dead-letters.ts";
import { SqsDeliveryQueue, SqsEventQueue, SqsPollTickQueue } from "../adapters/sqs-queue.ts";
import type { FeedSettings } from "../config.ts";
import type { HealthComponent } from "../domain/health.ts";
import type { Subscription } from "../domain/subscriptions.ts";
import { ConfigError } from "../errors.ts";
import { respondentWebhookRoute } from "../http/respondent-webhook.ts";
import type { Route } from "../http/route.ts";
import { slackEventsRoute } from "../http/slack-events.ts";
import type {
  ConversationActions,
  ConversationReader,
  ConversationSource,
  DeliveryQueue,
  DigestQueue,
  EventQueue,
  FeedStateStore,
  MessageFeed,
  MuteStore,
  OpsChannel,
  PollChainStore,
  SlackDirectory,
  SlackPoster,
  SlackResponder,
  SubscriptionPauses,
  SubscriptionStore,
  WebhookAdmin,
  WebhookHintStore,
  WebhookRegistrationStore,
} from "../ports.ts";
import type { DeliveryPorts } from "../usecases/deliver.ts";
import { DeliveryWatch } from "../usecases/delivery-watch.ts";
import type { DigestTickPorts } from "../usecases/digest.ts";
import { HealthMonitor, NOTIFIER_HEALTH_POLICY, POLLER_HEALTH_POLICY } from "../usecases/health.ts";
import type { PollChainPorts } from "../usecases/poll-chain.ts";
import type { PollCyclePorts } from "../usecases/poll-cycle.ts";
import { ProjectNames } from "../usecases/project-names.ts";
import { SeenCacheSnapshots, TrackedSeenCache } from "../usecases/seen-snapshot.ts";
import type { SlackActionPorts } from "../usecases/slack-actions.ts";
import type { SlashCommandPorts } from "../usecases/slash-command.ts";
import type { Platform } from "./platform.ts";

/**
 * The composition root: the one place that builds adapters. Every entry point (both Lambdas,
 * every CLI command, the local runtime, the bench, the test harnesses) gets a Platform from
 * src/app/aws.ts or src/app/local.ts and its ports from here, then calls a plain use case.
 * A new entry point is: load its config, get a platform, compose, call.
 */

export interface PollerOptions {
  /** Read everything, queue nothing, write nothing (the queue refuses, no snapshot is saved). */
  dryRun?: boolean;
  /** The messages feed between sweeps (config `feed`); absent or disabled, every poll is a sweep. */
  feed?: FeedSettings | undefined;
}

/** The poller's ports (src/usecases/poll-cycle.ts), with a seen-cache that lives as long as the process. */
export function composePoller(platform: Platform, options: PollerOptions = {}): PollCyclePorts {
  const { table, clock, log, metrics } = platform;
  const cache = new TrackedSeenCache();
  const decorate = platform.decorate ?? {};
  const events = options.dryRun ? refusingQueue : eventQueue(platform);
  return {
    poll: {
      api: (decorate.api ?? same)(respondentClient(platform)),
      state: (decorate.state ?? same)(new DynamoStateStore(table.client, table.name, { clock })),
      queue: (decorate.events ?? same)(events),
      subscriptions: withFallback(subscriptionStore(platform), platform.fallbackSubscriptions),
      clock,
      log,
      metrics,
      cache,
      projectNames: options.dryRun ? undefined : projectNames(platform),
      feed: options.feed?.enabled
        ? {
            source: respondentApi(platform),
            store: feedStateStore(platform),
            reconcileIntervalMs: options.feed.reconcileIntervalMinutes * 60_000,
            ops:
              !options.dryRun && platform.opsChannelId && platform.slack
                ? opsChannel(platform, slackPoster(platform))
                : undefined,
          }
        : undefined,
    },
    snapshots: new SeenCacheSnapshots({
      store: new DynamoSeenSnapshotStore(table.client, table.name, { clock, log }),
      cache,
      clock,
      log,
    }),
    health: options.dryRun ? undefined : healthMonitor(platform, "poller"),
    // Each tick queues the digests that are due (quiet hours over, a digest interval ended).
    digests: options.dryRun ? undefined : { digests: digestStore(platform), queue: digestQueue(platform), clock, log },
    lease: options.dryRun ? undefined : new DynamoPollLease(table.client, table.name, { clock }),
  };
}

/** The fast-poll chain's ports (src/usecases/poll-chain.ts): its item in the table and its delay queue. */
export function composePollChain(platform: Platform): PollChainPorts {
  const { clock, log, metrics } = platform;
  const queue = requireQueue(platform);
  if (!queue.urls.pollTickQueueUrl) throw missing("POLL_TICK_QUEUE_URL", "the poll chain's tick queue");
  return {
    chain: pollChainStore(platform),
    ticks: new SqsPollTickQueue(queue.client, queue.urls.pollTickQueueUrl),
    clock,
    log,
    metrics,
  };
}

/** Where the fast-poll chain is (its one item in the table), for the chain and for `doctor`. */
export function pollChainStore(platform: Pick<Platform, "table">): PollChainStore {
  return new DynamoPollChainStore(platform.table.client, platform.table.name);
}

/**
 * `POST /respondent/webhook` (src/http/respondent-webhook.ts), for composeHttpRoutes: a hint
 * reads its conversation through the API and runs the poller's detection on it. `secret` is
 * the webhook's privateKey (locally RESPONDENT_WEBHOOK_SECRET; deployed, the secret's
 * `webhookSecret`); undefined, signatures are not checked. The conversation's state is
 * written in place (UpdateItem, keeping the feed's marks), whatever `feed` says.
 */
export function respondentWebhook(
  platform: Platform,
  options: {
    secret: () => Promise<string | undefined>;
    feed?: FeedSettings | undefined;
    /** At most one read of a conversation per window (default 3 s). */
    readWindowMs?: number;
  },
): Route {
  const { clock, log, metrics } = platform;
  return respondentWebhookRoute({
    secret: options.secret,
    hints: webhookHintStore(platform),
    reader: conversationReader(platform),
    poll: composePoller(platform, { feed: options.feed }).poll,
    clock,
    log,
    metrics,
    ...(options.readWindowMs === undefined ? {} : { readWindowMs: options.readWindowMs }),
  });
}

/** The notifier's ports (src/usecases/deliver.ts): ledger, threads, Slack and, with an ops channel, the watch. */
export function composeNotifier(platform: Platform): DeliveryPorts {
  const { table, clock, log, metrics } = platform;
  const slack = (platform.decorate?.slack ?? same)(slackPoster(platform));
  return {
    ledger: new DynamoDeliveryLedger(table.client, table.name),
    threads: new DynamoThreadStore(table.client, table.name, { clock }),
    slack,
    clock,
    log,
    metrics,
    conversationUrlTemplate: platform.conversationUrlTemplate,
    watch: deliveryWatch(platform, slack),
    // Names from the cache only: the poller looks them up; the notifier never waits for Respondent.
    projectNames: projectNames(platform, { lookUp: false }),
    replyCounter: new DynamoReplyCounter(table.client, table.name, () => clock.now()),
    mutes: muteStore(platform),
    digests: digestStore(platform),
  };
}

/** The poller's digest step (src/usecases/digest.ts): due digests from the table onto the notifier's queue. */
export function digestTick(platform: Platform): DigestTickPorts {
  return { digests: digestStore(platform), queue: digestQueue(platform), clock: platform.clock, log: platform.log };
}

/** Replies held for digests (quiet hours, digest intervals) and the digests themselves. */
function digestStore(platform: Pick<Platform, "table" | "log">): DynamoDigestStore {
  return new DynamoDigestStore(platform.table.client, platform.table.name, { log: platform.log });
}

function digestQueue(platform: Platform): DigestQueue {
  const queue = requireQueue(platform);
  if (!queue.urls.queueUrl) throw missing("QUEUE_URL", "the notifier's queue");
  return new SqsEventQueue(queue.client, queue.urls.queueUrl);
}

/**
 * Project names (src/usecases/project-names.ts): the table's cache, and with Respondent
 * credentials (unless `lookUp: false`) one short lookup for what is missing or a day old.
 * `writes: false`: a listing or a dry run reads and asks, and leaves the cache as it was.
 */
export function projectNames(
  platform: Pick<Platform, "table" | "respondent" | "clock" | "log">,
  options: { lookUp?: boolean; writes?: boolean } = {},
): ProjectNames {
  const { table, respondent, clock, log } = platform;
  const source =
    options.lookUp !== false && respondent
      ? new RespondentProjects({ settings: respondent.settings, credentials: respondent.credentials })
      : undefined;
  return new ProjectNames({
    store: new DynamoProjectNameStore(table.client, table.name),
    source,
    clock,
    log,
    writes: options.writes ?? true,
  });
}

/** Muted (conversation, channel) pairs: the notifier reads them, `conversations mute|unmute` writes them. */
export function muteStore(platform: Pick<Platform, "table">): MuteStore {
  return new DynamoMuteStore(platform.table.client, platform.table.name);
}

/** The notifier's queue, for settling what the Lambda's event source hands over and for consumers outside Lambda. */
export function deliveryQueue(platform: Platform): DeliveryQueue {
  const queue = requireQueue(platform);
  if (!queue.urls.queueUrl) throw missing("QUEUE_URL", "the notifier's queue");
  return new SqsDeliveryQueue(queue.client, { ...queue.urls, queueUrl: queue.urls.queueUrl });
}

export function deadLetterQueue(platform: Platform): SqsDeadLetterQueue {
  const queue = requireQueue(platform);
  if (!queue.urls.deadLetterQueueUrl) throw missing("DLQ_URL", "the dead-letter queue");
  return new SqsDeadLetterQueue(queue.client, queue.urls.deadLetterQueueUrl);
}

export function subscriptionStore(platform: Platform): SubscriptionStore {
  return new DynamoSubscriptionStore(platform.table.client, platform.table.name, { log: platform.log });
}

export function subscriptionPauses(platform: Platform): SubscriptionPauses {
  return new DynamoSubscriptionPauses(platform.table.client, platform.table.name);
}

/** The messages feed's shared state (the poller, and `doctor` to show and reset it). */
export function feedStateStore(platform: Pick<Platform, "table" | "clock" | "log">): FeedStateStore {
  return new DynamoFeedStateStore(platform.table.client, platform.table.name, {
    clock: platform.clock,
    log: platform.log,
  });
}

/** `/v1/webhooks` (the `webhook` commands). */
export function webhookAdmin(platform: Pick<Platform, "respondent" | "log" | "metrics">): WebhookAdmin {
  return respondentApi(platform);
}

/** Which webhook this installation registered. */
export function webhookRegistrationStore(platform: Pick<Platform, "table">): WebhookRegistrationStore {
  return new DynamoWebhookRegistrationStore(platform.table.client, platform.table.name);
}

/** Webhook deliveries seen and conversation reads they caused (dedupe and debounce). */
export function webhookHintStore(platform: Pick<Platform, "table">): WebhookHintStore {
  return new DynamoWebhookHintStore(platform.table.client, platform.table.name);
}

/** One conversation by uid (what a webhook hint makes the notifier read). */
export function conversationReader(platform: Pick<Platform, "respondent" | "log" | "metrics">): ConversationReader {
  return respondentApi(platform);
}

/** The Respondent Partner API client; `overrides` narrow it for one question (doctor reads one page). */
export function respondentClient(
  platform: Pick<Platform, "respondent" | "log" | "metrics">,
  overrides: Partial<Pick<RespondentApiClientOptions, "maxConcurrency" | "maxRetries">> = {},
): ConversationSource {
  return respondentApi(platform, overrides);
}

function respondentApi(
  platform: Pick<Platform, "respondent" | "log" | "metrics">,
  overrides: Partial<Pick<RespondentApiClientOptions, "maxConcurrency" | "maxRetries">> = {},
): RespondentApiClient & MessageFeed {
  const respondent = platform.respondent;
  if (!respondent) throw missing("RESPONDENT_API_KEY", "the Respondent API credentials");
  return new RespondentApiClient({
    ...respondent.settings,
    ...overrides,
    credentials: respondent.credentials,
    log: platform.log,
    metrics: platform.metrics,
    ...respondent.retryTiming,
  });
}

/** Slack for posting alerts; the token is read on each post, so a rotated secret is picked up. */
export function slackPoster(platform: Pick<Platform, "slack" | "log">): SlackPoster {
  const slack = platform.slack;
  if (!slack) throw missing("SLACK_BOT_TOKEN", "a Slack bot token");
  return slackPosterWithToken(slack.token, slack.settings, platform.log);
}

/** The read-only Slack calls `doctor` makes. */
export async function slackDirectory(platform: Pick<Platform, "slack">): Promise<SlackDirectory> {
  const slack = platform.slack;
  if (!slack) throw missing("SLACK_BOT_TOKEN", "a Slack bot token");
  return createSlackDirectory({ ...slack.settings, token: await slack.token() });
}

/** The Respondent calls the alert's buttons make (send a message, mark read). */
export function conversationActions(platform: Pick<Platform, "respondent" | "log">): ConversationActions {
  const respondent = platform.respondent;
  if (!respondent) throw missing("RESPONDENT_API_KEY", "the Respondent API credentials");
  return createRespondentMessaging({
    ...respondent.settings,
    credentials: respondent.credentials,
    log: platform.log,
    ...(respondent.retryTiming?.sleep ? { sleep: respondent.retryTiming.sleep } : {}),
  });
}

/** Slack's answers to a person: the modal, an alert's update, ephemeral messages, a command's response_url. */
export function slackResponder(platform: Pick<Platform, "slack" | "log">): SlackResponder {
  const slack = platform.slack;
  if (!slack) throw missing("SLACK_BOT_TOKEN", "a Slack bot token");
  return createSlackResponder({ ...slack.settings, token: slack.token, log: platform.log });
}

/** What the alert's buttons and the Reply modal need (src/usecases/slack-actions.ts). */
export function composeSlackActions(platform: Platform): SlackActionPorts {
  const { table, clock, log, metrics } = platform;
  return {
    alerts: new DynamoAlertRecords(table.client, table.name),
    replies: new DynamoReplyLedger(table.client, table.name),
    readMarks: new DynamoReadMarks(table.client, table.name),
    mutes: muteStore(platform),
    respondent: conversationActions(platform),
    slack: slackResponder(platform),
    poster: (platform.decorate?.slack ?? same)(slackPoster(platform)),
    clock,
    log,
    metrics,
  };
}

/** What `/respondent` needs (src/usecases/slash-command.ts). */
export function composeSlashCommands(platform: Platform): SlashCommandPorts {
  return {
    subscriptions: subscriptionStore(platform),
    slack: slackResponder(platform),
    adminUsers: platform.slackAdminUsers ?? [],
    log: platform.log,
  };
}

/**
 * Every inbound HTTP route, whatever serves them: `respondent-notifier start` on HTTP_PORT and the
 * http Lambda behind its Function URL. Today: Slack's Request URL, `POST /slack/events`.
 */
export function composeHttpRoutes(platform: Platform): Route[] {
  const slack = platform.slack;
  if (!slack) throw missing("SLACK_BOT_TOKEN", "a Slack bot token");
  // The webhook's hints run the poller's detection, which queues events: only with a queue.
  const webhook =
    platform.respondent && platform.queue
      ? [respondentWebhook(platform, { secret: platform.respondent.webhookSecret ?? (async () => undefined) })]
      : [];
  return [
    ...webhook,
    slackEventsRoute({
      signingSecret: slack.signingSecret ?? (async () => undefined),
      actions: composeSlackActions(platform),
      slashCommands: composeSlashCommands(platform),
      clock: platform.clock,
      log: platform.log,
      metrics: platform.metrics,
    }),
  ];
}

function eventQueue(platform: Platform): EventQueue {
  const queue = requireQueue(platform);
  if (!queue.urls.queueUrl) throw missing("QUEUE_URL", "the notifier's queue");
  return new SqsEventQueue(queue.client, queue.urls.queueUrl);
}

function opsChannel(platform: Platform, slack: SlackPoster): OpsChannel | undefined {
  return platform.opsChannelId ? slackOpsChannel(platform.opsChannelId, slack) : undefined;
}

function healthMonitor(platform: Platform, component: HealthComponent, slack?: SlackPoster): HealthMonitor | undefined {
  if (!platform.opsChannelId || !platform.slack) return undefined;
  const ops = opsChannel(platform, slack ?? slackPoster(platform));
  if (!ops) return undefined;
  const { table, clock, log } = platform;
  return new HealthMonitor({
    component,
    policy: component === "poller" ? POLLER_HEALTH_POLICY : NOTIFIER_HEALTH_POLICY,
    store: new DynamoHealthStore(table.client, table.name, { clock, log }),
    ops,
    clock,
    log,
  });
}

/** With an ops channel: a rejected token is reported there, and a dead channel's subscriptions are paused. */
function deliveryWatch(platform: Platform, slack: SlackPoster): DeliveryWatch | undefined {
  const health = healthMonitor(platform, "notifier", slack);
  const ops = opsChannel(platform, slack);
  if (!health || !ops) return undefined;
  return new DeliveryWatch({
    health,
    subscriptions: subscriptionStore(platform),
    pauses: subscriptionPauses(platform),
    ops,
    clock: platform.clock,
    log: platform.log,
  });
}

/** The stored subscriptions; while none is stored at all, the platform's fallback (the local demo's). */
function withFallback(
  store: SubscriptionStore,
  fallback: readonly Subscription[] | undefined,
): { list(): Promise<Subscription[]> } {
  if (!fallback || fallback.length === 0) return store;
  return {
    async list() {
      const stored = await store.list();
      return stored.length > 0 ? stored : [...fallback];
    },
  };
}

/** A dry run never queues: a send would be a bug, and must not reach any queue. */
const refusingQueue: EventQueue = {
  sendEvents: async () => {
    throw new Error("a dry run never queues events");
  },
};

function requireQueue(platform: Platform): NonNullable<Platform["queue"]> {
  if (!platform.queue) throw missing("QUEUE_URL", "the notifier's queue");
  return platform.queue;
}

function missing(field: string, what: string): ConfigError {
  return new ConfigError(field, `${what} is needed for this command but is not configured`);
}

function same<T>(value: T): T {
  return value;
}
