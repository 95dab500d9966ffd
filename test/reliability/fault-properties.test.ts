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
const RUNS = runsFor(25);
const TIME_BOX = timeBox(RUNS * 10_000);

afterAll(() => {
  raw.destroy();
  rawSqs.destroy();
  stats.report();
});

/**
 * Faults at every step while the history plays: the Respondent API failing for a while (429 with
 * and without Retry-After, 500/502/503, timeouts, 401, a non-JSON body), DynamoDB throttling and
 * lost answers on any request (state, queue, ledger, threads, subscriptions), conditional-check
 * conflicts from a concurrent writer, queue sends refused (sometimes part-way), Slack 429, 5xx,
 * timeouts and "accepted, then 500". Then the faults stop and the pipeline runs until quiet.
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
    "once the faults stop, still alert every due reply in every channel in order, never alert anything else, alert nothing on a re-poll and never move the state backwards; any repeat carries the may-repeat marker",
    async () => {
      await fc.assert(
        fc.asyncProperty(historyArbitrary(), async (history) => {
          await runHistory(history, clients, { stats, faults: FAULTS }, { markedRepeatsAllowed: true });
        }),
        { numRuns: RUNS, ...seedOption(), ...TIME_BOX.options },
      );
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
});
