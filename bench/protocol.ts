import type { ChildProcess } from "node:child_process";

/**
 * The benchmark runs the Respondent simulator and each poller in child processes of their
 * own, so the poller's memory figures are its own: the simulator holds all N conversations,
 * and a cold-start poll must start from a fresh process. They talk over Node's IPC channel
 * with one request and one answer at a time.
 */

export interface SimulatorInit {
  conversations: number;
  projects: number;
  latencyMs: number;
  pageSizeCap: number;
  /** The page size the poller asks for; the probe reports the size the server applies. */
  requestedPageSize: number;
}

export interface SimulatorReady {
  url: string;
  apiKey: string;
  apiSecret: string;
  projectIds: string[];
  conversationsByProject: Record<string, number>;
  appliedPageSize: number;
  rssMb: number;
}

export interface SimulatorStats {
  requests: number;
  /** Requests for a (projectId, page) already asked for in the same window: wasted pages. */
  repeatedPages: number;
  notOk: number;
  /** The most requests in flight at once since the simulator started. */
  maxConcurrentRequests: number;
  /** CPU the simulator process used since the last clear (it shares the machine with the poller). */
  cpuMs: number;
}

export interface PollerInit {
  /** The environment the poller's config is read from (bench/environment.ts; the CLI child gets the same). */
  env: Record<string, string>;
  /** poll()'s scopeConcurrency for the phases run as deployed; undefined: its default. */
  scopeConcurrency: number | undefined;
}

export interface OperationFigures {
  requests: number;
  readUnits: number;
  writeUnits: number;
}

export interface DynamoFigures {
  /** Per operation (`<item>.<access>`, e.g. `state.write`), from the client's consumed-capacity hook. */
  byOperation: Record<string, OperationFigures>;
  /** Per DynamoDB API command, counted by a middleware of the bench's own (every call, reporting capacity or not). */
  byCommand: Record<string, number>;
  requests: number;
  readUnits: number;
  writeUnits: number;
}

/** SQS requests by API command, counted by a middleware of the bench's own on the platform's SQS client. */
export interface QueueFigures {
  byCommand: Record<string, number>;
  requests: number;
  /** Batch entries SQS refused (`Failed` in a SendMessageBatch answer), by code and message. */
  refusedEntries: Record<string, number>;
}

/** What the snapshot use case reported (its log lines) during one poll cycle. */
export interface SnapshotActivity {
  loaded?: { entries: number; parts: number; durationMs: number };
  saved?: { entries: number; parts: number; bytes: number; durationMs: number };
}

export interface PollFigures {
  wallMs: number;
  cpuUserMs: number;
  cpuSystemMs: number;
  report: {
    scopes: number;
    pagesFetched: number;
    conversationsScanned: number;
    conversationsChanged: number;
    newReplies: number;
    eventsQueued: number;
    stateConflicts: number;
    failures: number;
    firstFailure: string | undefined;
  };
  dynamo: DynamoFigures;
  /** SendMessageBatch calls the poll made to the SQS emulator (10 events a batch). */
  queueRequests: number;
  queue: QueueFigures;
  /** The seen-cache snapshot loaded or saved in this cycle (a cycle restores once per process, saves when due). */
  snapshot: SnapshotActivity;
  memory: {
    rssAtStartMb: number;
    /** Highest RSS sampled every 20 ms during the poll. */
    rssPeakSampledMb: number;
    /** process.resourceUsage().maxRSS after the poll: the process's peak since it started. */
    maxRssMb: number;
    heapUsedPeakMb: number;
    /** V8 heap still in use after a forced GC at the end of the poll (the SeenCache and what else survives). */
    retainedHeapMb: number;
  };
  /** Entries in the SeenCache after the poll. */
  cacheEntries: number;
  /** When each page had been handled, ms from the start of the poll (stalls show as gaps). */
  pageTimesMs: number[];
  /** Metric names the poll emitted (each is a CloudWatch custom metric in AWS). */
  metricNames: string[];
}

/** The snapshot save of the first poll cycle (the one that filled the SeenCache). */
export interface SnapshotSaveFigures {
  wallMs: number;
  entries: number;
  parts: number;
  bytes: number;
  requests: number;
  writeUnits: number;
}

export interface DeliveryFigures {
  wallMs: number;
  /** Messages received from the queue and settled (delivered, retried or dead-lettered). */
  events: number;
  /** Alerts posted (the notifier's AlertsPosted metric). */
  alertsDelivered: number;
  /** Posts the fake Slack received (counted by the parent, which runs it). */
  slackPosts: number;
  /** Messages retried or dead-lettered. */
  failures: number;
  /** Messages still on the queue when the drain returned. */
  pending: number;
  dynamo: DynamoFigures;
  queue: QueueFigures;
}

export type SimulatorRequest =
  | { type: "init"; init: SimulatorInit }
  | { type: "stats" }
  | { type: "clear" }
  | { type: "replies"; count: number };

export type PollerRequest =
  | { type: "init"; init: PollerInit }
  /**
   * `cycle`: pollCycle() as deployed (snapshot restored once per process, saved when due);
   * false: poll() alone, no snapshot (the comparison). `scopeConcurrency` 1 lists the scopes one
   * after another, as the poller did before issue 6.
   */
  | { type: "poll"; cycle: boolean; scopeConcurrency: number | undefined }
  | { type: "deliver" };

type Envelope<T> = { id: number; body: T };
type Answer = { id: number; ok: true; body: unknown } | { id: number; ok: false; error: string };

/** The parent's side: send a request, await its answer; a child that exits early fails every pending call. */
export class WorkerClient<Request> {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();

  constructor(
    readonly name: string,
    private readonly child: ChildProcess,
  ) {
    child.on("message", (message: Answer) => {
      const waiter = this.pending.get(message.id);
      if (!waiter) return;
      this.pending.delete(message.id);
      if (message.ok) waiter.resolve(message.body);
      else waiter.reject(new Error(`${name}: ${message.error}`));
    });
    child.once("exit", (code, signal) => {
      for (const waiter of this.pending.values()) {
        waiter.reject(new Error(`${name} exited (${signal ?? `code ${code}`}) before answering`));
      }
      this.pending.clear();
    });
  }

  call<T>(body: Request): Promise<T> {
    const id = this.nextId;
    this.nextId += 1;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.child.send({ id, body } satisfies Envelope<Request>);
    });
  }

  /** Closes the IPC channel (the child exits once its work is done) and waits for the exit. */
  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
    this.child.disconnect();
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

/** The child's side: answer each request with the handler's result, one at a time. */
export function serveRequests<Request>(handle: (request: Request) => Promise<unknown>): void {
  if (!process.send) throw new Error("this worker must be started by bench/bench.ts (it needs an IPC channel)");
  let chain = Promise.resolve();
  process.on("message", (message: Envelope<Request>) => {
    chain = chain.then(async () => {
      let answer: Answer;
      try {
        answer = { id: message.id, ok: true, body: await handle(message.body) };
      } catch (error) {
        answer = {
          id: message.id,
          ok: false,
          error: error instanceof Error ? (error.stack ?? error.message) : String(error),
        };
      }
      process.send?.(answer);
    });
  });
}

/**
 * The AWS SDK warns on every Node 20 process that its 2027 releases will need Node 22; one
 * copy (the parent's) is enough. Every other warning still reaches stderr.
 */
export function quietNodeVersionWarning(): void {
  process.removeAllListeners("warning");
  process.on("warning", (warning) => {
    if (warning.name !== "NodeVersionSupportWarning") process.stderr.write(`${warning.name}: ${warning.message}\n`);
  });
}

export const MB = 1024 * 1024;

export function toMb(bytes: number): number {
  return Math.round((bytes / MB) * 10) / 10;
}
