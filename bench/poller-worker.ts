import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { ConsumedCapacityHook } from "../src/adapters/dynamo/capacity.ts";
import { createDynamoDbClient } from "../src/adapters/dynamo/client.ts";
import { DynamoSeenSnapshotStore } from "../src/adapters/dynamo/seen-snapshot.ts";
import { DynamoStateStore } from "../src/adapters/dynamo/state-store.ts";
import { DynamoSubscriptionStore } from "../src/adapters/dynamo/subscription-store.ts";
import { CountingMetrics, consoleLog } from "../src/adapters/observability.ts";
import { RespondentApiClient } from "../src/adapters/respondent-api.ts";
import type { NewReplyEvent } from "../src/domain/events.ts";
import { type EventQueue, systemClock } from "../src/ports.ts";
import { type PollPorts, poll, type SeenCache } from "../src/usecases/poll.ts";
import type { Delivery } from "./delivery.ts";
import {
  type DeliveryFigures,
  type DynamoFigures,
  type PollerInit,
  type PollerRequest,
  type PollFigures,
  quietNodeVersionWarning,
  type SnapshotSaveFigures,
  serveRequests,
  toMb,
} from "./protocol.ts";

/**
 * One poller, as one Lambda execution environment: the real poll() use case with the real
 * Respondent client and DynamoDB adapters, a SeenCache that lives as long as this process.
 * Started fresh, it is a cold start (loading the seen-cache snapshot first, as
 * lambdas/poller/handler.ts does, unless told not to); kept across polls, it is a warm
 * container. SQS is the only stand-in (an in-memory queue that counts the batches SQS would take).
 */

quietNodeVersionWarning();

const SQS_BATCH_LIMIT = 10;
const MEMORY_SAMPLE_MS = 20;
const log = consoleLog({ level: "warn" });

/** Counts every DynamoDB call: per command (middleware) and per operation with units (the client's capacity hook). */
class DynamoMeter {
  figures: DynamoFigures = emptyFigures();

  readonly hook: ConsumedCapacityHook = (operation, units) => {
    const entry = this.figures.byOperation[operation] ?? { requests: 0, readUnits: 0, writeUnits: 0 };
    entry.requests += 1;
    entry.readUnits += units.read;
    entry.writeUnits += units.write;
    this.figures.byOperation[operation] = entry;
    this.figures.readUnits += units.read;
    this.figures.writeUnits += units.write;
  };

  attach(client: DynamoDBClient): DynamoDBClient {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const command = context.commandName ?? "unknown";
        this.figures.byCommand[command] = (this.figures.byCommand[command] ?? 0) + 1;
        this.figures.requests += 1;
        return next(args);
      },
      { step: "initialize", name: "benchRequestCounter" },
    );
    return client;
  }

  take(): DynamoFigures {
    const taken = this.figures;
    this.figures = emptyFigures();
    taken.readUnits = round(taken.readUnits);
    taken.writeUnits = round(taken.writeUnits);
    return taken;
  }
}

function emptyFigures(): DynamoFigures {
  return { byOperation: {}, byCommand: {}, requests: 0, readUnits: 0, writeUnits: 0 };
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

/** Stands in for SQS: keeps the events for the notifier and counts SendMessageBatch calls. */
class MemoryQueue implements EventQueue {
  readonly bodies: string[] = [];
  requests = 0;

  async sendEvents(events: readonly NewReplyEvent[]): Promise<void> {
    for (let start = 0; start < events.length; start += SQS_BATCH_LIMIT) {
      this.requests += 1;
      for (const event of events.slice(start, start + SQS_BATCH_LIMIT)) this.bodies.push(JSON.stringify(event));
    }
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
  pollerMeter: DynamoMeter;
  notifierMeter: DynamoMeter;
  pollerClient: DynamoDBClient;
  notifierClient: DynamoDBClient;
  ports: PollPorts & { cache: SeenCache };
  queue: MemoryQueue;
  snapshots: DynamoSeenSnapshotStore;
  delivered: number;
  delivery: Delivery | undefined;
}

let worker: Worker | undefined;

function started(): Worker {
  if (!worker) throw new Error("the poller is not initialised");
  return worker;
}

function start(init: PollerInit): Worker {
  const table = { tableName: init.tableName, region: init.region, endpoint: init.dynamoEndpoint };
  const pollerMeter = new DynamoMeter();
  const notifierMeter = new DynamoMeter();
  const pollerClient = pollerMeter.attach(createDynamoDbClient(table, { onConsumedCapacity: pollerMeter.hook }));
  const notifierClient = notifierMeter.attach(createDynamoDbClient(table, { onConsumedCapacity: notifierMeter.hook }));
  const credentials = { apiKey: init.simulator.apiKey, apiSecret: init.simulator.apiSecret };
  const queue = new MemoryQueue();
  return {
    init,
    pollerMeter,
    notifierMeter,
    pollerClient,
    notifierClient,
    queue,
    ports: {
      api: new RespondentApiClient({
        baseUrl: init.simulator.url,
        pageSize: init.requestedPageSize,
        maxConcurrency: init.concurrency,
        timeoutMs: 10_000,
        maxRetries: 4,
        credentials: async () => credentials,
        log,
      }),
      state: new DynamoStateStore(pollerClient, init.tableName, { log }),
      subscriptions: new DynamoSubscriptionStore(pollerClient, init.tableName, { log }),
      queue,
      clock: systemClock,
      log,
      metrics: new CountingMetrics(),
      cache: new Map(),
    },
    snapshots: new DynamoSeenSnapshotStore(pollerClient, init.tableName, { log }),
    delivered: 0,
    delivery: undefined,
  };
}

async function runPoll(
  current: Worker,
  loadSnapshot: boolean,
  scopeConcurrency: number | undefined,
): Promise<PollFigures> {
  const metrics = new CountingMetrics();
  const queueRequestsBefore = current.queue.requests;
  current.pollerMeter.take();
  const rssAtStartMb = toMb(process.memoryUsage().rss);
  const stopSampling = sampleMemory();
  const cpuBefore = process.cpuUsage();
  const startedAt = performance.now();

  if (loadSnapshot) await current.snapshots.loadInto(current.ports.cache);
  const pageTimesMs: number[] = [];
  const ports: PollPorts = {
    ...current.ports,
    metrics,
    onProgress: () => {
      pageTimesMs.push(Math.round(performance.now() - startedAt));
    },
  };
  const scopes = scopeConcurrency ?? current.init.scopeConcurrency;
  const report = await poll(ports, scopes === undefined ? {} : { scopeConcurrency: scopes });

  const wallMs = performance.now() - startedAt;
  const cpu = process.cpuUsage(cpuBefore);
  const sampled = stopSampling();
  // Started with --expose-gc: what the poll leaves behind once its garbage is collected.
  (globalThis as { gc?: () => void }).gc?.();
  const retainedHeapMb = toMb(process.memoryUsage().heapUsed);
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
    dynamo: current.pollerMeter.take(),
    queueRequests: current.queue.requests - queueRequestsBefore,
    memory: { rssAtStartMb, ...sampled, maxRssMb: maxRssMb(), retainedHeapMb },
    cacheEntries: current.ports.cache.size,
    pageTimesMs,
    metricNames: [...metrics.counts.keys()].sort(),
  };
}

async function saveSnapshot(current: Worker): Promise<SnapshotSaveFigures> {
  current.pollerMeter.take();
  const startedAt = performance.now();
  const saved = await current.snapshots.save(current.ports.cache);
  return { wallMs: Math.round(performance.now() - startedAt), ...saved, dynamo: current.pollerMeter.take() };
}

/** Hands the events queued since the last delivery to the real notify() (see delivery.ts). */
async function deliver(current: Worker): Promise<DeliveryFigures> {
  if (!current.delivery) {
    const { Delivery } = await import("./delivery.ts");
    current.delivery = await Delivery.start({
      client: current.notifierClient,
      tableName: current.init.tableName,
      log,
    });
  }
  const bodies = current.queue.bodies.slice(current.delivered);
  current.delivered = current.queue.bodies.length;
  current.notifierMeter.take();
  const figures = await current.delivery.deliver(bodies);
  return { ...figures, dynamo: current.notifierMeter.take() };
}

serveRequests<PollerRequest>(async (request) => {
  switch (request.type) {
    case "init":
      worker = start(request.init);
      return { rssMb: toMb(process.memoryUsage().rss) };
    case "poll":
      return runPoll(started(), request.loadSnapshot, request.scopeConcurrency);
    case "saveSnapshot":
      return saveSnapshot(started());
    case "deliver":
      return deliver(started());
  }
});

process.on("disconnect", () => {
  const current = worker;
  void (async () => {
    await current?.delivery?.close();
    current?.pollerClient.destroy();
    current?.notifierClient.destroy();
  })().finally(() => process.exit(0));
});
