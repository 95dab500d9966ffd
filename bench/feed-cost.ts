/**
 * `npm run bench:feed [-- --latency-ms 250] [--sizes 1000,10000,50000] [--replies 100] [--skip-60s]`:
 * what the messages feed and webhooks (issue 14) cost and how fast they alert, measured the way
 * the entry points run: the CLI's platform (loadLocalConfig + openLocalPlatform pointed at the
 * simulator, DynamoDB Local, the SQS emulator and a fake Slack), ports from src/app/compose.ts,
 * the pollCycle() / poll() / drainQueue() use cases and the webhook route served by serveRoutes.
 *
 * Per N: API requests and wall time of a steady feed poll (the feed state seeded where a sweep
 * leaves it, so the 50,000-state first sweep is not re-run here), and of a sweep (a dry run: it
 * lists every page and reads every state, an upper bound for the reconciling sweep); then the
 * monthly bill at 60, 15 and 10 s, by bench/cost.ts monthlyBill() on the synthesized template,
 * from what was just measured. Then the reply-to-Slack latency over `--replies` replies written
 * at uniform random times, for webhooks, 10 s polling (as the delay-queue chain paces its polls)
 * and 60 s polling (as the schedule does; `--skip-60s` leaves it out: about 5 minutes).
 * Prints figures; never fails on a target.
 */

import { setTimeout as delay } from "node:timers/promises";
import { parseArgs } from "node:util";
import type { ConsumedCapacityHook } from "../src/adapters/dynamo/capacity.ts";
import { CountingMetrics } from "../src/adapters/observability.ts";
import {
  composeNotifier,
  composePoller,
  deliveryQueue,
  feedStateStore,
  respondentClient,
  respondentWebhook,
  subscriptionStore,
} from "../src/app/compose.ts";
import { type LocalPlatform, openLocalPlatform } from "../src/app/local.ts";
import { loadLocalConfig } from "../src/config.ts";
import { nextTickDelaySeconds } from "../src/domain/poll-chain.ts";
import { subscriptionSchema } from "../src/domain/subscriptions.ts";
import { UsageError } from "../src/errors.ts";
import { RESPONDENT_WEBHOOK_PATH } from "../src/http/respondent-webhook.ts";
import { serveRoutes } from "../src/http/server.ts";
import { startDynamoDbLocal } from "../src/local/dynamodb-local.ts";
import { type FakeSlack, startFakeSlack } from "../src/local/fake-slack.ts";
import { seededRandom, shuffle } from "../src/local/random.ts";
import { type RespondentSimulator, startRespondentSimulator } from "../src/local/simulator.ts";
import { startLocalSqs } from "../src/local/sqs-local.ts";
import type { Log } from "../src/ports.ts";
import { drainQueue } from "../src/usecases/deliver.ts";
import { poll } from "../src/usecases/poll.ts";
import { pollCycle } from "../src/usecases/poll-cycle.ts";
import { billTable, COST_TARGETS, count, verdict } from "./bill-report.ts";
import { monthlyBill } from "./cost.ts";
import { describeTemplate, synthesizedDeployment } from "./deployment.ts";
import { MEASURED_SIZES, measuredProfile, QUIET_FEED_POLL_LOG_BYTES, withFeed, withMeasuredSweep } from "./profiles.ts";

const PROJECTS = 5;
const TOKEN = "xoxb-feed-bench";
const CHANNELS = ["C0FEEDB0001", "C0FEEDB0002", "C0FEEDB0003", "C0FEEDB0004", "C0FEEDB0005"];
const DAILY_QUOTA = 1_000_000;
const RECONCILE_MINUTES = 10;
const INTERVALS = [60, 15, 10] as const;
/** Over how long the replies arrive, per path: a few polls' worth, so each waits U(0, interval) for its poll. */
const REPLY_WINDOW_MS = { webhook: 40_000, "10s": 80_000, "60s": 240_000 } as const;
/** After the last reply, how long its alert may take before it counts as missing. */
const ALERT_GRACE_MS = 60_000;
const quiet: Log = { debug() {}, info() {}, warn() {}, error() {} };

const USAGE = "usage: npm run bench:feed -- [--latency-ms 50] [--sizes 1000,10000,50000] [--replies 100] [--skip-60s]";

interface FeedBenchOptions {
  latencyMs: number;
  sizes: number[];
  replies: number;
  /** Leave out the 60 s polling latency (about 5 minutes). */
  skip60s: boolean;
}

/** Parses and checks the flags; throws UsageError naming the flag that is wrong. */
function parseOptions(argv: string[]): FeedBenchOptions {
  let values: { "latency-ms": string; sizes: string; replies: string; "skip-60s": boolean };
  try {
    values = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        "latency-ms": { type: "string", default: "50" },
        sizes: { type: "string", default: "1000,10000,50000" },
        replies: { type: "string", default: "100" },
        "skip-60s": { type: "boolean", default: false },
      },
    }).values;
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const whole = (name: string, raw: string, min: number, max: number) => {
    const value = Number(raw);
    if (!/^\d+$/.test(raw.trim()) || value < min || value > max) {
      throw new UsageError(`--${name}: "${raw}" must be a whole number from ${min} to ${max}`);
    }
    return value;
  };
  const replies = whole("replies", values.replies, 1, 10_000);
  const sizes = values.sizes.split(",").map((part) => whole("sizes", part, Math.max(PROJECTS, replies), 1_000_000));
  return {
    latencyMs: whole("latency-ms", values["latency-ms"], 0, 10_000),
    sizes,
    replies,
    skip60s: values["skip-60s"],
  };
}

interface Units {
  read: number;
  write: number;
  /** The part of `read` that is conversation states (`state.read`). */
  stateRead: number;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

/** The alerts the fake Slack received, by the marker each reply carries; waits are for markers to appear. */
class SlackPosts {
  readonly postedAt = new Map<string, number>();
  private readonly listeners = new Set<() => void>();

  record(text: string | undefined): void {
    const marker = /\b(\w+-\d+)-bench-reply\b/.exec(text ?? "")?.[1];
    if (marker === undefined || this.postedAt.has(marker)) return;
    this.postedAt.set(marker, Date.now());
    for (const listener of this.listeners) listener();
  }

  /** Resolves when every marker has been posted (true) or at the deadline (false). */
  async waitFor(markers: readonly string[], deadline: number): Promise<boolean> {
    const all = () => markers.every((marker) => this.postedAt.has(marker));
    if (all()) return true;
    const stop = new AbortController();
    let listener = () => {};
    const posted = new Promise<true>((resolve) => {
      listener = () => {
        if (all()) resolve(true);
      };
      this.listeners.add(listener);
    });
    const late = delay(Math.max(0, deadline - Date.now()), false, { signal: stop.signal }).catch(() => false);
    try {
      return await Promise.race([posted, late]);
    } finally {
      this.listeners.delete(listener);
      stop.abort();
    }
  }
}

interface Services {
  dynamo: { endpoint: string };
  sqs: { endpoint: string };
  slack: FakeSlack;
}

interface Pipeline {
  simulator: RespondentSimulator;
  platform: LocalPlatform;
  close(): Promise<void>;
}

/** A simulator with N conversations over PROJECTS projects, the CLI's platform on a fresh table, one subscription per project. */
async function openPipeline(
  services: Services,
  options: { conversations: number; latencyMs: number; table: string; onConsumedCapacity?: ConsumedCapacityHook },
): Promise<Pipeline> {
  const simulator = await startRespondentSimulator({
    conversations: options.conversations,
    projects: PROJECTS,
    latencyMs: options.latencyMs,
    pageSizeCap: 100,
  });
  const platform = await openLocalPlatform(
    loadLocalConfig({
      RESPONDENT_API_URL: simulator.url,
      RESPONDENT_API_KEY: simulator.apiKey,
      RESPONDENT_API_SECRET: simulator.apiSecret,
      SLACK_BOT_TOKEN: TOKEN,
      SLACK_API_URL: `${services.slack.url}/api/`,
      DYNAMODB_ENDPOINT: services.dynamo.endpoint,
      SQS_ENDPOINT: services.sqs.endpoint,
      TABLE_NAME: `${options.table}-${Date.now()}`,
    }),
    {
      needs: { respondent: true, slack: true, queue: true },
      log: quiet,
      metrics: new CountingMetrics(),
      onConsumedCapacity: options.onConsumedCapacity,
    },
  );
  const now = new Date();
  for (const [index, projectId] of simulator.projectIds.entries()) {
    await subscriptionStore(platform).add(
      subscriptionSchema.parse({
        projectId,
        channelId: CHANNELS[index % CHANNELS.length],
        createdAt: now.toISOString(),
      }),
    );
  }
  return {
    simulator,
    platform,
    async close() {
      await platform.close();
      await simulator.close();
    },
  };
}

/** The feed state where a complete sweep leaves it: the next polls read the feed. */
async function seedFeedState(pipeline: Pipeline): Promise<void> {
  const now = new Date().toISOString();
  await feedStateStore(pipeline.platform).write(
    {
      mode: "feed",
      watermark: now,
      coverageStart: now,
      lastSweepAt: now,
      teamUids: [pipeline.simulator.teamUser.uid],
    },
    undefined,
  );
}

/** The notifier outside Lambda, as the local runtime runs it: drains the queue until stopped. */
function startNotifier(platform: LocalPlatform): { stop(): Promise<void> } {
  let running = true;
  const notifier = composeNotifier(platform);
  const loop = (async () => {
    while (running) await drainQueue(deliveryQueue(platform), notifier, { waitUntil: Date.now() + 1_000 });
  })();
  return {
    async stop() {
      running = false;
      await loop;
    },
  };
}

/**
 * `count` participant replies, each to a different conversation, at uniform random times over
 * `windowMs` from now; each body carries its marker. Returns when each was written, filled as
 * they are, and a promise of the last.
 */
function writeReplies(
  simulator: RespondentSimulator,
  path: string,
  replyCount: number,
  windowMs: number,
): { writtenAt: Map<string, number>; markers: string[]; written: Promise<void> } {
  const random = seededRandom(14);
  const uids = shuffle([...simulator.conversationUids], random).slice(0, replyCount);
  const offsets = uids.map(() => random() * windowMs).sort((a, b) => a - b);
  const writtenAt = new Map<string, number>();
  const markers = uids.map((_, index) => `${path}-${index}`);
  const start = Date.now();
  const written = (async () => {
    for (const [index, uid] of uids.entries()) {
      await delay(Math.max(0, start + (offsets[index] ?? 0) - Date.now()));
      const marker = markers[index] ?? "";
      simulator.addMessage(uid, { from: "participant", body: `${marker}-bench-reply ${index}` });
      writtenAt.set(marker, Date.now());
    }
  })();
  return { writtenAt, markers, written };
}

interface Latency {
  path: string;
  replies: number;
  alerted: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
  polls?: number;
}

function latencyOf(path: string, writtenAt: Map<string, number>, posts: SlackPosts, polls?: number): Latency {
  const latencies = [...writtenAt].flatMap(([marker, at]) => {
    const posted = posts.postedAt.get(marker);
    return posted === undefined ? [] : [posted - at];
  });
  return {
    path,
    replies: writtenAt.size,
    alerted: latencies.length,
    p50Ms: percentile(latencies, 50),
    p95Ms: percentile(latencies, 95),
    maxMs: Math.max(0, ...latencies),
    ...(polls === undefined ? {} : { polls }),
  };
}

/** Replies hinted by signed webhooks to `POST /respondent/webhook`, no poller running. */
async function webhookLatency(
  services: Services,
  posts: SlackPosts,
  options: { conversations: number; latencyMs: number; replies: number },
): Promise<Latency> {
  const pipeline = await openPipeline(services, { ...options, table: "feed-bench-webhook" });
  let secret: string | undefined;
  const server = await serveRoutes({
    port: 0,
    routes: [respondentWebhook(pipeline.platform, { secret: async () => secret })],
    log: quiet,
  });
  const notifier = startNotifier(pipeline.platform);
  try {
    secret = pipeline.simulator.registerWebhook(`${server.url}${RESPONDENT_WEBHOOK_PATH}`).privateKey;
    const replies = writeReplies(pipeline.simulator, "webhook", options.replies, REPLY_WINDOW_MS.webhook);
    await replies.written;
    await posts.waitFor(replies.markers, Date.now() + ALERT_GRACE_MS);
    return latencyOf("webhook", replies.writtenAt, posts);
  } finally {
    await notifier.stop();
    await server.close();
    await pipeline.close();
  }
}

/**
 * A feed poll every `intervalSeconds`, each one pollCycle(). Below a minute as the chain runs
 * them: after the poll, the next tick's delay is the chain's own (nextTickDelaySeconds: what is
 * left of the interval, in whole seconds as SQS takes it); the tick queue and its event source
 * are not run (the local platform has none), so their delivery time, tens of ms in AWS, is left
 * out. At 60 s as the schedule runs them: every minute, whatever the poll took.
 */
async function pollingLatency(
  services: Services,
  posts: SlackPosts,
  options: { conversations: number; latencyMs: number; replies: number; intervalSeconds: 10 | 60 },
): Promise<Latency> {
  const path = `${options.intervalSeconds}s` as const;
  const pipeline = await openPipeline(services, { ...options, table: `feed-bench-poll-${path}` });
  await seedFeedState(pipeline);
  const ports = composePoller(pipeline.platform, {
    feed: { enabled: true, reconcileIntervalMinutes: RECONCILE_MINUTES },
  });
  const notifier = startNotifier(pipeline.platform);
  const stop = new AbortController();
  let polls = 0;
  const chain = (async () => {
    while (!stop.signal.aborted) {
      const started = Date.now();
      const result = await pollCycle(ports);
      polls += 1;
      if (result.error !== undefined || (result.report?.failures.length ?? 0) > 0) {
        console.log(JSON.stringify({ path, pollProblem: polls }));
      }
      const wait =
        options.intervalSeconds < 60
          ? nextTickDelaySeconds(options.intervalSeconds, Date.now() - started) * 1000
          : Math.max(0, started + options.intervalSeconds * 1000 - Date.now());
      await delay(wait, undefined, { signal: stop.signal }).catch((error: unknown) => {
        if (!stop.signal.aborted) throw error;
      });
    }
  })();
  try {
    const replies = writeReplies(pipeline.simulator, path, options.replies, REPLY_WINDOW_MS[path]);
    await replies.written;
    await posts.waitFor(replies.markers, Date.now() + options.intervalSeconds * 1000 + ALERT_GRACE_MS);
    return latencyOf(path, replies.writtenAt, posts, polls);
  } finally {
    stop.abort();
    await chain;
    await notifier.stop();
    await pipeline.close();
  }
}

interface Measured {
  conversations: number;
  sweep: { requests: number; wallMs: number };
  coldDrySweepWallMs: number;
  feedPoll: { requests: number; wallMs: number; units: Units };
}

/** A dry-run sweep, the listing a warm sweep spends, and steady feed polls, at N conversations. */
async function measureFeedAndSweep(services: Services, conversations: number, latencyMs: number): Promise<Measured> {
  const units: Units = { read: 0, write: 0, stateRead: 0 };
  const resetUnits = () => {
    units.read = 0;
    units.write = 0;
    units.stateRead = 0;
  };
  const pipeline = await openPipeline(services, {
    conversations,
    latencyMs,
    table: `feed-bench-${conversations}`,
    onConsumedCapacity: (operation, consumed) => {
      units.read += consumed.read;
      units.write += consumed.write;
      if (operation === "state.read") units.stateRead += consumed.read;
    },
  });
  const { simulator, platform } = pipeline;
  try {
    // The sweep, as a dry run: every page and every state read, nothing written.
    const sweepPorts = composePoller(platform, { dryRun: true }).poll;
    simulator.clearRequests();
    let started = performance.now();
    await poll(sweepPorts, { dryRun: true });
    const coldDrySweepWallMs = Math.round(performance.now() - started);
    const sweepRequests = simulator.requests.length;
    // A reconciling sweep runs on a warm poller, whose seen-cache skips the state of every
    // unchanged conversation: its time is the listing of every page of every project.
    const api = respondentClient(platform);
    started = performance.now();
    await Promise.all(
      simulator.projectIds.map(async (projectId) => {
        for await (const _page of api.listConversations({ projectId })) {
          // every page, as the sweep walks them
        }
      }),
    );
    const sweep = { requests: sweepRequests, wallMs: Math.round(performance.now() - started) };

    // Steady feed polls: the state where a sweep leaves it, then a poll with 2 new replies.
    await seedFeedState(pipeline);
    const feedPorts = composePoller(platform, {
      feed: { enabled: true, reconcileIntervalMinutes: RECONCILE_MINUTES },
    }).poll;
    simulator.simulateReplies(2);
    const feedRuns: Array<{ requests: number; wallMs: number; units: Units }> = [];
    for (let run = 0; run < 5; run += 1) {
      simulator.clearRequests();
      resetUnits();
      started = performance.now();
      await poll(feedPorts);
      feedRuns.push({ requests: simulator.requests.length, wallMs: performance.now() - started, units: { ...units } });
    }
    const steady = feedRuns.slice(1);
    const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
    const feedPoll = {
      requests: Math.max(...steady.map((run) => run.requests)),
      wallMs: Math.round(
        percentile(
          steady.map((run) => run.wallMs),
          50,
        ),
      ),
      units: {
        read: mean(steady.map((run) => run.units.read)),
        write: mean(steady.map((run) => run.units.write)),
        stateRead: mean(steady.map((run) => run.units.stateRead)),
      },
    };
    await drainQueue(deliveryQueue(platform), composeNotifier(platform), { waitUntil: Date.now() + 30_000 });
    return { conversations, sweep, coldDrySweepWallMs, feedPoll };
  } finally {
    await pipeline.close();
  }
}

async function main(options: FeedBenchOptions): Promise<void> {
  const dynamo = await startDynamoDbLocal({});
  const sqs = await startLocalSqs();
  const posts = new SlackPosts();
  const slack = await startFakeSlack({ token: TOKEN, channels: CHANNELS, onPost: (post) => posts.record(post.text) });
  const services: Services = { dynamo, sqs, slack };
  console.log(
    `feed bench: ${options.latencyMs} ms per API request, ${PROJECTS} subscribed projects, sizes ${options.sizes.join(", ")}, ${options.replies} replies per latency path`,
  );
  try {
    const measured: Measured[] = [];
    for (const conversations of options.sizes) {
      const row = await measureFeedAndSweep(services, conversations, options.latencyMs);
      measured.push(row);
      const requestsPerDay = (interval: number) => {
        const sweeps = (24 * 60) / RECONCILE_MINUTES;
        return Math.round((86_400 / interval - sweeps) * row.feedPoll.requests + sweeps * row.sweep.requests);
      };
      console.log(
        JSON.stringify({
          conversations,
          sweepRequests: row.sweep.requests,
          sweepWallMs: row.sweep.wallMs,
          coldDrySweepWallMs: row.coldDrySweepWallMs,
          feedPollRequests: row.feedPoll.requests,
          feedPollWallMs: row.feedPoll.wallMs,
          feedPollReadUnits: Math.round(row.feedPoll.units.read * 10) / 10,
          feedPollStateReadUnits: Math.round(row.feedPoll.units.stateRead * 10) / 10,
          requestsPerDay: Object.fromEntries(INTERVALS.map((interval) => [`${interval}s`, requestsPerDay(interval)])),
          quotaShareAt10s: `${((requestsPerDay(10) / DAILY_QUOTA) * 100).toFixed(1)}%`,
        }),
      );
    }

    // The monthly bill, bench/cost.ts's model on the synthesized stack, from what was just measured.
    const deployments = INTERVALS.map((interval) => ({ interval, deployment: synthesizedDeployment(interval) }));
    const priced = measured.flatMap((row) => {
      // Units come from bench/profiles.ts (they do not depend on latency); times and requests from this run.
      if (!MEASURED_SIZES.includes(row.conversations)) return [];
      const sweep = withMeasuredSweep(measuredProfile(row.conversations, 50), {
        apiRequests: row.sweep.requests,
        lambdaMs: row.sweep.wallMs,
      });
      const feedPoll = {
        apiRequests: row.feedPoll.requests,
        lambdaMs: row.feedPoll.wallMs,
        // The states of the 2 replies' conversations, read again until the watermark is stored
        // (once a minute), belong to those alerts, not to every poll.
        readUnits: row.feedPoll.units.read - row.feedPoll.units.stateRead,
        logBytes: QUIET_FEED_POLL_LOG_BYTES,
      };
      return deployments.map(({ interval, deployment }) => {
        const profile = withFeed(sweep, feedPoll, interval, RECONCILE_MINUTES);
        return {
          conversations: row.conversations,
          interval,
          bill: monthlyBill(profile, deployment),
        };
      });
    });
    const skipped = measured.filter((row) => !MEASURED_SIZES.includes(row.conversations));
    console.log("");
    for (const { deployment } of deployments) console.log(describeTemplate(deployment));
    console.log(
      `\nMonthly bill with the messages feed, ${options.latencyMs} ms per API request (bench/cost.ts monthlyBill; this run's sweep listing and feed poll, the units of bench/profiles.ts):\n`,
    );
    console.log(billTable(priced));
    if (skipped.length > 0) {
      console.log(
        `(not priced: ${skipped.map((row) => count(row.conversations)).join(", ")}, which bench/profiles.ts has no units for)`,
      );
    }
    for (const target of COST_TARGETS.filter((each) => each.feed)) {
      const row = priced.find(
        (each) => each.conversations === target.conversations && each.interval === target.interval,
      );
      if (row) console.log(verdict(target, row.bill).line);
    }

    // Reply-to-Slack latency at the smallest N: webhooks, then polling at 10 s and at 60 s.
    const conversations = Math.min(...options.sizes);
    const latencyOptions = { conversations, latencyMs: options.latencyMs, replies: options.replies };
    const latencies: Latency[] = [await webhookLatency(services, posts, latencyOptions)];
    console.log(JSON.stringify(latencies.at(-1)));
    for (const intervalSeconds of options.skip60s ? ([10] as const) : ([10, 60] as const)) {
      latencies.push(await pollingLatency(services, posts, { ...latencyOptions, intervalSeconds }));
      console.log(JSON.stringify(latencies.at(-1)));
    }
    const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
    console.log(
      `\nReply-to-Slack latency, ${options.latencyMs} ms per API request, ${count(conversations)} conversations, replies at uniform random times (measured):\n`,
    );
    console.log("| path | replies alerted | p50 | p95 | max | polls |\n| --- | --- | --- | --- | --- | --- |");
    for (const each of latencies) {
      console.log(
        `| ${each.path === "webhook" ? "webhook" : `${each.path} polling`} | ${each.alerted} / ${each.replies} | ${seconds(each.p50Ms)} | ${seconds(each.p95Ms)} | ${seconds(each.maxMs)} | ${each.polls ?? ""} |`,
      );
    }
  } finally {
    await slack.close();
    await sqs.stop();
    await dynamo.stop();
  }
}

let options: FeedBenchOptions | undefined;
try {
  options = parseOptions(process.argv.slice(2));
} catch (error) {
  if (!(error instanceof UsageError)) throw error;
  console.error(`bench:feed: ${error.message}\n${USAGE}`);
  process.exitCode = error.exitCode;
}
if (options) await main(options);
