import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { SQSClient } from "@aws-sdk/client-sqs";
import { CountingMetrics, consoleLog } from "../src/adapters/observability.ts";
import { composeNotifier, composePoller, deliveryQueue } from "../src/app/compose.ts";
import { type LocalPlatform, openLocalPlatform } from "../src/app/local.ts";
import { loadLocalConfig } from "../src/config.ts";
import type { Log, LogAttributes, MetricName } from "../src/ports.ts";
import { type DeliveryPorts, drainQueue } from "../src/usecases/deliver.ts";
import { type PollOptions, type PollReport, poll } from "../src/usecases/poll.ts";
import { type PollCyclePorts, pollCycle } from "../src/usecases/poll-cycle.ts";
import {
  type DeliveryFigures,
  type DynamoFigures,
  type PollerInit,
  type PollerRequest,
  type PollFigures,
  type QueueFigures,
  quietNodeVersionWarning,
  type SnapshotActivity,
  serveRequests,
  toMb,
} from "./protocol.ts";

/**
 * One poller, as one Lambda execution environment: the platform the CLI opens (its
 * loadLocalConfig and openLocalPlatform, pointed at the bench's simulator, DynamoDB Local, SQS
 * emulator and fake Slack), its ports from src/app/compose.ts, and the use cases every entry
 * point calls: pollCycle() (or poll() alone, for the no-snapshot comparison) and, for the
 * alerts, drainQueue(). Started fresh, it is a cold start; kept across polls, a warm container.
 */

quietNodeVersionWarning();

const MEMORY_SAMPLE_MS = 20;

/** Counts every DynamoDB call: per command (middleware) and per operation with units (the client's capacity hook). */
class DynamoMeter {
  figures: DynamoFigures = emptyDynamoFigures();

  readonly hook = (operation: string, units: { read: number; write: number }) => {
    const entry = this.figures.byOperation[operation] ?? { requests: 0, readUnits: 0, writeUnits: 0 };
    entry.requests += 1;
    entry.readUnits += units.read;
    entry.writeUnits += units.write;
    this.figures.byOperation[operation] = entry;
    this.figures.readUnits += units.read;
    this.figures.writeUnits += units.write;
  };

  attach(client: DynamoDBClient): void {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const command = context.commandName ?? "unknown";
        this.figures.byCommand[command] = (this.figures.byCommand[command] ?? 0) + 1;
        this.figures.requests += 1;
        return next(args);
      },
      { step: "initialize", name: "benchRequestCounter" },
    );
  }

  take(): DynamoFigures {
    const taken = this.figures;
    this.figures = emptyDynamoFigures();
    taken.readUnits = round(taken.readUnits);
    taken.writeUnits = round(taken.writeUnits);
    return taken;
  }
}

function emptyDynamoFigures(): DynamoFigures {
  return { byOperation: {}, byCommand: {}, requests: 0, readUnits: 0, writeUnits: 0 };
}

/** Counts every SQS call by command (SendMessageBatch is what the poll pays for) and the batch entries SQS refused. */
class QueueMeter {
  private figures: QueueFigures = emptyQueueFigures();

  attach(client: SQSClient): void {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const command = (context.commandName ?? "unknown").replace(/Command$/, "");
        this.figures.byCommand[command] = (this.figures.byCommand[command] ?? 0) + 1;
        this.figures.requests += 1;
        const result = await next(args);
        const failed = (result.output as { Failed?: Array<{ Code?: string; Message?: string }> }).Failed ?? [];
        for (const failure of failed) {
          const reason = `${failure.Code ?? "unknown"}: ${failure.Message ?? ""}`.slice(0, 200);
          this.figures.refusedEntries[reason] = (this.figures.refusedEntries[reason] ?? 0) + 1;
        }
        return result;
      },
      { step: "initialize", name: "benchQueueRequestCounter" },
    );
  }

  take(): QueueFigures {
    const taken = this.figures;
    this.figures = emptyQueueFigures();
    return taken;
  }
}

function emptyQueueFigures(): QueueFigures {
  return { byCommand: {}, requests: 0, refusedEntries: {} };
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

/**
 * Warnings and errors go to stderr; the snapshot use case's info lines (what it loaded and
 * saved, and how long that took) are kept as figures.
 */
class BenchLog implements Log {
  private readonly console = consoleLog({ level: "warn" });
  snapshot: SnapshotActivity = {};

  debug(): void {}

  info(message: string, attributes?: LogAttributes): void {
    const figure = (name: string) => Number(attributes?.[name] ?? 0);
    if (message === "seen-cache snapshot loaded") {
      this.snapshot.loaded = { entries: figure("entries"), parts: figure("parts"), durationMs: figure("durationMs") };
    } else if (message === "seen-cache snapshot saved") {
      this.snapshot.saved = {
        entries: figure("entries"),
        parts: figure("parts"),
        bytes: figure("bytes"),
        durationMs: figure("durationMs"),
      };
    }
  }

  warn(message: string, attributes?: LogAttributes): void {
    this.console.warn(message, attributes);
  }

  error(message: string, attributes?: LogAttributes): void {
    this.console.error(message, attributes);
  }

  takeSnapshotActivity(): SnapshotActivity {
    const taken = this.snapshot;
    this.snapshot = {};
    return taken;
  }
}

/** Peak RSS and heap, sampled every 20 ms while a poll runs. */
function sampleMemory(): () => { rssPeakSampledMb: number; heapUsedPeakMb: number } {
  let rssPeak = 0;
  let heapPeak = 0;
  const sample = () => {
    const usage = process.memoryUsage();
    rssPeak = Math.max(rssPeak, usage.rss);
    heapPeak = Math.max(heapPeak, usage.heapUsed);
  };
  sample();
  const timer = setInterval(sample, MEMORY_SAMPLE_MS);
  return () => {
    clearInterval(timer);
    sample();
    return { rssPeakSampledMb: toMb(rssPeak), heapUsedPeakMb: toMb(heapPeak) };
  };
}

function maxRssMb(): number {
  return toMb(process.resourceUsage().maxRSS * 1024);
}

interface Worker {
  init: PollerInit;
  platform: LocalPlatform;
  log: BenchLog;
  metrics: CountingMetrics;
  dynamo: DynamoMeter;
  queue: QueueMeter;
  poller: PollCyclePorts;
  /** Composed at the first delivery, so that the notifier's objects weigh on no poll's memory figures. */
  notifier: DeliveryPorts | undefined;
}

let worker: Worker | undefined;

function started(): Worker {
  if (!worker) throw new Error("the poller is not initialised");
  return worker;
}

async function start(init: PollerInit): Promise<Worker> {
  const log = new BenchLog();
  const metrics = new CountingMetrics();
  const dynamo = new DynamoMeter();
  const queue = new QueueMeter();
  const platform = await openLocalPlatform(loadLocalConfig(init.env), {
    needs: { respondent: true, slack: true, queue: true },
    // bench.ts created the table; no DescribeTable here, so a cold start opens its first
    // DynamoDB connection inside the measured poll, as a Lambda's does.
    tableMode: "inspect",
    log,
    metrics,
    onConsumedCapacity: dynamo.hook,
  });
  if (platform.embedded.length > 0) {
    await platform.close();
    throw new Error(`the bench's environment left services unset, so stand-ins were started: ${platform.embedded}`);
  }
  dynamo.attach(platform.table.client);
  if (platform.queue) queue.attach(platform.queue.client);
  return { init, platform, log, metrics, dynamo, queue, poller: composePoller(platform), notifier: undefined };
}

function metricCounts(metrics: CountingMetrics): Map<MetricName, number> {
  return new Map(metrics.counts);
}

async function runPoll(current: Worker, cycle: boolean, scopeConcurrency: number | undefined): Promise<PollFigures> {
  const countsBefore = metricCounts(current.metrics);
  current.dynamo.take();
  current.queue.take();
  current.log.takeSnapshotActivity();
  const rssAtStartMb = toMb(process.memoryUsage().rss);
  const stopSampling = sampleMemory();
  const cpuBefore = process.cpuUsage();
  const startedAt = performance.now();

  const pageTimesMs: number[] = [];
  current.poller.poll.onProgress = () => {
    pageTimesMs.push(Math.round(performance.now() - startedAt));
  };
  const scopes = scopeConcurrency ?? current.init.scopeConcurrency;
  const options: PollOptions = scopes === undefined ? {} : { scopeConcurrency: scopes };
  let report: PollReport;
  if (cycle) {
    const result = await pollCycle(current.poller, options);
    if (!result.report) throw result.error;
    report = result.report;
  } else {
    report = await poll(current.poller.poll, options);
  }

  const wallMs = performance.now() - startedAt;
  const cpu = process.cpuUsage(cpuBefore);
  const sampled = stopSampling();
  // Started with --expose-gc: what the poll leaves behind once its garbage is collected.
  (globalThis as { gc?: () => void }).gc?.();
  const retainedHeapMb = toMb(process.memoryUsage().heapUsed);
  const queue = current.queue.take();
  return {
    wallMs: Math.round(wallMs),
    cpuUserMs: Math.round(cpu.user / 1000),
    cpuSystemMs: Math.round(cpu.system / 1000),
    report: {
      scopes: report.scopes.length,
      pagesFetched: report.pagesFetched,
      conversationsScanned: report.conversationsScanned,
      conversationsChanged: report.conversationsChanged,
      newReplies: report.newReplies,
      eventsQueued: report.eventsQueued,
      stateConflicts: report.stateConflicts,
      failures: report.failures.length,
      firstFailure: report.failures[0]?.reason,
    },
    dynamo: current.dynamo.take(),
    queueRequests: queue.byCommand.SendMessageBatch ?? 0,
    queue,
    snapshot: current.log.takeSnapshotActivity(),
    memory: { rssAtStartMb, ...sampled, maxRssMb: maxRssMb(), retainedHeapMb },
    cacheEntries: current.poller.poll.cache?.size ?? 0,
    pageTimesMs,
    metricNames: [...current.metrics.counts.entries()]
      .filter(([name, count]) => count !== countsBefore.get(name))
      .map(([name]) => name)
      .sort(),
  };
}

/** Delivers what the polls queued, as the local consumer does: drainQueue() with the notifier's composed ports. */
async function deliver(current: Worker): Promise<Omit<DeliveryFigures, "slackPosts">> {
  current.notifier ??= composeNotifier(current.platform);
  const postedBefore = current.metrics.get("AlertsPosted");
  current.dynamo.take();
  current.queue.take();
  const startedAt = performance.now();
  const result = await drainQueue(deliveryQueue(current.platform), current.notifier);
  return {
    wallMs: Math.round(performance.now() - startedAt),
    events: result.delivered + result.retried + result.deadLettered,
    alertsDelivered: current.metrics.get("AlertsPosted") - postedBefore,
    failures: result.retried + result.deadLettered,
    pending: result.pending,
    dynamo: current.dynamo.take(),
    queue: current.queue.take(),
  };
}

serveRequests<PollerRequest>(async (request) => {
  switch (request.type) {
    case "init":
      worker = await start(request.init);
      return { rssMb: toMb(process.memoryUsage().rss) };
    case "poll":
      return runPoll(started(), request.cycle, request.scopeConcurrency);
    case "deliver":
      return deliver(started());
  }
});

process.on("disconnect", () => {
  const current = worker;
  void (current?.platform.close() ?? Promise.resolve()).finally(() => process.exit(0));
});
