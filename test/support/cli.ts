import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { inject } from "vitest";

const BIN = fileURLToPath(new URL("../../bin/respondent-notifier.mjs", import.meta.url));

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Environment variables that must not leak from the developer's shell into a CLI test. */
const CLEARED = [
  "RESPONDENT_API_URL",
  "RESPONDENT_API_KEY",
  "RESPONDENT_API_SECRET",
  "SLACK_BOT_TOKEN",
  "SLACK_API_URL",
  "DYNAMODB_ENDPOINT",
  "SQS_ENDPOINT",
  "TABLE_NAME",
  "POLL_INTERVAL_SECONDS",
  "CONVERSATION_URL_TEMPLATE",
  "NOTIFIER_TARGET",
  "DLQ_URL",
  "RESPONDENT_SECRET_ARN",
  "SLACK_SECRET_ARN",
  "OPS_SLACK_CHANNEL",
  "HTTP_PORT",
  "SLACK_SIGNING_SECRET",
  "SLACK_ADMIN_USERS",
];

/**
 * The developer's shell without the variables above, pointed at the run's DynamoDB Local and SQS
 * emulator (test/support/global-setup.ts), so that no CLI test starts emulators of its own or
 * writes into .data/. A test that wants an embedded one says so with an empty value.
 */
function cleanEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1" };
  for (const name of CLEARED) delete base[name];
  // `start` serves HTTP: a free port, never the default 3000 another run may hold.
  return { ...base, HTTP_PORT: "0", ...runServices(), ...env };
}

/** The run's shared DynamoDB Local and SQS emulator, as the CLI's settings. */
export function runServices(): { DYNAMODB_ENDPOINT: string; SQS_ENDPOINT: string } {
  return { DYNAMODB_ENDPOINT: inject("dynamodbEndpoint"), SQS_ENDPOINT: inject("sqsEndpoint") };
}

/**
 * The time budget of a test (or hook) that runs the CLI several times: each run starts Node and
 * tsx and connects to the emulators, which takes seconds on a busy machine.
 */
export const CLI_TEST_TIMEOUT_MS = 180_000;

/** Runs the real CLI (bin/respondent-notifier.mjs) as a user would, in a child process. */
export function runCli(
  args: string[],
  env: Record<string, string>,
  options: { timeoutMs?: number; stopWhen?: (stdout: string) => boolean } = {},
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: cleanEnv(env), stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let stopped = false;
    const stop = () => {
      if (!stopped) {
        stopped = true;
        child.kill("SIGINT");
      }
    };
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      if (options.stopWhen?.(stdout)) stop();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const killTimer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`CLI ${args.join(" ")} did not finish in time\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, options.timeoutMs ?? 60_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(killTimer);
      resolve({ code, stdout, stderr });
    });
  });
}

export interface RunningCli {
  /** Resolves with the first match of `pattern` in stdout, then stderr (waiting for it), or rejects when the CLI exits first. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  readonly stdout: string;
  readonly stderr: string;
  /** Ctrl-C, then the exit code. */
  stop(): Promise<number | null>;
}

/** Starts the real CLI and keeps it running while the test talks to it (e.g. `start`'s HTTP server). */
export function startCli(args: string[], env: Record<string, string>): RunningCli {
  const child = spawn(process.execPath, [BIN, ...args], { env: cleanEnv(env), stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  let exitCode: number | null | undefined;
  const listeners = new Set<() => void>();
  const notify = () => {
    for (const listener of [...listeners]) listener();
  };
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
    notify();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
    notify();
  });
  const exited = new Promise<number | null>((resolve) =>
    child.on("close", (code) => {
      exitCode = code;
      notify();
      resolve(code);
    }),
  );
  return {
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    waitFor(pattern, timeoutMs = 90_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`no ${pattern} in the CLI's output in time\nstdout: ${stdout}\nstderr: ${stderr}`));
        }, timeoutMs);
        const check = () => {
          const match = stdout.match(pattern) ?? stderr.match(pattern);
          if (match || exitCode !== undefined) {
            listeners.delete(check);
            clearTimeout(timer);
            if (match) resolve(match);
            else
              reject(new Error(`the CLI exited (${exitCode}) before ${pattern}\nstdout: ${stdout}\nstderr: ${stderr}`));
          }
        };
        listeners.add(check);
        check();
      });
    },
    async stop() {
      if (exitCode === undefined) child.kill("SIGINT");
      const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
