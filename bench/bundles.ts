import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import { LAMBDA_BUNDLING, REPO_ROOT } from "../infra/constructs/service-function.ts";

/**
 * The Lambda bundles, built with esbuild exactly as the stack's NodejsFunction builds them
 * (LAMBDA_BUNDLING: ESM, minified, names kept, source map, AWS SDK bundled), then timed: how
 * long a fresh `node` takes to import each one, which is most of a cold start's init phase.
 */

export interface BundleFigures {
  name: string;
  entry: string;
  bytes: number;
  gzipBytes: number;
  sourceMapBytes: number;
  /** Packages contributing most bytes to the bundle. */
  largestPackages: Array<{ name: string; bytes: number }>;
  /** Median over the runs of `await import(bundle)` in a fresh node, ms. */
  importMs: number;
  /** The same with NODE_OPTIONS=--enable-source-maps, as the stack deploys it. */
  importWithSourceMapsMs: number;
  /** Median wall time of the whole `node` process (start, import, exit), ms. */
  processMs: number;
  /** Median wall time of an empty `node -e ""`, for comparison, ms. */
  emptyNodeMs: number;
  runs: number;
}

const RUNS = 5;

/** What Lambda provides, and stand-ins for what the stack fills in at deploy time (as test/infra/bundle.test.ts). */
const LAMBDA_ENVIRONMENT: Record<string, string> = {
  AWS_REGION: "us-east-1",
  AWS_ACCESS_KEY_ID: "AKIABENCH",
  AWS_SECRET_ACCESS_KEY: "bench",
  AWS_SESSION_TOKEN: "bench",
  AWS_LAMBDA_FUNCTION_NAME: "bench",
  POWERTOOLS_SERVICE_NAME: "bench",
  POWERTOOLS_METRICS_NAMESPACE: "RespondentNotifierBench",
  LOG_LEVEL: "INFO",
  TABLE_NAME: "RespondentNotifier-StateTable",
  RESPONDENT_SECRET_ARN: "arn:aws:secretsmanager:us-east-1:123456789012:secret:respondent-AbC123",
  SLACK_SECRET_ARN: "arn:aws:secretsmanager:us-east-1:123456789012:secret:slack-AbC123",
  QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/123456789012/RespondentNotifier-Events.fifo",
  DLQ_URL: "https://sqs.us-east-1.amazonaws.com/123456789012/RespondentNotifier-DeadLetters.fifo",
};

const ENTRIES = [
  { name: "poller", entry: "lambdas/poller/handler.ts" },
  { name: "notifier", entry: "lambdas/notifier/handler.ts" },
];

export async function measureBundles(): Promise<BundleFigures[]> {
  const outdir = mkdtempSync(join(tmpdir(), "bench-bundles-"));
  try {
    const figures: BundleFigures[] = [];
    const emptyNodeMs = median(Array.from({ length: RUNS }, () => timeProcess(["-e", ""], {}).wallMs));
    for (const { name, entry } of ENTRIES) {
      const outfile = join(outdir, name, "index.mjs");
      const result = await build({
        entryPoints: [resolve(REPO_ROOT, entry)],
        outfile,
        bundle: true,
        platform: "node",
        format: LAMBDA_BUNDLING.format === "esm" ? "esm" : "cjs",
        target: LAMBDA_BUNDLING.target,
        mainFields: [...LAMBDA_BUNDLING.mainFields],
        banner: { js: LAMBDA_BUNDLING.banner },
        minify: LAMBDA_BUNDLING.minify,
        keepNames: LAMBDA_BUNDLING.keepNames,
        sourcemap: LAMBDA_BUNDLING.sourceMap,
        sourcesContent: LAMBDA_BUNDLING.sourcesContent,
        external: LAMBDA_BUNDLING.bundleAwsSDK ? [] : ["@aws-sdk/*"],
        metafile: true,
        logLevel: "error",
      });
      const code = readFileSync(outfile);
      const output = Object.values(result.metafile.outputs).find((candidate) => candidate.entryPoint !== undefined);
      const byPackage = new Map<string, number>();
      for (const [input, { bytesInOutput }] of Object.entries(output?.inputs ?? {})) {
        const name = packageOf(input);
        byPackage.set(name, (byPackage.get(name) ?? 0) + bytesInOutput);
      }
      const url = pathToFileURL(outfile).href;
      const timed = (nodeOptions: string) =>
        Array.from({ length: RUNS }, () => timeImport(url, nodeOptions === "" ? {} : { NODE_OPTIONS: nodeOptions }));
      const plain = timed("");
      const withMaps = timed("--enable-source-maps");
      figures.push({
        name,
        entry,
        bytes: code.byteLength,
        gzipBytes: gzipSync(code).byteLength,
        sourceMapBytes: statSync(`${outfile}.map`).size,
        largestPackages: [...byPackage]
          .sort((a, b) => b[1] - a[1])
          .slice(0, 6)
          .map(([packageName, bytes]) => ({ name: packageName, bytes })),
        importMs: median(plain.map((run) => run.importMs)),
        importWithSourceMapsMs: median(withMaps.map((run) => run.importMs)),
        processMs: median(plain.map((run) => run.wallMs)),
        emptyNodeMs,
        runs: RUNS,
      });
    }
    return figures;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

function packageOf(input: string): string {
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
  return match?.[1] ?? "(this repository)";
}

const IMPORT_SCRIPT =
  "const t = performance.now(); const m = await import(process.argv[1]); const ms = performance.now() - t;" +
  " if (typeof m.handler !== 'function') process.exit(3); process.stdout.write(String(ms));";

function timeImport(url: string, extraEnv: Record<string, string>): { importMs: number; wallMs: number } {
  const run = timeProcess(["--input-type=module", "-e", IMPORT_SCRIPT, url], extraEnv);
  const importMs = Number(run.stdout);
  if (run.status !== 0 || !Number.isFinite(importMs)) {
    // The end of stderr names the error; its start is a line of minified code.
    throw new Error(`importing ${url} failed (exit ${run.status}): …${run.stderr.slice(-800)}`);
  }
  return { importMs: Math.round(importMs), wallMs: run.wallMs };
}

function timeProcess(
  args: string[],
  extraEnv: Record<string, string>,
): { status: number | null; stdout: string; stderr: string; wallMs: number } {
  const startedAt = performance.now();
  const child = spawnSync(process.execPath, args, {
    encoding: "utf8",
    timeout: 60_000,
    env: { PATH: process.env.PATH ?? "", ...LAMBDA_ENVIRONMENT, ...extraEnv },
  });
  return {
    status: child.status,
    stdout: child.stdout,
    stderr: child.stderr,
    wallMs: Math.round(performance.now() - startedAt),
  };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const value = sorted.length % 2 === 1 ? sorted[middle] : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
  return Math.round(value ?? 0);
}
