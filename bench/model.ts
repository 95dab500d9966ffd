import type { BundleFigures } from "./bundles.ts";
import type { BurstFigures } from "./burst.ts";
import type { CliRun } from "./cli-poll.ts";
import type { MonthlyCost } from "./cost.ts";
import type { BenchOptions } from "./options.ts";
import type { DeliveryFigures, PollFigures, SimulatorStats, SnapshotSaveFigures } from "./protocol.ts";

/** The benchmark's results, as written to the JSON file (bump `schema` on incompatible changes). */

export type Verdict = "PASS" | "MISS" | "n/a";

export type PhaseName =
  | "first"
  | "steady-warm"
  | "steady-warm-sequential"
  | "steady-cold"
  | "steady-cold-snapshot"
  | "new-replies";

/**
 * Phases that run src/ differently from the deployed poller, for comparison: scopes listed one
 * after another (scopeConcurrency 1, as before issue 6), and a cold start without a snapshot
 * (as before issue 6; deployed, only the very first container or an unreadable snapshot).
 */
export const COMPARISON_PHASES: readonly PhaseName[] = ["steady-warm-sequential", "steady-cold"];

export const PHASE_LABELS: Record<PhaseName, string> = {
  first: "first poll (baseline)",
  "steady-warm": "steady, warm",
  "steady-warm-sequential": "steady, warm, scopes in turn*",
  "steady-cold": "steady, cold, no snapshot*",
  "steady-cold-snapshot": "steady, cold + snapshot",
  "new-replies": "K new replies, warm",
};

export interface LowerBound {
  /** Sum over polled scopes of max(1, ceil(conversations / applied page size)). */
  pages: number;
  /** pages x latency / concurrency (the definition). */
  timeMs: number;
  /**
   * What scopes listed one after another (scopeConcurrency 1, as before issue 6) can reach at
   * best: each scope's first page must arrive (with totalResults) before its other pages can start.
   */
  scopeSequentialTimeMs: number;
}

export interface PhaseResult {
  phase: PhaseName;
  /** `comparison`: src/ run as it was before issue 6 (see COMPARISON_PHASES), not as deployed. */
  design: "deployed" | "comparison";
  api: SimulatorStats & { requestsPerSecond: number };
  /** The run with the median wall time (steady phases run `--repeat` times). */
  poll: PollFigures;
  runs: {
    wallMs: number[];
    /** Highest process maxRSS over the runs: the memory verdict uses it. */
    worstMaxRssMb: number;
    /** How busy the machine's cores were during each run, % (poller, simulator, DynamoDB Local, others). */
    machineBusyPercent: number[];
  };
  ratios: { pages: number; time: number };
  verdicts: {
    apiPages: Verdict;
    wallTime: Verdict;
    concurrency: Verdict;
    steadyDynamo: Verdict;
    memory: Verdict;
  };
  delivery?: DeliveryFigures;
}

/**
 * `respondent-notifier poll --once` as a user runs it, in fresh processes, on a table of its own
 * with one `*` subscription: a first run fills the table, then steady runs find nothing new.
 */
export interface CliPollResult {
  tableName: string;
  /** ceil(N / applied page size): the `*` subscription lists every conversation as one scope. */
  lowerBoundPages: number;
  subscribe: CliRun;
  first: CliRun;
  /** `--repeat` runs, each a fresh process; the simulator's figures are per run. */
  steady: Array<CliRun & { api: SimulatorStats }>;
  /** The highest read and write units of the steady runs: the verdict uses them. */
  worstReadUnits: number;
  worstWriteUnits: number;
  /** Every steady run exited 0, read <= N/100 units and wrote none. */
  verdict: Verdict;
}

export interface SizeResult {
  conversations: number;
  tableName: string;
  conversationsByProject: Record<string, number>;
  appliedPageSize: number;
  simulatorRssMb: number;
  lowerBound: LowerBound;
  repliesAdded: number;
  phases: PhaseResult[];
  snapshotSave: SnapshotSaveFigures;
  /** Absent above --cli-up-to. */
  cli: CliPollResult | undefined;
  /** `deployed`: cold starts load the snapshot; `noSnapshot`: every cold start reads N states. */
  cost: { deployed: MonthlyCost; noSnapshot: MonthlyCost };
  wallMs: number;
}

export interface BenchResults {
  schema: "respondent-notifier-bench/4";
  startedAt: string;
  finishedAt: string;
  machine: { node: string; platform: string; cpus: number; cpuModel: string; totalMemoryMb: number };
  commit: string | undefined;
  options: BenchOptions;
  targets: {
    timeRatio: number;
    steadyReadUnitsPerConversation: number;
    memoryMb: number;
    rateLimitShare: number;
  };
  bundles: BundleFigures[];
  sizes: SizeResult[];
  /** The Slack burst: delivered at Slack's pace, exactly once, nothing dead-lettered. */
  burst: BurstFigures | undefined;
}

export const TARGETS = {
  /** Wall time at most this times the latency lower bound. */
  timeRatio: 1.5,
  /** Steady-state read units per poll at most N times this (N/100). */
  steadyReadUnitsPerConversation: 0.01,
  /** Peak RSS of the poller process below this. */
  memoryMb: 256,
  /** "Far under" the API's rate limit: at most this share of it. */
  rateLimitShare: 0.5,
} as const;
