import { existsSync } from "node:fs";
import { Command, CommanderError, Option } from "commander";
import { CountingMetrics, consoleLog, type LogLevel } from "../adapters/observability.ts";
import { type Env, type LocalConfig, loadLocalConfig, loadOperatorConfig, type OperatorConfig } from "../config.ts";
import { asNotifierError, describeError, EXIT_OK, EXIT_USAGE, UsageError } from "../errors.ts";
import { type CliContext, type CliIo, processIo } from "./context.ts";
import { registerConversationCommands } from "./conversations.ts";
import { registerDeadLetterCommands } from "./dlq.ts";
import { registerDoctorCommand } from "./doctor.ts";
import { runPollOnce, runStart } from "./poll.ts";
import { createStatusLine } from "./progress.ts";
import { registerSecretCommands } from "./secret.ts";
import { registerSubscriptionCommands } from "./subscriptions.ts";
import { registerWebhookCommands } from "./webhook.ts";

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
    .option("--full", "list every conversation (a sweep) even when the messages feed would do")
    .action(async (options: { once?: boolean; dryRun?: boolean; full?: boolean }) => {
      if (!options.once)
        throw new UsageError("poll needs --once (use `respondent-notifier start` to poll continuously)");
      const ctx = context();
      ctx.setExitCode(await runPollOnce(ctx, { dryRun: options.dryRun === true, full: options.full === true }));
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
  registerConversationCommands(program, context);
  registerSecretCommands(program, context);
  registerWebhookCommands(program, context);
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
        env: () => env,
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
    return asNotifierError(error).exitCode;
  }
}
