import { createInterface } from "node:readline/promises";
import type { CountingMetrics } from "../adapters/observability.ts";
import { type OperatorPlatform, type OperatorPlatformOptions, openOperatorPlatform } from "../app/operator.ts";
import type { Env, LocalConfig, OperatorConfig } from "../config.ts";
import type { Log } from "../ports.ts";
import type { StatusLine } from "./progress.ts";

/** The terminal the CLI talks to; tests that run the CLI in-process pass their own. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  stdoutIsTTY: boolean;
  stderrIsTTY: boolean;
  stdinIsTTY: boolean;
  columns: number | undefined;
  /** Asks a yes/no question on the terminal; only called when stdinIsTTY. */
  confirm(question: string): Promise<boolean>;
}

export function processIo(): CliIo {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    stdoutIsTTY: process.stdout.isTTY === true,
    stderrIsTTY: process.stderr.isTTY === true,
    stdinIsTTY: process.stdin.isTTY === true,
    columns: process.stderr.columns,
    async confirm(question) {
      const terminal = createInterface({ input: process.stdin, output: process.stdout });
      try {
        return /^y(es)?$/i.test((await terminal.question(question)).trim());
      } finally {
        terminal.close();
      }
    },
  };
}

/** What every command gets: its configuration, its terminal, and where to open its platform. */
export interface CliContext {
  config: () => LocalConfig;
  operator: () => OperatorConfig;
  /** The environment the command runs with, for the config loaders of src/config.ts only. */
  env: () => Env;
  log: Log;
  metrics: CountingMetrics;
  /** A line of the command's result, on stdout. */
  out: (line: string) => void;
  /** A line for the operator that is not the result (prompts' context, hints), on stderr. */
  note: (line: string) => void;
  color: boolean;
  /** Progress of long-running work on stderr; silent with --log-level warn or higher. */
  progress: StatusLine;
  io: CliIo;
  setExitCode: (code: number) => void;
}

export type PlatformRequest = Omit<OperatorPlatformOptions, "log" | "metrics">;

/**
 * Opens what a command needs (this machine's stand-ins, or the deployed stack) with the
 * context's configuration, announces the embedded stand-ins it started, and closes it all after
 * `work`, however it ends.
 */
export async function withPlatform<T>(
  context: CliContext,
  request: PlatformRequest,
  work: (platform: OperatorPlatform) => Promise<T>,
): Promise<T> {
  const platform = await openOperatorPlatform(context.config(), context.operator(), {
    ...request,
    log: context.log,
    metrics: context.metrics,
  });
  try {
    for (const line of platform.embedded) context.log.info(`using embedded ${line}`);
    return await work(platform);
  } finally {
    await platform.close();
  }
}
