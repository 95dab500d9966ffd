import fc from "fast-check";
import { afterAll, describe, expect, inject, it } from "vitest";
import { createDynamoDbClient } from "../../src/adapters/dynamo/client.ts";
import { createSqsClient } from "../../src/adapters/sqs-queue.ts";
import { historyArbitrary, runsFor, seedOption, timeBox } from "../support/reliability/history.ts";
import { runHistory } from "../support/reliability/pipeline.ts";
import { ReliabilityStats } from "../support/reliability/stats.ts";

const raw = createDynamoDbClient({ tableName: "unused", region: "us-east-1", endpoint: inject("dynamodbEndpoint") });
const rawSqs = createSqsClient({ region: "us-east-1", endpoint: inject("sqsEndpoint") });
const clients = { dynamo: raw, sqs: rawSqs };
const stats = new ReliabilityStats("races");
const RUNS = runsFor(20);
const TIME_BOX = timeBox(RUNS * 10_000);

afterAll(() => {
  raw.destroy();
  rawSqs.destroy();
  stats.report();
});

describe("pollers and notifiers racing each other", () => {
  it(
    "two pollers at once, two notifiers taking the same events, polls overlapping a slow notifier and the API changing mid-walk: every due reply alerted once, in order, never twice",
    async () => {
      await fc.assert(
        fc.asyncProperty(historyArbitrary(), async (history) => {
          await runHistory(
            history,
            clients,
            { stats, pollers: 2, notifiers: 2, slackDelayMs: 25, mutateDuringPolls: true },
            { markedRepeatsAllowed: false },
          );
        }),
        { numRuns: RUNS, ...seedOption(), ...TIME_BOX.options },
      );
      // The races really happened: the ledger turned notifiers away, and pollers met each other's state writes.
      expect(stats.observed.AlertsSkippedDuplicate ?? 0).toBeGreaterThan(0);
      expect(stats.observed.StateConflicts ?? 0).toBeGreaterThan(0);
      expect(stats.duplicates).toBe(0);
    },
    TIME_BOX.testTimeoutMs,
  );
});
