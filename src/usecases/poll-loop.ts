/**
 * Polling more often than EventBridge Scheduler's one-minute minimum: each scheduled
 * invocation polls at 0, i, 2i, ... seconds of its minute and returns before the next one is
 * due. Extra polls are cheap on a warm container, whose SeenCache skips every unchanged
 * conversation, and the poll lease (./poll-lease.ts) keeps loops from overlapping.
 */

/** The schedule's period in looping mode: one invocation covers one minute. */
export const POLL_LOOP_WINDOW_MS = 60_000;

/**
 * A poll is started only when at least this long is left before the Lambda timeout. A warm
 * poll of a few pages takes well under a second; one that needs more than this is already in
 * trouble, and the next invocation starts over from the stored state anyway.
 */
export const POLL_TIME_RESERVE_MS = 8_000;

export interface PollLoopOptions {
  /** Time between poll starts; at least the window means one poll per invocation. */
  intervalMs: number;
  windowMs?: number;
  reserveMs?: number;
  /** Time left before the invocation is stopped (Lambda: context.getRemainingTimeInMillis). */
  remainingMs: () => number;
  /** Milliseconds on any fixed scale (Date.now in production). */
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  /** Told when polls are left out because the deadline is too close. */
  onStop?: (info: { polls: number; reason: "deadline" }) => void;
}

/**
 * Runs `pollOnce` at the start and then at each interval within the window, never starting
 * one with less than `reserveMs` left. A poll that overruns its slot makes the loop skip to
 * the next slot still ahead, so polls never run back to back and their number stays bounded.
 * Returns each poll's result in order; `pollOnce` is expected to handle its own errors.
 */
export async function pollRepeatedly<T>(
  pollOnce: (index: number) => Promise<T>,
  options: PollLoopOptions,
): Promise<T[]> {
  const windowMs = options.windowMs ?? POLL_LOOP_WINDOW_MS;
  const reserveMs = options.reserveMs ?? POLL_TIME_RESERVE_MS;
  const interval = Math.max(1, options.intervalMs);
  const start = options.now();
  const results: T[] = [];

  results.push(await pollOnce(0));
  for (;;) {
    const elapsed = options.now() - start;
    const slot = Math.floor(elapsed / interval) + 1;
    const offset = slot * interval;
    if (offset >= windowMs) return results;
    const wait = offset - elapsed;
    if (options.remainingMs() - wait < reserveMs) {
      options.onStop?.({ polls: results.length, reason: "deadline" });
      return results;
    }
    await options.sleep(wait);
    results.push(await pollOnce(results.length));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
