import fc from "fast-check";
import { ALL_PROJECTS, type Author, type History, PROJECT_IDS, type Step } from "./world.ts";

/**
 * Generated histories. Time moves forward at every step (1 ms to 20 s), so "created before the
 * subscription" and "created after it" are never the same instant; same-millisecond messages in
 * different conversations still happen. Subscriptions appear at any point, for one project or
 * for every project (`*`), sometimes several to the same channel.
 */

const author: fc.Arbitrary<Author> = fc.constantFrom<Author>(
  "participant",
  "participant",
  "participant",
  "researcher",
  "researcher",
  "anonymous",
);
const advance = fc.integer({ min: 1, max: 20_000 });
const project = fc.integer({ min: 0, max: PROJECT_IDS.length - 1 });
const channel = fc.integer({ min: 0, max: 2 });

const subscribe = fc.record({
  kind: fc.constant("subscribe" as const),
  // Project 2 is subscribed only through `*`: its messages test "no alert for an unsubscribed project".
  project: fc.oneof(fc.constantFrom(0, 1), fc.constant(ALL_PROJECTS)),
  channel,
  advanceMs: advance,
});

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 14,
    arbitrary: fc.record({ kind: fc.constant("message" as const), conversation: fc.nat(), author, advanceMs: advance }),
  },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("open" as const), project, author, advanceMs: advance }) },
  { weight: 6, arbitrary: fc.constant({ kind: "poll" as const }) },
  { weight: 1, arbitrary: subscribe },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("delete" as const), conversation: fc.nat(), remove: fc.boolean() }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("reorder" as const),
      order: fc.oneof(
        fc.constant({ kind: "created" as const }),
        fc.constant({ kind: "updated-desc" as const }),
        fc.record({ kind: fc.constant("random" as const), seed: fc.nat() }),
      ),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("pageCap" as const), cap: fc.integer({ min: 1, max: 4 }) }) },
);

export interface HistoryShape {
  minSteps?: number;
  maxSteps?: number;
}

export function historyArbitrary(shape: HistoryShape = {}): fc.Arbitrary<History> {
  return fc
    .record({
      prelude: fc.array(fc.record({ project, authors: fc.array(author, { minLength: 1, maxLength: 4 }) }), {
        maxLength: 4,
      }),
      firstSubscriptions: fc.array(subscribe, { minLength: 1, maxLength: 3 }),
      steps: fc.array(step, { minLength: shape.minSteps ?? 8, maxLength: shape.maxSteps ?? 28 }),
      pageCap: fc.integer({ min: 1, max: 4 }),
      includeTotal: fc.boolean(),
      shuffleWithinPage: fc.boolean(),
      seed: fc.integer(),
    })
    .map(({ firstSubscriptions, steps, ...rest }) => ({
      ...rest,
      // A poll before any subscription covers "first deploy"; the subscriptions come next.
      steps: [{ kind: "poll" as const }, ...firstSubscriptions, ...steps, { kind: "poll" as const }],
    }));
}

/** How many histories each property generates; RELIABILITY_RUNS raises it for a soak run. */
export function runsFor(defaultRuns: number): number {
  const configured = Number(process.env.RELIABILITY_RUNS);
  return Number.isInteger(configured) && configured > 0 ? configured : defaultRuns;
}

/**
 * RELIABILITY_SEED (with RELIABILITY_PATH) replays a reported failure (fast-check prints both);
 * RELIABILITY_NO_SHRINK=1 reports the first failing history as found, without shrinking it
 * (each shrinking step replays a whole history, which is slow when faults are injected).
 */
export function seedOption(): { seed?: number; path?: string; endOnFailure?: boolean } {
  const seed = Number(process.env.RELIABILITY_SEED);
  return {
    ...(Number.isInteger(seed) && process.env.RELIABILITY_SEED ? { seed } : {}),
    ...(process.env.RELIABILITY_PATH ? { path: process.env.RELIABILITY_PATH } : {}),
    ...(process.env.RELIABILITY_NO_SHRINK === "1" ? { endOnFailure: true } : {}),
  };
}

/**
 * A property test's time box. fast-check stops after `timeLimitMs` (abandoning the history in
 * flight) and reports what it has: a failure, shrunk as far as the time allowed, or, had no
 * failure been found by then, the interruption itself, so that running out of time never
 * passes with fewer histories. Shrinking a fault history replays it each time, so without this
 * a failure could shrink until the test's timeout and its message was never printed.
 * `testTimeoutMs` is the vitest timeout: the time box plus a margin for reporting and teardown.
 */
export function timeBox(timeLimitMs: number): {
  options: { interruptAfterTimeLimit: number; markInterruptAsFailure: true };
  testTimeoutMs: number;
} {
  return {
    options: { interruptAfterTimeLimit: timeLimitMs, markInterruptAsFailure: true },
    testTimeoutMs: timeLimitMs + 30_000,
  };
}
