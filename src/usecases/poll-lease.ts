import { describeError } from "../errors.ts";
import type { Log, PollLease, PollLeaseHolder } from "../ports.ts";

/**
 * How long a tick of one poll (60-second polling) holds the lease: far more than a poll takes
 * (about 9 s at 50,000 conversations), and short enough that a tick which started up to 20 s
 * late has let go before the next scheduled one. A poll that outlasts it may overlap the next
 * tick, which is harmless. Below 60 s the lease is not used: the poll chain's own conditional
 * advance keeps its ticks single (./poll-chain.ts).
 */
export const SINGLE_POLL_LEASE_MS = 40_000;

export type LeasedRun<T> = { skipped: false; value: T } | { skipped: true; heldBy: PollLeaseHolder };

/**
 * Runs `run` (one tick's polls) while holding the poll lease until `until`, and ends the lease
 * after it unless `keepUntilEnd` (the Lambda: its lease ends with its timeout, before the next
 * scheduled tick, so one write a tick suffices and a late duplicate of the same tick skips too). When another tick holds it, `run` is not called: the tick skips. Without a lease (a
 * caller that has none) or when the table cannot be reached to take it, `run` runs anyway:
 * overlapping polls are safe (conditional state writes, the ledger), the lease only saves work,
 * and the poll itself then reports the table's trouble.
 */
export async function withPollLease<T>(
  lease: PollLease | undefined,
  options: { holder: string; until: Date; log: Log; keepUntilEnd?: boolean },
  run: () => Promise<T>,
): Promise<LeasedRun<T>> {
  if (!lease) return { skipped: false, value: await run() };
  let held = false;
  try {
    const taken = await lease.acquire(options.holder, options.until);
    if (!taken.acquired) return { skipped: true, heldBy: taken.heldBy };
    held = options.keepUntilEnd !== true;
  } catch (error) {
    options.log.warn("could not take the poll lease; polling anyway (an overlapping poll is harmless)", {
      reason: describeError(error),
    });
  }
  try {
    return { skipped: false, value: await run() };
  } finally {
    if (held) {
      await lease.release(options.holder).catch((error: unknown) =>
        // It runs out by itself at `until`.
        options.log.warn("could not release the poll lease", { reason: describeError(error) }),
      );
    }
  }
}

/** `another poll (holder …) holds the lease until 10:02:55 UTC` */
export function describeLeaseHolder(heldBy: PollLeaseHolder): string {
  return `another poll (${heldBy.holder}) holds the poll lease until ${heldBy.until.toISOString()}`;
}
