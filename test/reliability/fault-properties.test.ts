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
const stats = new ReliabilityStats("histories-with-faults");
const blindStats = new ReliabilityStats("histories-with-faults-without-history-scope");
const RUNS = runsFor(25);
const BLIND_RUNS = runsFor(10);
const TIME_BOX = timeBox(RUNS * 10_000);
const BLIND_TIME_BOX = timeBox(BLIND_RUNS * 10_000);

afterAll(() => {
  raw.destroy();
  rawSqs.destroy();
  stats.report();
  blindStats.report();
});

/**
 * Faults at every step while the history plays: the Respondent API failing for a while (429 with
 * and without Retry-After, 500/502/503, timeouts, 401, a non-JSON body), DynamoDB throttling and
 * lost answers on any request (state, queue, ledger, threads, subscriptions), conditional-check
 * conflicts from a concurrent writer, queue sends refused (sometimes part-way), Slack 429, 5xx,
 * timeouts, "accepted, then 500" and "accepted, then the connection dropped". Then the faults stop
 * and the pipeline runs until quiet.
 */
const FAULTS = {
  apiOutage: 0.3,
  dynamoThrottle: 0.02,
  dynamoLostResponse: 0.02,
  stateConflict: 0.15,
  queueSendFailure: 0.15,
  slackFault: 0.3,
};

describe("the real poller and notifier under injected faults", () => {
  it(
    "once the faults stop, still alert every due reply in every channel in order, exactly once and never marked (a retry after a lost answer reads the channel back), never alert anything else, alert nothing on a re-poll and never move the state backwards",
    async () => {
      await fc.assert(
        fc.asyncProperty(historyArbitrary(), async (history) => {
          await runHistory(history, clients, { stats, faults: FAULTS }, { markedRepeatsAllowed: false });
        }),
        { numRuns: RUNS, ...seedOption(), ...TIME_BOX.options },
      );
      expect(stats.duplicates).toBe(0);
      expect(stats.markedSingles).toBe(0);
      // Answers really were lost, and the read-back really found their posts.
      expect(
        (stats.faults["slack.accepted-then-500"] ?? 0) + (stats.faults["slack.accepted-then-drop"] ?? 0),
      ).toBeGreaterThan(0);
      expect(stats.observed.AlertsFoundOnReadBack ?? 0).toBeGreaterThan(0);
      // The faults must really have happened, of every kind, or the property proved little.
      for (const kind of [
        "api.",
        "dynamodb.throttled",
        "dynamodb.answer-lost",
        "dynamodb.conditional-conflict",
        "queue.send-failed",
        "slack.",
      ]) {
        expect(
          Object.keys(stats.faults).some((name) => name.startsWith(kind)),
          kind,
        ).toBe(true);
      }
    },
    TIME_BOX.testTimeoutMs,
  );

  it(
    "without the history scope, still alert every due reply exactly once without the marker, and any repeat after a lost answer carries the marker",
    async () => {
      await fc.assert(
        fc.asyncProperty(historyArbitrary(), async (history) => {
          await runHistory(
            history,
            clients,
            { stats: blindStats, faults: FAULTS, withoutHistoryScope: true },
            { markedRepeatsAllowed: true },
          );
        }),
        { numRuns: BLIND_RUNS, ...seedOption(), ...BLIND_TIME_BOX.options },
      );
      expect(blindStats.duplicates).toBe(blindStats.duplicatesMarked);
    },
    BLIND_TIME_BOX.testTimeoutMs,
  );
});
