import fc from "fast-check";
import { afterAll, describe, expect, inject, it } from "vitest";
import { createDynamoDbClient } from "../../src/adapters/dynamo/client.ts";
import { createSqsClient } from "../../src/adapters/sqs-queue.ts";
import { historyArbitrary, runsFor, seedOption, timeBox } from "../support/reliability/history.ts";
import { Pipeline, runHistory } from "../support/reliability/pipeline.ts";
import { ReliabilityStats } from "../support/reliability/stats.ts";
import type { History } from "../support/reliability/world.ts";

const raw = createDynamoDbClient({ tableName: "unused", region: "us-east-1", endpoint: inject("dynamodbEndpoint") });
const rawSqs = createSqsClient({ region: "us-east-1", endpoint: inject("sqsEndpoint") });
const clients = { dynamo: raw, sqs: rawSqs };
const randomStats = new ReliabilityStats("histories-with-crashes");
const sweepStats = new ReliabilityStats("crash-at-every-side-effect");
const blindSweepStats = new ReliabilityStats("crash-in-the-post-window-without-history-scope");
const RUNS = runsFor(25);
const TIME_BOX = timeBox(RUNS * 10_000);

afterAll(() => {
  raw.destroy();
  rawSqs.destroy();
  randomStats.report();
  sweepStats.report();
  blindSweepStats.report();
});

/**
 * Two replies from one participant, one researcher message between them and old history before
 * the subscriptions; two channels subscribed (one through `*`). One poll + notify cycle makes
 * about 30 side effects: API read, subscription and state reads, two queue sends, a state
 * write, and per alert a ledger claim, a thread read (and write), a Slack post, a ledger write,
 * then queue acks.
 */
const SCENARIO: History = {
  prelude: [{ project: 0, authors: ["researcher", "participant"] }],
  steps: [
    { kind: "subscribe", project: "*", channel: 0, advanceMs: 1_000 },
    { kind: "subscribe", project: 0, channel: 1, advanceMs: 1_000 },
    { kind: "message", conversation: 0, author: "participant", advanceMs: 1_000 },
    { kind: "message", conversation: 0, author: "researcher", advanceMs: 1_000 },
    { kind: "message", conversation: 0, author: "participant", advanceMs: 1_000 },
  ],
  pageCap: 2,
  includeTotal: true,
  shuffleWithinPage: false,
  seed: 7,
};

interface SweepResult {
  crashAfter: number;
  point: string;
  pendingAfterCrash: number;
  duplicates: number;
  markedSingles: number;
  violations: string[];
}

async function crashScenario(
  crashAfter: number | undefined,
  options: { withoutHistoryScope?: boolean } = {},
): Promise<SweepResult & { points: string[] }> {
  const stats = options.withoutHistoryScope ? blindSweepStats : sweepStats;
  const pipeline = await Pipeline.start(SCENARIO, raw, rawSqs, { stats, ...options });
  try {
    await pipeline.play(SCENARIO.steps);
    await pipeline.cycle(crashAfter === undefined ? {} : { crashAfter });
    const domain = pipeline.lastDomain;
    const points = domain?.points ?? [];
    const pendingAfterCrash = await pipeline.pendingCount();
    await pipeline.quiesce();
    await pipeline.repollUnchanged();
    const verdict = await pipeline.verdict({ markedRepeatsAllowed: options.withoutHistoryScope === true });
    return {
      crashAfter: crashAfter ?? 0,
      point: crashAfter === undefined ? "none" : (points[crashAfter - 1] ?? "?"),
      points,
      pendingAfterCrash,
      duplicates: verdict.duplicates,
      markedSingles: verdict.markedSingles,
      violations: verdict.violations,
    };
  } finally {
    await pipeline.close();
  }
}

/** After the k-th effect, is some alert posted to Slack but not yet recorded as posted in the ledger? */
function insideDuplicateWindow(points: readonly string[], crashAfter: number): boolean {
  let open = 0;
  for (const point of points.slice(0, crashAfter)) {
    if (point === "slack.post") open += 1;
    if (point === "ledger.markPosted") open -= 1;
  }
  return open > 0;
}

describe("a process killed between any two side effects", () => {
  it("loses no alert and repeats none, wherever it is killed: a retry reads the channel back and finds an alert the dead process posted", async () => {
    const clean = await crashScenario(undefined);
    expect(clean.violations).toEqual([]);
    expect(clean.duplicates).toBe(0);
    // The cycle really spans the side effects the issue names.
    for (const kind of [
      "api.read",
      "queue.send",
      "state.write",
      "ledger.claim",
      "slack.post",
      "ledger.markPosted",
      "queue.ack",
    ]) {
      expect(clean.points).toContain(kind);
    }

    const results: SweepResult[] = [];
    const crashPoints = clean.points.map((_, index) => index + 1);
    for (let start = 0; start < crashPoints.length; start += 3) {
      results.push(...(await Promise.all(crashPoints.slice(start, start + 3).map((k) => crashScenario(k)))));
    }

    for (const result of results) {
      const where = `crash after effect ${result.crashAfter} (${result.point})`;
      expect(result.violations, where).toEqual([]);
      expect(result.duplicates, `duplicates after a ${where}`).toBe(0);
      expect(result.markedSingles, `marked posts after a ${where}`).toBe(0);
    }
    // Queued alerts outlive the process that queued them.
    const afterFirstSend = results.find((result) => result.point === "queue.send");
    expect(afterFirstSend?.pendingAfterCrash).toBeGreaterThan(0);
    // Kills inside the post -> ledger window really left alerts that the retry had to find.
    const windows = results.filter((result) => insideDuplicateWindow(clean.points, result.crashAfter)).length;
    expect(windows).toBeGreaterThan(0);
    expect(sweepStats.observed.AlertsFoundOnReadBack ?? 0).toBeGreaterThanOrEqual(windows);

    console.log(
      `[reliability] crash sweep: ${results.length} crash points, ${windows} inside the post->ledger window, ` +
        `${results.reduce((sum, result) => sum + result.duplicates, 0)} duplicates, ` +
        `${results.reduce((sum, result) => sum + result.markedSingles, 0)} marked posts`,
    );
  }, 240_000);

  it("without the history scope, repeats an alert only when killed between Slack accepting it and the ledger recording it, and then visibly marked", async () => {
    const clean = await crashScenario(undefined, { withoutHistoryScope: true });
    const inWindow = clean.points
      .map((_, index) => index + 1)
      .filter((crashAfter) => insideDuplicateWindow(clean.points, crashAfter));
    expect(inWindow.length).toBeGreaterThan(0);

    const results: SweepResult[] = [];
    for (let start = 0; start < inWindow.length; start += 3) {
      results.push(
        ...(await Promise.all(
          inWindow.slice(start, start + 3).map((k) => crashScenario(k, { withoutHistoryScope: true })),
        )),
      );
    }
    for (const result of results) {
      const where = `crash after effect ${result.crashAfter} (${result.point})`;
      // The violations include any unmarked second post.
      expect(result.violations, where).toEqual([]);
      expect(result.duplicates, `duplicates after a ${where}`).toBe(1);
    }
  }, 240_000);
});

describe("the real poller and notifier killed at random points of generated histories", () => {
  it(
    "once restarted cold, alert every due reply in every channel exactly once and in order, nothing else, nothing on a re-poll, never moving the state backwards",
    async () => {
      await fc.assert(
        fc.asyncProperty(historyArbitrary(), async (history) => {
          await runHistory(
            history,
            clients,
            { stats: randomStats, faults: { crash: 0.5 } },
            { markedRepeatsAllowed: false },
          );
        }),
        { numRuns: RUNS, ...seedOption(), ...TIME_BOX.options },
      );
      // About half the cycles pick a crash point; a cycle shorter than its point finishes instead.
      expect(randomStats.crashTotal).toBeGreaterThan(RUNS / 2);
    },
    TIME_BOX.testTimeoutMs,
  );
});
