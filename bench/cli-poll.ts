import { spawn } from "node:child_process";
import { join } from "node:path";
import type { DynamoMeterProxy } from "./dynamo-meter.ts";
import { type CliPollResult, TARGETS } from "./model.ts";
import type { DynamoFigures, SimulatorStats } from "./protocol.ts";

/**
 * `respondent-notifier poll --once` itself, each run a fresh process (`node
 * bin/respondent-notifier.mjs`, tsx compiling the sources as a user's run does), against the
 * bench's simulator, SQS emulator and fake Slack, and DynamoDB Local behind the counting proxy
 * (bench/dynamo-meter.ts): the CLI takes no hook, so its units are counted on the wire.
 */

const CLI_TIMEOUT_MS = 15 * 60_000;
/** Lines of a failed run's output kept in the JSON. */
const TAIL_LINES = 15;

export interface CliRun {
  args: string[];
  exitCode: number;
  /** Process start to exit: Node and tsx start-up, compiling the sources, opening the platform, the cycle, the drain. */
  wallMs: number;
  dynamo: DynamoFigures;
  /** The CLI's last stdout line (the poll summary). */
  summary: string | undefined;
  /** The CLI's own "seen-cache snapshot loaded" log line (stderr, at the default log level). */
  snapshotLoaded: string | undefined;
  /** The end of stdout and stderr, kept when the run failed. */
  outputTail: string[] | undefined;
}

export interface CliRunner {
  run(args: string[]): Promise<CliRun>;
}

/**
 * `env` is the whole environment of the child (nothing is inherited but PATH and HOME, so no
 * AWS profile or NOTIFIER_TARGET of the caller leaks in); `cwd` is an empty folder, so no
 * developer's .env is loaded.
 */
export function cliRunner(options: {
  repoRoot: string;
  env: Record<string, string>;
  cwd: string;
  tableName: string;
  meter: DynamoMeterProxy;
}): CliRunner {
  const entry = join(options.repoRoot, "bin", "respondent-notifier.mjs");
  const env: Record<string, string> = { ...options.env, NO_COLOR: "1" };
  for (const name of ["PATH", "HOME", "TMPDIR"]) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return {
    async run(args) {
      options.meter.take(options.tableName);
      const startedAt = performance.now();
      const child = spawn(process.execPath, [entry, ...args], { cwd: options.cwd, env, stdio: "pipe" });
      const stdout: string[] = [];
      const stderr: string[] = [];
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => stdout.push(chunk));
      child.stderr.setEncoding("utf8").on("data", (chunk: string) => stderr.push(chunk));
      const timer = setTimeout(() => child.kill("SIGKILL"), CLI_TIMEOUT_MS);
      const exitCode = await new Promise<number>((resolve, reject) => {
        child.once("error", reject);
        child.once("close", (code, signal) => resolve(code ?? (signal ? 128 : 1)));
      });
      clearTimeout(timer);
      const wallMs = Math.round(performance.now() - startedAt);
      const outLines = lines(stdout);
      const errLines = lines(stderr);
      return {
        args,
        exitCode,
        wallMs,
        dynamo: options.meter.take(options.tableName),
        summary: outLines.at(-1),
        snapshotLoaded: errLines.find((line) => line.includes("seen-cache snapshot loaded")),
        outputTail: exitCode === 0 ? undefined : [...outLines, ...errLines].slice(-TAIL_LINES),
      };
    },
  };
}

function lines(chunks: string[]): string[] {
  return chunks
    .join("")
    .split("\n")
    .map((line) => line.trimEnd())
    .filter((line) => line !== "");
}

export interface CliPollPlan {
  conversations: number;
  appliedPageSize: number;
  tableName: string;
  channelId: string;
  repeat: number;
  runner: CliRunner;
  simulator: { clear(): Promise<void>; stats(): Promise<SimulatorStats> };
  progress(line: string): void;
}

/**
 * Subscribes `*` to one channel, runs a first `poll --once` (it writes every conversation's
 * state and the seen-cache snapshot), then `repeat` steady ones: nothing new, each a fresh
 * process that loads the snapshot.
 */
export async function measureCliPoll(plan: CliPollPlan): Promise<CliPollResult> {
  const n = plan.conversations.toLocaleString("en-US");
  const subscribe = await plan.runner.run([
    "--log-level",
    "warn",
    "subscriptions",
    "add",
    "--project",
    "*",
    "--channel",
    plan.channelId,
  ]);
  const first = await plan.runner.run(["poll", "--once"]);
  plan.progress(`  N=${n} CLI first poll --once: ${describe(first)}`);
  const steady: CliPollResult["steady"] = [];
  for (let run = 0; run < plan.repeat; run += 1) {
    await plan.simulator.clear();
    const result = await plan.runner.run(["poll", "--once"]);
    steady.push({ ...result, api: await plan.simulator.stats() });
    plan.progress(`  N=${n} CLI steady poll --once: ${describe(result)}`);
  }
  const worstReadUnits = Math.max(...steady.map((run) => run.dynamo.readUnits));
  const worstWriteUnits = Math.max(...steady.map((run) => run.dynamo.writeUnits));
  const passed =
    [subscribe, first, ...steady].every((run) => run.exitCode === 0) &&
    worstReadUnits <= plan.conversations * TARGETS.steadyReadUnitsPerConversation &&
    worstWriteUnits === 0;
  return {
    tableName: plan.tableName,
    lowerBoundPages: Math.max(1, Math.ceil(plan.conversations / plan.appliedPageSize)),
    subscribe,
    first,
    steady,
    worstReadUnits,
    worstWriteUnits,
    verdict: passed ? "PASS" : "MISS",
  };
}

function describe(run: CliRun): string {
  const exit = run.exitCode === 0 ? "" : `, exit ${run.exitCode}: ${run.outputTail?.join(" | ")}`;
  return `${run.wallMs} ms, ${run.dynamo.readUnits} RCU / ${run.dynamo.writeUnits} WCU${exit}`;
}
