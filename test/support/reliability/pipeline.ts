import { randomUUID } from "node:crypto";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { GetQueueAttributesCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { ensureTable } from "../../../src/adapters/dynamo/table.ts";
import {
  composeNotifier,
  composePoller,
  deliveryQueue,
  slackPoster,
  subscriptionStore,
} from "../../../src/app/compose.ts";
import type { Platform } from "../../../src/app/platform.ts";
import type { ConversationState } from "../../../src/domain/detection.ts";
import { describeError } from "../../../src/errors.ts";
import {
  FAKE_SLACK_SCOPES,
  type FakeSlack,
  type FakeSlackFault,
  type RecordedPost,
  startFakeSlack,
} from "../../../src/local/fake-slack.ts";
import { ensureLocalQueues, type LocalQueueUrls } from "../../../src/local/sqs-local.ts";
import type { Clock, SlackPoster, StateStore, SubscriptionStore } from "../../../src/ports.ts";
import { drainQueue } from "../../../src/usecases/deliver.ts";
import type { PollReport } from "../../../src/usecases/poll.ts";
import { type PollCyclePorts, pollCycle } from "../../../src/usecases/poll-cycle.ts";
import { checkDeliveries, checkStates, type DeliveryVerdict, isMarked, messageUidOf } from "./check.ts";
import {
  CrashDomain,
  conflictingStateStore,
  crashableSlack,
  crashableSource,
  crashableSqs,
  FaultPlan,
  type FaultRates,
  faultyDynamo,
  flakyQueue,
  runInDomain,
} from "./faults.ts";
import { integerBetween, pick, seededRandom, sleep } from "./random.ts";
import { type ApiFault, type SnapshotServer, startSnapshotServer } from "./snapshot-server.ts";
import { RecordingLog, RecordingMetrics, type ReliabilityStats } from "./stats.ts";
import { VirtualTimeQueue } from "./virtual-queue.ts";
import { type History, type Step, World } from "./world.ts";

export const API_KEY = "reliability-api-key-3c1f";
export const API_SECRET = "reliability-api-secret-8e2a";
export const SLACK_TOKEN = "xoxb-reliability-fake-token";

/** Longer than the claim lease (60 s), the queue's visibility timeout and every retry delay, so each quiet round may retry everything. */
const ROUND_ADVANCE_MS = 70_000;
const MAX_QUIET_ROUNDS = 30;

export interface PipelineOptions {
  stats: ReliabilityStats;
  /** Faults while the history plays; none afterwards. */
  faults?: FaultRates;
  /** Pollers and notifiers running at once at every poll step (default one of each, one after the other). */
  pollers?: number;
  notifiers?: number;
  /** A slow Slack: every post answers after this long (well within the client's timeout). */
  slackDelayMs?: number;
  /** Apply the steps that follow a poll while it walks the pages (subscriptions excepted). */
  mutateDuringPolls?: boolean;
  /**
   * Fault-free runs: after every cycle each due alert so far is already posted exactly once,
   * and a poll of an API that did not change since the previous complete poll queues nothing.
   */
  strict?: boolean;
  /**
   * The app cannot read channel history (no channels:history / groups:history scope): a retry
   * after a lost answer cannot look whether its alert is in the channel already.
   */
  withoutHistoryScope?: boolean;
}

/**
 * How long a received message stays hidden when its consumer dies without settling it (virtual
 * seconds: see VirtualTimeQueue). The local queues' own value; a quiet round outlasts it.
 */
const QUEUE_VISIBILITY_SECONDS = 30;

/**
 * One process (a Lambda container, a CLI run). Its clients make every side effect through the
 * domain it is in now; a poller process keeps its composed ports (warm seen-cache) from one
 * cycle to the next, as a warm container does, until it is killed.
 */
interface Process {
  domain: CrashDomain;
  platform: Platform;
  poller: PollCyclePorts;
  /** Slows this process's DynamoDB requests (the races' slow poller). */
  dynamoLatencyMs?: (() => number) | undefined;
}

/**
 * The real poller and notifier as every entry point runs them: ports from src/app/compose.ts,
 * pollCycle() and drainQueue() -> deliverBatch() (the notifier Lambda's policy) over the real
 * adapters: RespondentApiClient over HTTP against the snapshot server, the DynamoDB adapters on
 * a fresh DynamoDB Local table, the SQS adapters on a fresh queue pair in the SQS emulator
 * (on the virtual clock), the real WebClient against the fake Slack. Each cycle runs in a
 * process that may be killed; faults and crashes are injected at its boundaries.
 */
export class Pipeline {
  readonly snapshots: Array<Map<string, ConversationState>> = [];
  readonly violations: string[] = [];
  readonly log = new RecordingLog(400);
  readonly metrics = new RecordingMetrics();
  readonly clock: Clock;
  private readonly plan: FaultPlan;
  private readonly random: () => number;
  private readonly queue: VirtualTimeQueue;
  private readonly subscriptionStore: SubscriptionStore;
  private readonly rivalState: StateStore;
  private readonly inspectState: StateStore;
  private clockOffsetMs = 0;
  /** Per conversation, the furthest message position a successful state write has stored. */
  private readonly appliedStates = new Map<string, number>();
  /** The poller processes, each with its own warm seen-cache; a killed one is replaced by a cold one. */
  private pollers: Process[] = [];
  private typicalEffects = 30;
  /** The process of the latest cycle: how many side effects it made, and which. */
  lastDomain: CrashDomain | undefined;
  private slackFaultsPending: string[] = [];
  /** The API has not changed since the last poll that completed without failures. */
  private unchangedSinceCleanPoll = false;

  private constructor(
    readonly world: World,
    private readonly raw: DynamoDBClient,
    private readonly rawSqs: SQSClient,
    readonly tableName: string,
    readonly queueUrls: LocalQueueUrls,
    readonly server: SnapshotServer,
    readonly slack: FakeSlack,
    /** Every post the fake Slack accepted, in arrival order (filled by its onPost). */
    readonly posts: readonly RecordedPost[],
    private readonly options: PipelineOptions,
    seed: number,
  ) {
    this.random = seededRandom(seed);
    this.plan = new FaultPlan(options.faults ?? {}, this.random, options.stats);
    this.clock = { now: () => new Date(this.world.nowMs + this.clockOffsetMs) };
    this.queue = new VirtualTimeQueue(rawSqs, () => this.clock.now().getTime(), QUEUE_VISIBILITY_SECONDS);
    // The test's own view of the table, outside any process: no faults, no crashes.
    const inspect = this.platform({ domain: new CrashDomain() } as Process, { faultFree: true });
    this.subscriptionStore = subscriptionStore(inspect);
    this.rivalState = composePoller(inspect).poll.state;
    this.inspectState = this.rivalState;
    this.pollers = [this.newProcess()];
  }

  static async start(
    history: History,
    raw: DynamoDBClient,
    rawSqs: SQSClient,
    options: PipelineOptions,
  ): Promise<Pipeline> {
    const tableName = `reliability-${randomUUID()}`;
    await ensureTable(raw, tableName);
    // Hidden for real "forever": the virtual clock decides when a held message is back.
    const queueUrls = await ensureLocalQueues(rawSqs, tableName, {
      maxReceiveCount: 1_000,
      visibilityTimeoutSeconds: 43_200,
    });
    const world = new World(history);
    const posts: RecordedPost[] = [];
    let clock: Clock = { now: () => new Date() };
    const slack = await startFakeSlack({
      token: SLACK_TOKEN,
      acceptAnyChannel: true,
      onPost: (post) => posts.push(post),
      // Slack's clock is the histories' virtual clock, as ours is: a read-back "since the claim" finds what it should.
      clock: () => clock.now(),
      ...(options.withoutHistoryScope
        ? { scopes: FAKE_SLACK_SCOPES.filter((scope) => !scope.endsWith(":history")) }
        : {}),
    });
    const server = await startSnapshotServer({
      apiKey: API_KEY,
      apiSecret: API_SECRET,
      source: world,
      onFault: (fault) => options.stats.fault(apiFaultLabel(fault)),
    });
    options.stats.histories += 1;
    const pipeline = new Pipeline(
      world,
      raw,
      rawSqs,
      tableName,
      queueUrls,
      server,
      slack,
      posts,
      options,
      history.seed,
    );
    clock = pipeline.clock;
    return pipeline;
  }

  async close(): Promise<void> {
    await this.server.close();
    await this.slack.close();
  }

  /** Plays the history's steps: world changes, subscriptions, and a poll + notify cycle at each poll step. */
  async play(steps: readonly Step[]): Promise<void> {
    for (let index = 0; index < steps.length; index += 1) {
      const step = steps[index] as Step;
      if (step.kind !== "poll") {
        await this.applyStep(step);
        continue;
      }
      const concurrent = (this.options.pollers ?? 1) > 1 || (this.options.notifiers ?? 1) > 1;
      if (!concurrent) {
        await this.cycle();
        continue;
      }
      const during: Step[] = [];
      if (this.options.mutateDuringPolls) {
        for (
          let next = steps[index + 1];
          next && next.kind !== "poll" && next.kind !== "subscribe";
          next = steps[index + 1]
        ) {
          during.push(next);
          index += 1;
        }
      }
      await this.concurrentCycle(during);
    }
  }

  private async applyStep(step: Step): Promise<void> {
    const subscription = this.world.apply(step);
    if (subscription) await this.subscriptionStore.add(subscription);
    if (step.kind !== "reorder" && step.kind !== "pageCap") this.unchangedSinceCleanPoll = false;
  }

  /** One process: poll, then deliver what is queued; faults may hit it and it may be killed. */
  async cycle(options: { cold?: boolean; crashAfter?: number } = {}): Promise<PollReport | undefined> {
    const crashAfter =
      options.crashAfter ??
      (this.plan.chance("crash") ? integerBetween(1, this.typicalEffects, this.random) : undefined);
    const domain = new CrashDomain(crashAfter);
    this.lastDomain = domain;
    this.scheduleApiFaults();
    this.scheduleSlackFaults();
    if (options.cold) this.pollers[0] = this.newProcess();
    const process = this.pollers[0] ?? this.newProcess();
    process.domain = domain;
    const postsBefore = this.posts.length;
    const apiUnchanged = this.unchangedSinceCleanPoll;
    let report: PollReport | undefined;
    await this.queue.release();
    const outcome = await runInDomain(domain, async () => {
      report = await this.pollIn(process);
      await this.drainIn(process);
    });
    if (outcome.crashed) {
      this.options.stats.crash(outcome.point);
      // A killed process comes back cold: nothing it remembered survives.
      this.pollers = this.pollers.map(() => this.newProcess());
      await this.snapshot();
      return undefined;
    }
    this.typicalEffects = Math.max(5, domain.effectCount);
    this.options.stats.cycles += 1;
    await this.snapshot();
    if (this.options.strict) this.checkStrict(report, apiUnchanged, postsBefore);
    if (report && report.failures.length === 0) this.unchangedSinceCleanPoll = true;
    return report;
  }

  /** Several pollers and notifiers at once (separate processes, each with its own warm cache), while the API changes. */
  private async concurrentCycle(during: readonly Step[]): Promise<void> {
    const pollers = this.options.pollers ?? 1;
    const notifiers = this.options.notifiers ?? 1;
    while (this.pollers.length < pollers) this.pollers.push(this.newProcess());
    const apiUnchanged = this.unchangedSinceCleanPoll && during.length === 0;
    await this.queue.release();
    const postsBefore = this.posts.length;
    let polling = true;
    // The first poller is slow to reach DynamoDB and the others start a moment later, so they
    // list the API after it changed yet write before the slow one: the overlap that could move
    // a state backwards if writes were not conditional.
    const polls = Promise.all(
      this.pollers.slice(0, pollers).map(async (process, index) => {
        if (index > 0) await sleep(integerBetween(2, 20, this.random));
        process.domain = new CrashDomain();
        if (index === 0) process.dynamoLatencyMs = () => integerBetween(1, 12, this.random);
        try {
          return await this.pollIn(process);
        } finally {
          process.dynamoLatencyMs = undefined;
        }
      }),
    ).finally(() => {
      polling = false;
    });
    const drains = Array.from({ length: notifiers }, async () => {
      const process = this.newProcess();
      while (polling) {
        await this.drainIn(process);
        await sleep(3);
      }
      await this.drainIn(process);
    });
    const mutations = (async () => {
      for (const step of during) {
        await sleep(integerBetween(0, 12, this.random));
        await this.applyStep(step);
      }
    })();
    const [reports] = await Promise.all([polls, mutations, ...drains]);
    this.options.stats.cycles += 1;
    await this.snapshot();
    const clean = reports.every((report) => report && report.failures.length === 0);
    if (this.options.strict && during.length === 0) {
      for (const report of reports) this.checkStrict(report, apiUnchanged, postsBefore);
    }
    if (clean && during.length === 0) this.unchangedSinceCleanPoll = true;
  }

  private async pollIn(process: Process): Promise<PollReport | undefined> {
    const result = await pollCycle(process.poller);
    if (result.error !== undefined) this.log.error("poll threw", { reason: describeError(result.error) });
    return result.report;
  }

  /** Delivers what is visible now, as the notifier's event source would hand it over; what waits is left for later cycles. */
  private async drainIn(process: Process): Promise<void> {
    try {
      await drainQueue(deliveryQueue(process.platform), composeNotifier(process.platform));
    } catch (error) {
      this.log.error("drain threw", { reason: describeError(error) });
    }
  }

  /** A new process; with `warmFrom`, one that remembers what that one's seen-cache held. */
  private newProcess(warmFrom?: Process): Process {
    const process = { domain: new CrashDomain() } as Process;
    process.platform = this.platform(process);
    process.poller = composePoller(process.platform);
    const cache = process.poller.poll.cache;
    for (const [conversation, message] of warmFrom?.poller.poll.cache ?? []) cache?.set(conversation, message);
    return process;
  }

  /**
   * The platform of one process: every DynamoDB and SQS request, API page and Slack post is a
   * side effect of the process's current domain, and may meet an injected fault.
   */
  private platform(process: Process, options: { faultFree?: boolean } = {}): Platform {
    const plan = options.faultFree ? new FaultPlan({}, () => 1, this.options.stats) : this.plan;
    const domain = () => process.domain;
    // An injected API timeout is a request the snapshot server never answers, so the client must
    // give up quickly while faults are on (an answer that is merely slow then fails the same
    // harmless way); once they stop, a slow answer on a busy machine must not fail a quiet round.
    const apiFaults = (this.options.faults?.apiOutage ?? 0) > 0 && plan.active;
    return {
      table: {
        client: faultyDynamo(this.raw, domain, plan, () => process.dynamoLatencyMs?.() ?? 0),
        name: this.tableName,
        where: this.tableName,
      },
      queue: { client: crashableSqs(this.queue.client(), domain), urls: this.queueUrls },
      respondent: {
        settings: {
          baseUrl: this.server.url,
          pageSize: 100,
          maxConcurrency: 2,
          timeoutMs: apiFaults ? API_FAULT_TIMEOUT_MS : API_TIMEOUT_MS,
          maxRetries: 2,
        },
        credentials: async () => ({ apiKey: API_KEY, apiSecret: API_SECRET }),
        retryTiming: { sleep: async () => undefined, random: this.random },
      },
      slack: this.slackSettings(SLACK_TIMEOUT_MS),
      opsChannelId: undefined,
      conversationUrlTemplate: undefined,
      clock: this.clock,
      log: this.log,
      metrics: this.metrics,
      decorate: options.faultFree
        ? undefined
        : {
            api: (api) => crashableSource(api, domain),
            state: (state) => conflictingStateStore(this.recordingState(state), this.rivalState, this.plan),
            events: (queue) => flakyQueue(queue, this.plan),
            slack: (poster) => crashableSlack(this.countingPoster(poster), domain),
          },
    };
  }

  /**
   * Only an injected fault times out: an ordinary post that is slow on a busy machine must not turn
   * into a "may have posted" outcome. The posts an injected "slack.timeout" holds back go through a
   * client that gives up after SLACK_FAULT_TIMEOUT_MS.
   */
  private slackSettings(timeoutMs: number): NonNullable<Platform["slack"]> {
    return {
      settings: { apiUrl: `${this.slack.url}/api/`, timeoutMs, postIntervalMs: 0 },
      token: async () => SLACK_TOKEN,
    };
  }

  /**
   * Every state write must move forward from the state it replaces, and the writes that
   * succeed, in the order they complete, must never go back: with conditional writes each
   * success was sent only after the one before it completed, so completion order is the
   * order DynamoDB applied them. This sees a backward step even if a later write repairs it.
   */
  private recordingState(inner: StateStore): StateStore {
    return {
      getStates: (uids) => inner.getStates(uids),
      getStored: (uids) => inner.getStored(uids),
      addFeedMarks: (uid, marks) => inner.addFeedMarks(uid, marks),
      advanceState: async (uid, expected, next, marks) => {
        await inner.advanceState(uid, expected, next, marks);
        const from = expected ? this.world.lookup(expected.lastMessageUid)?.message.position : -1;
        const to = this.world.lookup(next.lastMessageUid)?.message.position;
        if (from === undefined || to === undefined || to <= from) {
          this.violations.push(
            `the state of ${uid} was written from ${expected?.lastMessageUid ?? "none"} to ${next.lastMessageUid}`,
          );
          return;
        }
        const applied = this.appliedStates.get(uid);
        if (applied !== undefined && to < applied) {
          this.violations.push(
            `the state of ${uid} moved backwards from #${applied} to #${to} (${next.lastMessageUid})`,
          );
        }
        this.appliedStates.set(uid, Math.max(to, applied ?? -1));
      },
    };
  }

  /**
   * Counts each Slack fault when the post it was scheduled for is actually made, and sends a post
   * that an injected timeout holds back through the client that gives up on it. Posts are made one
   * at a time, so the fake Slack takes its queued faults in this order.
   */
  private countingPoster(poster: SlackPoster): SlackPoster {
    const timingOut = slackPoster({ slack: this.slackSettings(SLACK_FAULT_TIMEOUT_MS), log: this.log });
    return {
      post: (channelId, message, threadTs) => {
        const fault = this.slackFaultsPending.shift();
        if (fault) this.options.stats.fault(fault);
        return (fault === "slack.timeout" ? timingOut : poster).post(channelId, message, threadTs);
      },
      findAlert: (channelId, search) => poster.findAlert(channelId, search),
    };
  }

  /** Messages not delivered yet (visible, held for a retry, or in flight with a dead process). */
  async pendingCount(): Promise<number> {
    const result = await this.rawSqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: this.queueUrls.queueUrl,
        AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
      }),
    );
    const attributes = result.Attributes ?? {};
    return (
      Number(attributes.ApproximateNumberOfMessages ?? 0) +
      Number(attributes.ApproximateNumberOfMessagesNotVisible ?? 0)
    );
  }

  async deadLetterCount(): Promise<number> {
    const result = await this.rawSqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: this.queueUrls.deadLetterQueueUrl,
        AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
      }),
    );
    const attributes = result.Attributes ?? {};
    return (
      Number(attributes.ApproximateNumberOfMessages ?? 0) +
      Number(attributes.ApproximateNumberOfMessagesNotVisible ?? 0)
    );
  }

  private scheduleApiFaults(): void {
    if (!this.plan.chance("apiOutage")) return;
    this.server.failNext(integerBetween(1, 6, this.random), pick(API_FAULTS, this.random));
  }

  private scheduleSlackFaults(): void {
    if (this.options.slackDelayMs && this.slackFaultsPending.length === 0) {
      this.slack.failNext("chat.postMessage", 200, { delayMs: this.options.slackDelayMs });
    }
    if (!this.plan.chance("slackFault")) return;
    const { label, fault } = pick(SLACK_FAULTS, this.random);
    const count = integerBetween(1, 3, this.random);
    this.slack.failNext("chat.postMessage", count, fault(this.random));
    for (let index = 0; index < count; index += 1) this.slackFaultsPending.push(label);
  }

  private async snapshot(): Promise<void> {
    const uids = this.world.conversations.map((conversation) => conversation.uid);
    this.snapshots.push(await this.inspectState.getStates(uids));
  }

  /** Without faults an alert is not merely eventual: it is posted in the cycle that finds it, once. */
  private checkStrict(report: PollReport | undefined, apiUnchanged: boolean, postsBefore: number): void {
    if (!report) {
      this.violations.push("a fault-free poll threw");
      return;
    }
    if (report.failures.length > 0) {
      this.violations.push(`a fault-free poll failed: ${report.failures.map((failure) => failure.reason).join("; ")}`);
    }
    if (apiUnchanged && (report.eventsQueued > 0 || report.newReplies > 0)) {
      this.violations.push(`re-polling an unchanged API found ${report.newReplies} new replies`);
    }
    if (apiUnchanged && this.posts.length > postsBefore) {
      this.violations.push(`re-polling an unchanged API posted ${this.posts.length - postsBefore} alerts`);
    }
    const verdict = checkDeliveries(this.world, this.posts, { markedRepeatsAllowed: false, complete: true });
    this.violations.push(
      ...verdict.violations.map((violation) => `after cycle ${this.options.stats.cycles}: ${violation}`),
    );
  }

  /**
   * The faults stop. Rounds of poll + notify follow, each a little more than the claim lease
   * later, until a round finds nothing new, posts nothing and leaves the queue empty.
   */
  async quiesce(): Promise<number> {
    this.plan.active = false;
    this.server.clearFaults();
    // The channels keep their messages: a retry reads them back.
    this.slack.clearFaults();
    this.slackFaultsPending = [];
    // The API client of a process made while faults were on gives up after 300 ms: the quiet
    // rounds run on fresh ones, which carry their warm seen-caches over.
    this.pollers = this.pollers.map((process) => this.newProcess(process));
    for (let round = 1; round <= MAX_QUIET_ROUNDS; round += 1) {
      this.clockOffsetMs += ROUND_ADVANCE_MS;
      const postsBefore = this.posts.length;
      const report = await this.cycle();
      // A post that timed out is still carried out by Slack: let it land before judging.
      await this.slack.idle();
      const pending = await this.pendingCount();
      if (report && report.failures.length === 0 && report.eventsQueued === 0 && pending === 0) {
        if (this.posts.length === postsBefore) return round;
      }
    }
    this.violations.push(`the pipeline did not settle within ${MAX_QUIET_ROUNDS} fault-free rounds`);
    return MAX_QUIET_ROUNDS;
  }

  /** Property 3: polling an unchanged API again (warm and cold) queues nothing, posts nothing, writes nothing. */
  async repollUnchanged(): Promise<void> {
    for (const label of ["warm", "cold"] as const) {
      const postsBefore = this.posts.length;
      const statesBefore = JSON.stringify([...(this.snapshots.at(-1) ?? new Map())]);
      this.clockOffsetMs += ROUND_ADVANCE_MS;
      const report = await this.cycle({ cold: label === "cold" });
      if (!report || report.failures.length > 0) this.violations.push(`the ${label} re-poll failed`);
      if (report && (report.newReplies > 0 || report.eventsQueued > 0)) {
        this.violations.push(`the ${label} re-poll of an unchanged API found ${report.newReplies} new replies`);
      }
      if (this.posts.length > postsBefore) {
        this.violations.push(
          `the ${label} re-poll of an unchanged API posted ${this.posts.length - postsBefore} alerts`,
        );
      }
      if (JSON.stringify([...(this.snapshots.at(-1) ?? new Map())]) !== statesBefore) {
        this.violations.push(`the ${label} re-poll of an unchanged API changed the stored state`);
      }
    }
  }

  /** Properties 1, 2 and 4 on the final outcome, plus anything noticed on the way. */
  async verdict(rules: { markedRepeatsAllowed: boolean }): Promise<DeliveryVerdict> {
    const deliveries = checkDeliveries(this.world, this.posts, { ...rules, complete: true });
    const states = checkStates(this.world, this.snapshots, { complete: true });
    const deadLetters = await this.deadLetterCount();
    const stats = this.options.stats;
    stats.alertsDue += deliveries.due;
    stats.posts += deliveries.posts;
    stats.duplicates += deliveries.duplicates;
    stats.duplicatesMarked += deliveries.duplicatesMarked;
    stats.markedSingles += deliveries.markedSingles;
    for (const metric of OBSERVED_METRICS) stats.observe(metric, this.metrics.get(metric));
    return {
      ...deliveries,
      violations: [
        ...new Set(this.violations),
        ...deliveries.violations,
        ...states,
        ...(deadLetters > 0 ? [`${deadLetters} events were dead-lettered`] : []),
      ],
    };
  }

  describe(): string {
    const conversations = this.world.conversations
      .map((c) => {
        const flags = c.deleted ? (c.removed ? ",removed" : ",deleted") : "";
        const messages = c.messages.map((m) => `${m.uid}/${m.author}@${new Date(m.createdAtMs).toISOString()}`);
        return `${c.uid}[${c.projectId.slice(-3)}${flags}]: ${messages.join(" ")}`;
      })
      .join("\n  ");
    const subscriptions = this.world.subscriptions
      .map((s) => `${s.projectId.slice(-3)}->${s.channelId}@${new Date(s.createdAtMs).toISOString()}`)
      .join(", ");
    const posts = this.posts
      .map((post) => `${messageUidOf(post) ?? "?"}@${post.channel}${isMarked(post) ? "(marked)" : ""}`)
      .join(" ");
    const lines = process.env.RELIABILITY_DEBUG === "1" ? this.log.lines : this.log.lines.slice(-25);
    return `subscriptions: ${subscriptions}\nposts: ${posts}\nconversations:\n  ${conversations}\nlast log lines:\n  ${lines.join("\n  ")}`;
  }
}

/** Far beyond any answer of the local fake Slack or snapshot server, even on a loaded machine. */
const SLACK_TIMEOUT_MS = 10_000;
const API_TIMEOUT_MS = 10_000;
/** The client of a post that an injected timeout holds back gives up after this long... */
export const SLACK_FAULT_TIMEOUT_MS = 300;
/** How long the API client waits for an answer while the snapshot server may be told never to answer. */
const API_FAULT_TIMEOUT_MS = 300;

const OBSERVED_METRICS = [
  "AlertsFoundOnReadBack",
  "StateConflicts",
  "DuplicateConversations",
  "AlertsSkippedDuplicate",
  "AlertsRetried",
  "AlertsPossiblyRepeated",
  "PollFailures",
  "ConversationsFailed",
] as const;
/**
 * ...and the fake Slack answers (and posts) only this long after it has read the request: always
 * after that client, whose clock started before it sent the request, gave up, however slow the machine.
 */
const SLACK_FAULT_DELAY_MS = 500;

const API_FAULTS: ApiFault[] = [
  { kind: "status", status: 429, retryAfter: "0" },
  { kind: "status", status: 429 },
  { kind: "status", status: 500 },
  { kind: "status", status: 502 },
  { kind: "status", status: 503 },
  { kind: "timeout" },
  { kind: "status", status: 401 },
  { kind: "non-json" },
];

const SLACK_FAULTS: Array<{ label: string; fault: (random: () => number) => FakeSlackFault }> = [
  { label: "slack.429", fault: (random) => ({ status: 429, retryAfter: integerBetween(1, 20, random) }) },
  { label: "slack.429-no-retry-after", fault: () => ({ status: 429 }) },
  { label: "slack.500", fault: () => ({ status: 500 }) },
  { label: "slack.503", fault: () => ({ status: 503 }) },
  { label: "slack.timeout", fault: () => ({ delayMs: SLACK_FAULT_DELAY_MS }) },
  { label: "slack.accepted-then-500", fault: () => ({ acceptThenFail: true }) },
  { label: "slack.accepted-then-drop", fault: () => ({ acceptThenDrop: true }) },
];

function apiFaultLabel(fault: ApiFault): string {
  if (fault.kind === "status") return `api.${fault.status}${fault.retryAfter !== undefined ? "-retry-after" : ""}`;
  return `api.${fault.kind}`;
}

/**
 * Plays one generated history through the pipeline, lets it settle without faults, re-polls
 * the unchanged API, and throws (for fast-check to shrink) if any property was broken.
 */
export async function runHistory(
  history: History,
  clients: { dynamo: DynamoDBClient; sqs: SQSClient },
  options: PipelineOptions,
  rules: { markedRepeatsAllowed: boolean },
): Promise<DeliveryVerdict> {
  const pipeline = await Pipeline.start(history, clients.dynamo, clients.sqs, options);
  try {
    await pipeline.play(history.steps);
    await pipeline.quiesce();
    await pipeline.repollUnchanged();
    const verdict = await pipeline.verdict(rules);
    if (verdict.violations.length > 0) {
      throw new Error(`${verdict.violations.slice(0, 15).join("\n")}\n${pipeline.describe()}`);
    }
    return verdict;
  } finally {
    await pipeline.close();
  }
}
