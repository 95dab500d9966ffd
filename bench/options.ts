import { join } from "node:path";
import { parseArgs } from "node:util";
import { UsageError } from "../src/errors.ts";

export interface BenchOptions {
  sizes: number[];
  projects: number;
  latencyMs: number;
  pageSizeCap: number;
  /** The page size the poller asks for (RESPONDENT_PAGE_SIZE; the stack sets 100). */
  pageSize: number;
  /** RespondentApiClient maxConcurrency (RESPONDENT_MAX_CONCURRENCY; the stack sets 4). */
  concurrency: number;
  /** poll()'s scopeConcurrency; undefined: its default, as deployed. */
  scopeConcurrency: number | undefined;
  newReplies: number;
  /** Runs of each steady-state phase; the median is reported. */
  repeat: number;
  /** The API's published rate limit, requests per second (production about 250). */
  rateLimit: number;
  /** Assumed Lambda cold starts a day, for the blended monthly cost. */
  coldStartsPerDay: number;
  out: string;
  quick: boolean;
  skipBundles: boolean;
  /** `respondent-notifier poll --once` itself runs at every N up to this (0: never). */
  cliUpTo: number;
  /** Replies of the Slack burst (spread over BURST_CHANNELS channels); 0: no burst. */
  burst: number;
}

/** The burst's replies are spread over this many channels (one project each). */
export const BURST_CHANNELS = 10;

const DEFAULT_SIZES = "1000,5000,10000,50000";

export const USAGE = `usage: npm run bench -- [options]

  --sizes <list>             conversation counts to run, comma separated (default ${DEFAULT_SIZES})
  --quick                    only 1,000 conversations: a smoke run (cannot be combined with --sizes)
  --projects <n>             projects the conversations are spread over, each one subscribed (default 5)
  --latency-ms <ms>          delay the simulator adds to every API request (default 50)
  --page-size-cap <n>        largest page size the simulated API applies (default 100)
  --page-size <n>            page size the poller asks for (default 100, as deployed)
  --concurrency <n>          API requests the poller keeps in flight, 1-64 (default 4, as deployed)
  --scope-concurrency <n>    projects the poller lists at once, 1-64 (default: poll()'s default, 8, as deployed)
  --new-replies <k>          participant replies added before the last poll (default 20)
  --repeat <n>               runs of each steady-state phase, the median is reported (default 3; 1 with --quick)
  --rate-limit <req/s>       the API's published rate limit, for the verdict and the README maths (default 250)
  --cold-starts-per-day <n>  assumed poller cold starts a day, for the blended cost (default 12)
  --skip-bundles             do not build and time the Lambda bundles
  --cli-up-to <n>            run \`respondent-notifier poll --once\` itself at every N up to this; 0: never (default 10000)
  --burst <n>                replies found by one poll and delivered to 10 channels at Slack's pace; 0: none (default 1000; 200 with --quick)
  --out <file>               where the JSON goes (default bench/results/<timestamp>.json)
  --help                     this text`;

function integer(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(value)) {
    throw new UsageError(`--${name}: "${raw}" is not a whole number`);
  }
  if (value < min || value > max) throw new UsageError(`--${name}: must be between ${min} and ${max}, got ${value}`);
  return value;
}

function sizes(raw: string): number[] {
  const parts = raw.split(",").map((part) => part.trim());
  if (parts.length === 0 || parts.some((part) => part === "")) {
    throw new UsageError(`--sizes: "${raw}" must be a comma-separated list like 1000,10000,50000`);
  }
  const values = parts.map((part) => integer("sizes", part, 0, 1, 1_000_000));
  if (new Set(values).size !== values.length) throw new UsageError(`--sizes: "${raw}" lists a size twice`);
  return values;
}

/** Parses and checks the flags; throws UsageError naming the flag that is wrong. */
export function parseOptions(argv: readonly string[], now = new Date()): BenchOptions | "help" {
  let values: ReturnType<typeof parse>["values"];
  try {
    values = parse(argv).values;
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  if (values.help) return "help";
  if (values.quick && values.sizes !== undefined) {
    throw new UsageError("--quick runs 1,000 conversations only: drop --sizes, or drop --quick");
  }
  const chosenSizes = values.quick ? [1_000] : sizes(values.sizes ?? DEFAULT_SIZES);
  const projects = integer("projects", values.projects, 5, 1, 100);
  const newReplies = integer("new-replies", values["new-replies"], 20, 0, 10_000);
  const smallest = Math.min(...chosenSizes);
  if (projects > smallest) {
    throw new UsageError(`--projects: ${projects} projects cannot each hold conversations at N = ${smallest}`);
  }
  if (newReplies > smallest) {
    throw new UsageError(
      `--new-replies: ${newReplies} replies need as many conversations; the smallest N is ${smallest}`,
    );
  }
  const stamp = now.toISOString().replace(/[:.]/g, "-");
  return {
    sizes: chosenSizes,
    projects,
    latencyMs: integer("latency-ms", values["latency-ms"], 50, 0, 10_000),
    pageSizeCap: integer("page-size-cap", values["page-size-cap"], 100, 1, 1_000),
    pageSize: integer("page-size", values["page-size"], 100, 1, 1_000),
    concurrency: integer("concurrency", values.concurrency, 4, 1, 64),
    scopeConcurrency:
      values["scope-concurrency"] === undefined
        ? undefined
        : integer("scope-concurrency", values["scope-concurrency"], 8, 1, 64),
    newReplies,
    repeat: integer("repeat", values.repeat, values.quick ? 1 : 3, 1, 15),
    rateLimit: integer("rate-limit", values["rate-limit"], 250, 1, 100_000),
    coldStartsPerDay: integer("cold-starts-per-day", values["cold-starts-per-day"], 12, 0, 1_440),
    out: values.out ?? join("bench", "results", `${stamp}.json`),
    quick: values.quick ?? false,
    skipBundles: values["skip-bundles"] ?? false,
    cliUpTo: integer("cli-up-to", values["cli-up-to"], 10_000, 0, 1_000_000),
    burst: integer("burst", values.burst, values.quick ? 200 : 1_000, 0, 100_000),
  };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      sizes: { type: "string" },
      quick: { type: "boolean" },
      burst: { type: "string" },
      projects: { type: "string" },
      "latency-ms": { type: "string" },
      "page-size-cap": { type: "string" },
      "page-size": { type: "string" },
      concurrency: { type: "string" },
      "scope-concurrency": { type: "string" },
      "new-replies": { type: "string" },
      repeat: { type: "string" },
      "rate-limit": { type: "string" },
      "cold-starts-per-day": { type: "string" },
      "skip-bundles": { type: "boolean" },
      "cli-up-to": { type: "string" },
      out: { type: "string" },
      help: { type: "boolean" },
    },
  });
}
