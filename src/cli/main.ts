import { existsSync } from "node:fs";
import { Command, CommanderError, Option } from "commander";
import { CountingMetrics, consoleLog, type LogLevel } from "../adapters/observability.ts";
import { type LocalConfig, loadLocalConfig } from "../config.ts";
import { describeError, NotifierError, UsageError } from "../errors.ts";
import { runPollOnce, runStart } from "./poll.ts";
import { registerSubscriptionCommands } from "./subscriptions.ts";

/** Exit codes scripts can rely on. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export interface CliContext {
  config: () => LocalConfig;
  log: ReturnType<typeof consoleLog>;
  metrics: CountingMetrics;
  out: (line: string) => void;
  color: boolean;
}

function buildProgram(context: () => CliContext): Command {
  const program = new Command("respondent-notifier")
    .description("Slack alerts for new Respondent.io participant replies, exactly once.")
    .addOption(
      new Option("--log-level <level>", "log detail on stderr")
        .choices(["debug", "info", "warn", "error", "silent"])
        .default("info"),
    )
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();

  program
    .command("poll")
    .description("poll the Respondent API once and deliver the resulting alerts")
    .option("--once", "run one poll cycle, deliver its alerts, then exit")
    .option("--dry-run", "poll for real but write nothing and post nothing; show what would be alerted")
    .action(async (options: { once?: boolean; dryRun?: boolean }) => {
      if (!options.once)
        throw new UsageError("poll needs --once (use `respondent-notifier start` to poll continuously)");
      process.exitCode = await runPollOnce(context(), { dryRun: options.dryRun === true });
    });

  program
    .command("start")
    .description("poll every POLL_INTERVAL_SECONDS (default 60) and deliver alerts until stopped (Ctrl-C)")
    .action(async () => {
      process.exitCode = await runStart(context());
    });

  registerSubscriptionCommands(program, context);
  return program;
}

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  if (existsSync(".env")) process.loadEnvFile(".env");
  let built: CliContext | undefined;
  const program = buildProgram(() => {
    if (!built) {
      const level = (program.opts<{ logLevel: LogLevel }>().logLevel ?? "info") as LogLevel;
      let loaded: LocalConfig | undefined;
      built = {
        config: () => {
          loaded ??= loadLocalConfig(env);
          return loaded;
        },
        log: consoleLog({ level }),
        metrics: new CountingMetrics(),
        out: (line) => process.stdout.write(`${line}\n`),
        color: process.stdout.isTTY === true,
      };
    }
    return built;
  });
  try {
    await program.parseAsync(argv, { from: "user" });
    return typeof process.exitCode === "number" ? process.exitCode : EXIT_OK;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    process.stderr.write(`respondent-notifier: ${describeError(error)}\n`);
    if (error instanceof NotifierError && (error.code === "config_invalid" || error.code === "usage_invalid")) {
      return EXIT_USAGE;
    }
    return EXIT_FAILURE;
  }
}
