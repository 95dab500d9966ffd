import { execFileSync, fork, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import { build } from "esbuild";
import { CLOUDWATCH_METRICS, CountingMetrics, consoleLog } from "../src/adapters/observability.ts";
import { subscriptionStore } from "../src/app/compose.ts";
import { type LocalPlatform, openLocalPlatform } from "../src/app/local.ts";
import { loadLocalConfig } from "../src/config.ts";
import { asNotifierError } from "../src/errors.ts";
import { startDynamoDbLocal } from "../src/local/dynamodb-local.ts";
import { type FakeSlack, startFakeSlack } from "../src/local/fake-slack.ts";
import { startLocalSqs } from "../src/local/sqs-local.ts";
import { type BundleFigures, measureBundles } from "./bundles.ts";
import { type BurstFigures, measureBurst } from "./burst.ts";
import { cliRunner, measureCliPoll } from "./cli-poll.ts";
import { monthlyCost } from "./cost.ts";
import { type DynamoMeterProxy, startDynamoMeterProxy } from "./dynamo-meter.ts";
import { type BenchServices, benchEnvironment } from "./environment.ts";
import {
  type BenchResults,
  type CliPollResult,
  COMPARISON_PHASES,
  type LowerBound,
  PHASE_LABELS,
  type PhaseName,
  type PhaseResult,
  type SizeResult,
  TARGETS,
  type Verdict,
} from "./model.ts";
import { type BenchOptions, BURST_CHANNELS, parseOptions, USAGE } from "./options.ts";
import type {
  DeliveryFigures,
  PollerInit,
  PollerRequest,
  PollFigures,
  SimulatorReady,
  SimulatorRequest,
  SimulatorStats,
} from "./protocol.ts";
import { WorkerClient } from "./protocol.ts";
import { renderReport } from "./report.ts";

/**
 * `npm run bench`: the poller against the Respondent simulator, DynamoDB Local, the SQS
 * emulator and a fake Slack at N = 1,000 / 5,000 / 10,000 / 50,000 conversations, and
 * `respondent-notifier poll --once` itself in fresh processes. Not a test: it measures and
 * reports (table and JSON), and says which targets of issue 6 are met. See bench/README.md.
 */

const REGION = "us-east-1";
const REPO_ROOT = resolve(import.meta.dirname, "..");
/** The fake Slack's token (SLACK_BOT_TOKEN of the poller worker and of the CLI). */
const SLACK_TOKEN = "xoxb-bench-fake-slack";
const CLI_CHANNEL = "C0BENCHCLI1";

/** The services every N shares: started once by main(), in this process (none of them in a measured one). */
interface SharedServices {
  base: Omit<BenchServices, "simulator">;
  fakeSlack: FakeSlack;
  /** DynamoDB Local behind the counting proxy, for the CLI runs. */
  meter: DynamoMeterProxy;
  /** An empty folder: the CLI's working directory. */
  cliCwd: string;
}

function progress(line: string): void {
  process.stderr.write(`bench: ${line}\n`);
}

/** The two workers, bundled so that they run as plain Node (no TypeScript loader in the measured process). */
async function buildWorkers(outdir: string): Promise<{ poller: string; simulator: string }> {
  await build({
    entryPoints: {
      "poller-worker": join(REPO_ROOT, "bench", "poller-worker.ts"),
      "simulator-worker": join(REPO_ROOT, "bench", "simulator-worker.ts"),
    },
    outdir,
    outExtension: { ".js": ".mjs" },
    chunkNames: "chunks/[name]-[hash]",
    bundle: true,
    // The notifier side (bench/delivery.ts) is a chunk of its own, loaded only when alerts are delivered.
    splitting: true,
    platform: "node",
    format: "esm",
    target: "node20",
    banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
    logLevel: "error",
  });
  return { poller: join(outdir, "poller-worker.mjs"), simulator: join(outdir, "simulator-worker.mjs") };
}

function startWorker<Request>(name: string, script: string): WorkerClient<Request> {
  // --expose-gc only lets the worker measure what survives a poll, after the poll is timed.
  const child = fork(script, [], { stdio: ["ignore", "inherit", "inherit", "ipc"], execArgv: ["--expose-gc"] });
  return new WorkerClient<Request>(name, child);
}

function lowerBound(ready: SimulatorReady, options: BenchOptions): LowerBound {
  const pagesPerScope = Object.values(ready.conversationsByProject).map((count) =>
    Math.max(1, Math.ceil(count / ready.appliedPageSize)),
  );
  const pages = pagesPerScope.reduce((sum, value) => sum + value, 0);
  const rounds = pagesPerScope.reduce((sum, value) => sum + 1 + Math.ceil((value - 1) / options.concurrency), 0);
  return {
    pages,
    timeMs: Math.round((pages * options.latencyMs) / options.concurrency),
    scopeSequentialTimeMs: rounds * options.latencyMs,
  };
}

function machineCpuTimes(): { idle: number; total: number } {
  let idle = 0;
  let total = 0;
  for (const cpu of cpus()) {
    idle += cpu.times.idle;
    total += cpu.times.user + cpu.times.nice + cpu.times.sys + cpu.times.idle + cpu.times.irq;
  }
  return { idle, total };
}

/** How busy every core of the machine was (poller, simulator, DynamoDB Local and anything else). */
function busyPercentSince(before: { idle: number; total: number }): number {
  const after = machineCpuTimes();
  const total = after.total - before.total;
  return total > 0 ? Math.round(100 * (1 - (after.idle - before.idle) / total)) : 0;
}

function verdict(pass: boolean): Verdict {
  return pass ? "PASS" : "MISS";
}

function judge(
  phase: PhaseName,
  conversations: number,
  poll: PollFigures,
  api: SimulatorStats & { requestsPerSecond: number },
  bound: LowerBound,
  options: BenchOptions,
): Pick<PhaseResult, "ratios" | "verdicts"> {
  const steady = phase.startsWith("steady");
  const ratios = {
    pages: round2(api.requests / bound.pages),
    time: bound.timeMs > 0 ? round2(poll.wallMs / bound.timeMs) : 0,
  };
  return {
    ratios,
    verdicts: {
      apiPages: verdict(api.requests === bound.pages && api.repeatedPages === 0 && api.notOk === 0),
      wallTime: bound.timeMs > 0 ? verdict(ratios.time <= TARGETS.timeRatio) : "n/a",
      concurrency: verdict(
        api.maxConcurrentRequests <= options.concurrency &&
          api.requestsPerSecond <= options.rateLimit * TARGETS.rateLimitShare,
      ),
      steadyDynamo: steady
        ? verdict(
            poll.dynamo.readUnits <= conversations * TARGETS.steadyReadUnitsPerConversation &&
              poll.dynamo.writeUnits === 0,
          )
        : "n/a",
      memory: verdict(poll.memory.maxRssMb < TARGETS.memoryMb),
    },
  };
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

async function runSize(
  conversations: number,
  options: BenchOptions,
  workers: { poller: string; simulator: string },
  shared: SharedServices,
  runId: string,
): Promise<SizeResult> {
  const startedAt = performance.now();
  const tableName = `bench-${conversations}-${runId}`;
  const simulator = startWorker<SimulatorRequest>(`simulator (N=${conversations})`, workers.simulator);
  const pollers: Array<WorkerClient<PollerRequest>> = [];
  let admin: LocalPlatform | undefined;
  try {
    const ready = await simulator.call<SimulatorReady>({
      type: "init",
      init: {
        conversations,
        projects: options.projects,
        latencyMs: options.latencyMs,
        pageSizeCap: options.pageSizeCap,
        requestedPageSize: options.pageSize,
      },
    });
    const services: BenchServices = {
      ...shared.base,
      simulator: { url: ready.url, apiKey: ready.apiKey, apiSecret: ready.apiSecret },
    };
    const clientSettings = { pageSize: options.pageSize, concurrency: options.concurrency };
    const env = benchEnvironment(services, tableName, clientSettings);
    // The table and its subscriptions, as `respondent-notifier subscriptions add` would make them.
    admin = await openLocalPlatform(loadLocalConfig(env), {
      needs: {},
      log: consoleLog({ level: "warn" }),
      metrics: new CountingMetrics(),
    });
    // Subscribed after the simulator's generated history (which ends by 2026-01-01) and before the new replies.
    const subscriptions = subscriptionStore(admin);
    const createdAt = new Date(Date.now() - 1_000).toISOString();
    for (const [index, projectId] of ready.projectIds.entries()) {
      await subscriptions.add({
        projectId,
        channelId: `C0BENCH${String(index + 1).padStart(4, "0")}`,
        mentions: [],
        threadPerConversation: true,
        body: "full",
        paused: false,
        createdAt,
      });
    }
    const bound = lowerBound(ready, options);
    const init: PollerInit = { env, scopeConcurrency: options.scopeConcurrency };
    const newPoller = async (name: string) => {
      const worker = startWorker<PollerRequest>(`${name} poller (N=${conversations})`, workers.poller);
      pollers.push(worker);
      await worker.call({ type: "init", init });
      return worker;
    };

    const phases: PhaseResult[] = [];
    const measureOnce = async (
      phase: PhaseName,
      worker: WorkerClient<PollerRequest>,
      cycle: boolean,
      scopeConcurrency: number | undefined,
    ): Promise<PhaseResult> => {
      await simulator.call({ type: "clear" });
      const cpuBefore = machineCpuTimes();
      const poll = await worker.call<PollFigures>({ type: "poll", cycle, scopeConcurrency });
      const machineBusyPercent = busyPercentSince(cpuBefore);
      const stats = await simulator.call<SimulatorStats>({ type: "stats" });
      const api = {
        ...stats,
        requestsPerSecond: poll.wallMs > 0 ? Math.round((stats.requests / poll.wallMs) * 1000) : 0,
      };
      if (poll.report.failures > 0) {
        progress(`  ${phase}: ${poll.report.failures} failures, first: ${poll.report.firstFailure}`);
      }
      progress(
        `  N=${conversations.toLocaleString("en-US")} ${PHASE_LABELS[phase]}: ${poll.wallMs} ms, ${stats.requests} API requests, ` +
          `${poll.dynamo.readUnits} RCU / ${poll.dynamo.writeUnits} WCU, max RSS ${poll.memory.maxRssMb} MB`,
      );
      return {
        phase,
        design: COMPARISON_PHASES.includes(phase) ? "comparison" : "deployed",
        api,
        poll,
        runs: { wallMs: [poll.wallMs], worstMaxRssMb: poll.memory.maxRssMb, machineBusyPercent: [machineBusyPercent] },
        ...judge(phase, conversations, poll, api, bound, options),
      };
    };
    /**
     * Runs a phase `repeat` times (a fresh process each time when `fresh`) and keeps the run with
     * the median wall time; the memory verdict takes the worst run. The machine is shared with
     * the simulator and DynamoDB Local, so single runs vary.
     */
    const measure = async (
      phase: PhaseName,
      poller: () => Promise<WorkerClient<PollerRequest>>,
      how: { fresh: boolean; cycle: boolean; scopeConcurrency?: number; repeat: number },
    ): Promise<PhaseResult> => {
      const runs: PhaseResult[] = [];
      for (let run = 0; run < how.repeat; run += 1) {
        const worker = await poller();
        runs.push(await measureOnce(phase, worker, how.cycle, how.scopeConcurrency));
        if (how.fresh) await worker.close();
      }
      const byWall = [...runs].sort((a, b) => a.poll.wallMs - b.poll.wallMs);
      const median = byWall[Math.floor((byWall.length - 1) / 2)] ?? byWall[0];
      if (!median) throw new Error(`no run of ${phase}`);
      const worstMaxRssMb = Math.max(...runs.map((run) => run.poll.memory.maxRssMb));
      const result: PhaseResult = {
        ...median,
        runs: {
          wallMs: runs.map((run) => run.poll.wallMs),
          worstMaxRssMb,
          machineBusyPercent: runs.flatMap((run) => run.runs.machineBusyPercent),
        },
        verdicts: { ...median.verdicts, memory: verdict(worstMaxRssMb < TARGETS.memoryMb) },
      };
      phases.push(result);
      return result;
    };

    // Every phase run as deployed is a pollCycle(): the first one, on an empty table, also saves
    // the seen-cache snapshot that the cold starts then load.
    const warm = await newPoller("warm");
    const sameWarm = async () => warm;
    const first = await measure("first", sameWarm, { fresh: false, cycle: true, repeat: 1 });
    await measure("steady-warm", sameWarm, { fresh: false, cycle: true, repeat: options.repeat });
    await measure("steady-warm-sequential", sameWarm, {
      fresh: false,
      cycle: true,
      scopeConcurrency: 1,
      repeat: options.repeat,
    });
    await measure("steady-cold", () => newPoller("cold"), { fresh: true, cycle: false, repeat: options.repeat });
    await measure("steady-cold-snapshot", () => newPoller("cold+snapshot"), {
      fresh: true,
      cycle: true,
      repeat: options.repeat,
    });

    const saved = first.poll.snapshot.saved;
    const savedUnits = first.poll.dynamo.byOperation["snapshot.write"];
    if (!saved || !savedUnits) throw new Error(`N=${conversations}: the first poll cycle saved no seen-cache snapshot`);
    const snapshotSave = {
      wallMs: saved.durationMs,
      entries: saved.entries,
      parts: saved.parts,
      bytes: saved.bytes,
      requests: savedUnits.requests,
      writeUnits: round2(savedUnits.writeUnits),
    };

    let cli: CliPollResult | undefined;
    if (conversations <= options.cliUpTo) {
      // Its own table, reached through the counting proxy; the same simulator, queue emulator and fake Slack.
      const cliTable = `bench-cli-${conversations}-${runId}`;
      cli = await measureCliPoll({
        conversations,
        appliedPageSize: ready.appliedPageSize,
        tableName: cliTable,
        channelId: CLI_CHANNEL,
        repeat: options.repeat,
        runner: cliRunner({
          repoRoot: REPO_ROOT,
          env: benchEnvironment({ ...services, dynamoEndpoint: shared.meter.endpoint }, cliTable, clientSettings),
          cwd: shared.cliCwd,
          tableName: cliTable,
          meter: shared.meter,
        }),
        simulator: {
          clear: async () => {
            await simulator.call({ type: "clear" });
          },
          stats: () => simulator.call<SimulatorStats>({ type: "stats" }),
        },
        progress,
      });
    }

    const repliesAdded = await simulator.call<number>({ type: "replies", count: options.newReplies });
    const withReplies = await measure("new-replies", sameWarm, { fresh: false, cycle: true, repeat: 1 });
    const postsBefore = shared.fakeSlack.posts.length;
    const delivered = await warm.call<Omit<DeliveryFigures, "slackPosts">>({ type: "deliver" });
    withReplies.delivery = { ...delivered, slackPosts: shared.fakeSlack.posts.length - postsBefore };
    progress(`  alerts delivered: ${withReplies.delivery.alertsDelivered} of ${repliesAdded} replies`);

    const byPhase = (name: PhaseName) => phases.find((phase) => phase.phase === name);
    const costInput = (name: PhaseName) => {
      const phase = byPhase(name);
      return {
        readUnits: phase?.poll.dynamo.readUnits ?? 0,
        writeUnits: phase?.poll.dynamo.writeUnits ?? 0,
        wallMs: phase?.poll.wallMs ?? 0,
      };
    };
    const delivery = withReplies.delivery;
    const deliveryInput = {
      alerts: delivery.alertsDelivered,
      readUnits: delivery.dynamo.readUnits,
      writeUnits: delivery.dynamo.writeUnits,
      wallMs: delivery.wallMs,
      queueRequests: withReplies.poll.queueRequests,
    };
    // A month of polls emits the steady-state metrics every minute and the others whenever replies come in.
    // Only the alarmed counts are published as CloudWatch metrics (the others go to the logs).
    const metricNames = new Set(
      phases
        .filter((phase) => phase.phase !== "first")
        .flatMap((phase) => phase.poll.metricNames)
        .filter((name) => (CLOUDWATCH_METRICS as readonly string[]).includes(name)),
    ).size;
    return {
      conversations,
      tableName,
      conversationsByProject: ready.conversationsByProject,
      appliedPageSize: ready.appliedPageSize,
      simulatorRssMb: ready.rssMb,
      lowerBound: bound,
      repliesAdded,
      phases,
      snapshotSave,
      cli,
      cost: {
        deployed: monthlyCost({
          warm: costInput("steady-warm"),
          cold: costInput("steady-cold-snapshot"),
          coldStartsPerDay: options.coldStartsPerDay,
          metricNames,
          delivery: deliveryInput,
          snapshotSaveWriteUnits: snapshotSave.writeUnits,
        }),
        noSnapshot: monthlyCost({
          warm: costInput("steady-warm"),
          cold: costInput("steady-cold"),
          coldStartsPerDay: options.coldStartsPerDay,
          metricNames,
          delivery: deliveryInput,
          snapshotSaveWriteUnits: 0,
        }),
      },
      wallMs: Math.round(performance.now() - startedAt),
    };
  } finally {
    for (const poller of pollers) await poller.close();
    await simulator.close();
    await admin?.close();
  }
}

function gitCommit(): string | undefined {
  try {
    return execFileSync("git", ["rev-parse", "HEAD"], { cwd: REPO_ROOT, encoding: "utf8" }).trim();
  } catch {
    return undefined;
  }
}

async function main(): Promise<number> {
  let options: BenchOptions;
  try {
    const parsed = parseOptions(process.argv.slice(2));
    if (parsed === "help") {
      console.log(USAGE);
      return 0;
    }
    options = parsed;
  } catch (error) {
    const problem = asNotifierError(error);
    if (problem.code !== "usage_invalid") throw error;
    process.stderr.write(`bench: ${problem.message}\n\n${USAGE}\n`);
    return problem.exitCode;
  }

  const startedAt = new Date();
  const runId = startedAt.getTime().toString(36);
  const scratch = mkdtempSync(join(tmpdir(), "bench-workers-"));
  try {
    let bundles: BundleFigures[] = [];
    if (!options.skipBundles) {
      progress("building and timing the Lambda bundles");
      bundles = await measureBundles();
    }
    const workers = await buildWorkers(scratch);
    const cliCwd = join(scratch, "cli");
    mkdirSync(cliCwd);
    progress("starting DynamoDB Local (in memory), the SQS emulator and a fake Slack");
    const dynamo = await startDynamoDbLocal({ log: (line) => progress(line) });
    const stops: Array<() => Promise<void>> = [() => dynamo.stop()];
    const sizes: SizeResult[] = [];
    let burst: BurstFigures | undefined;
    try {
      const sqs = await startLocalSqs();
      stops.push(() => sqs.stop());
      const fakeSlack = await startFakeSlack({ token: SLACK_TOKEN, acceptAnyChannel: true });
      stops.push(() => fakeSlack.close());
      const meter = await startDynamoMeterProxy(dynamo.endpoint);
      stops.push(() => meter.close());
      const shared: SharedServices = {
        base: {
          region: REGION,
          dynamoEndpoint: dynamo.endpoint,
          sqsEndpoint: sqs.endpoint,
          slack: { apiUrl: `${fakeSlack.url}/api/`, token: SLACK_TOKEN },
        },
        fakeSlack,
        meter,
        cliCwd,
      };
      for (const conversations of options.sizes) {
        progress(`N=${conversations.toLocaleString("en-US")} conversations over ${options.projects} projects`);
        sizes.push(await runSize(conversations, options, workers, shared, runId));
      }
      if (options.burst > 0) {
        progress(
          `a burst of ${options.burst} replies to ${BURST_CHANNELS} channels, delivered at Slack's pace (about ${Math.ceil(options.burst / BURST_CHANNELS)} s)`,
        );
        burst = await measureBurst({
          replies: options.burst,
          channels: BURST_CHANNELS,
          dynamoEndpoint: dynamo.endpoint,
          sqsEndpoint: sqs.endpoint,
          tableName: `bench-burst-${runId}`,
        });
      }
    } finally {
      for (const stop of stops.reverse()) await stop();
    }

    const results: BenchResults = {
      schema: "respondent-notifier-bench/4",
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      machine: {
        node: process.version,
        platform: `${process.platform}-${process.arch}`,
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model ?? "unknown",
        totalMemoryMb: Math.round(totalmem() / 1024 / 1024),
      },
      commit: gitCommit(),
      options,
      targets: { ...TARGETS },
      bundles,
      sizes,
      burst,
    };
    console.log(renderReport(results));
    const out = resolve(options.out);
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
    progress(`figures written to ${out}`);
    // The whole bill (every service, alarms and logs included) is bench/bill.ts's: the table above
    // prices only what these polls measured.
    console.log("\nThe monthly bill of the deployed stack, everything included (npm run bench:cost):\n");
    const bill = spawnSync(process.execPath, [resolve("bin/run-ts.mjs"), resolve("bench/bill.ts")], {
      stdio: ["ignore", "inherit", "inherit"],
    });
    // Like every figure here, a bill over budget is printed as MISS, not failed on.
    return bill.error ? 1 : 0;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

process.exitCode = await main();
