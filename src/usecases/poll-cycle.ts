import { describeError } from "../errors.ts";
import type { PollLease } from "../ports.ts";
import { type DigestTickPorts, queueDueDigests } from "./digest.ts";
import { errorObservation, type HealthMonitor, pollObservation } from "./health.ts";
import { type PollOptions, type PollPorts, type PollReport, poll } from "./poll.ts";
import type { SeenCacheSnapshots } from "./seen-snapshot.ts";

export interface PollCyclePorts {
  poll: PollPorts;
  /** Carries the seen-cache across processes: loaded before the first poll, saved when due. */
  snapshots: SeenCacheSnapshots;
  /** With an ops channel: health transitions are posted there. */
  health?: HealthMonitor | undefined;
  /** Queues the digests that are due; absent in a dry run. */
  digests?: DigestTickPorts | undefined;
  /**
   * The poll lease an entry point takes around a tick's cycles (see withPollLease in
   * ./poll-lease.ts); pollCycle itself does not touch it. Absent for a dry run (it writes nothing).
   */
  lease?: PollLease | undefined;
}

export type PollCycleResult = { report: PollReport; error?: undefined } | { report?: undefined; error: unknown };

/**
 * One poll as every entry point runs it (the poller Lambda, `poll --once`, `start`, the bench):
 * the first cycle of a process loads the seen-cache snapshot, so that a new process skips the
 * state reads of unchanged conversations; then the poll; then, unless it is a dry run (which
 * writes nothing), the snapshot is saved when due and the outcome goes into the poller's health.
 * Never throws: a poll that throws comes back as `error`.
 */
export async function pollCycle(ports: PollCyclePorts, options: PollOptions = {}): Promise<PollCycleResult> {
  await ports.snapshots.restoreOnce();
  let result: PollCycleResult;
  try {
    result = { report: await poll(ports.poll, options) };
  } catch (error) {
    ports.poll.log.error("poll failed", { reason: describeError(error) });
    result = { error };
  }
  if (options.dryRun) return result;
  if (ports.digests) await queueDueDigests(ports.digests);
  await ports.snapshots.saveIfDue();
  await ports.health?.observe(result.report ? pollObservation(result.report) : errorObservation(result.error));
  return result;
}

/** The reason a cycle left something for the next one, or undefined when it completed. */
export function firstProblem(result: PollCycleResult): string | undefined {
  if (result.report) return result.report.failures[0]?.reason;
  return describeError(result.error);
}
