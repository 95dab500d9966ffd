import { existsSync } from "node:fs";
import { createInterface } from "node:readline/promises";
import { Command, CommanderError, Option } from "commander";
import { CountingMetrics, consoleLog, type LogLevel } from "../adapters/observability.ts";
import { type Env, type LocalConfig, loadLocalConfig, loadOperatorConfig, type OperatorConfig } from "../config.ts";
import { describeError, NotifierError, UsageError } from "../errors.ts";
import type { Log } from "../ports.ts";
import { registerDeadLetterCommands } from "./dlq.ts";
import { registerDoctorCommand } from "./doctor.ts";
import { runPollOnce, runStart } from "./poll.ts";
import { createStatusLine, type StatusLine } from "./progress.ts";
import { registerSubscriptionCommands } from "./subscriptions.ts";

/** Exit codes scripts can rely on. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

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

export interface CliContext {
  config: () => LocalConfig;
  operator: () => OperatorConfig;
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

function buildProgram(context: () => CliContext, io: CliIo): Command {
  const program = new Command("respondent-notifier")
    .description("Slack alerts for new Respondent.io participant replies, exactly once.")
    .addOption(
      new Option("--log-level <level>", "log detail on stderr (warn or higher also hides progress)")
        .choices(["debug", "info", "warn", "error", "silent"])
        .default("info"),
    )
    .configureOutput({ writeOut: (text) => io.stdout(text), writeErr: (text) => io.stderr(text) })
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();

  program
    .command("poll")
    .description("poll the Respondent API once and deliver the resulting alerts")
    .option("--once", "run one poll cycle, deliver its alerts, then exit")
    .option("--dry-run", "poll for real but write nothing and post nothing; show what would be alerted and where")
    .action(async (options: { once?: boolean; dryRun?: boolean }) => {
      if (!options.once)
        throw new UsageError("poll needs --once (use `respondent-notifier start` to poll continuously)");
      const ctx = context();
      ctx.setExitCode(await runPollOnce(ctx, { dryRun: options.dryRun === true }));
    });

  program
    .command("start")
    .description("poll every POLL_INTERVAL_SECONDS (default 60) and deliver alerts until stopped (Ctrl-C)")
    .action(async () => {
      const ctx = context();
      ctx.setExitCode(await runStart(ctx));
    });

  registerSubscriptionCommands(program, context);
  registerDoctorCommand(program, context);
  registerDeadLetterCommands(program, context);
  return program;
}

export async function main(argv: string[], env: Env = process.env, io: CliIo = processIo()): Promise<number> {
  // A developer's .env applies to the real process only, never to an environment passed in.
  if (env === process.env && existsSync(".env")) process.loadEnvFile(".env");
  let exitCode = EXIT_OK;
  let built: CliContext | undefined;
  const program = buildProgram(() => {
    if (!built) {
      const level = (program.opts<{ logLevel: LogLevel }>().logLevel ?? "info") as LogLevel;
      const progress = createStatusLine({
        write: (text) => io.stderr(text),
        isTTY: io.stderrIsTTY,
        enabled: level === "debug" || level === "info",
        columns: io.columns,
      });
      let loaded: LocalConfig | undefined;
      let operator: OperatorConfig | undefined;
      built = {
        config: () => {
          loaded ??= loadLocalConfig(env);
          return loaded;
        },
        operator: () => {
          operator ??= loadOperatorConfig(env);
          return operator;
        },
        log: consoleLog({ level, write: (line) => progress.around(() => io.stderr(`${line}\n`)) }),
        metrics: new CountingMetrics(),
        out: (line) => progress.around(() => io.stdout(`${line}\n`)),
        note: (line) => progress.around(() => io.stderr(`${line}\n`)),
        color: io.stdoutIsTTY && !env.NO_COLOR,
        progress,
        io,
        setExitCode: (code) => {
          exitCode = code;
        },
      };
    }
    return built;
  }, io);
  try {
    await program.parseAsync(argv, { from: "user" });
    return exitCode;
  } catch (error) {
    built?.progress.done();
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    io.stderr(`respondent-notifier: ${describeError(error)}\n`);
    if (error instanceof NotifierError && (error.code === "config_invalid" || error.code === "usage_invalid")) {
      return EXIT_USAGE;
    }
    return EXIT_FAILURE;
  }
}
