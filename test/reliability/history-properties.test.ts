import fc from "fast-check";
import { afterAll, describe, inject, it } from "vitest";
import { createDynamoDbClient } from "../../src/adapters/dynamo/client.ts";
import { createSqsClient } from "../../src/adapters/sqs-queue.ts";
import { historyArbitrary, runsFor, seedOption, timeBox } from "../support/reliability/history.ts";
import { runHistory } from "../support/reliability/pipeline.ts";
import { ReliabilityStats } from "../support/reliability/stats.ts";

const raw = createDynamoDbClient({ tableName: "unused", region: "us-east-1", endpoint: inject("dynamodbEndpoint") });
const rawSqs = createSqsClient({ region: "us-east-1", endpoint: inject("sqsEndpoint") });
const clients = { dynamo: raw, sqs: rawSqs };
const stats = new ReliabilityStats("histories-without-faults");
const RUNS = runsFor(30);
const TIME_BOX = timeBox(RUNS * 10_000);

afterAll(() => {
  raw.destroy();
  rawSqs.destroy();
  stats.report();
});

describe("the real poller and notifier over generated Respondent API histories, without faults", () => {
  it(
    "alert every participant reply created after a subscription started in each of its channels exactly once and in order, alert nothing else, alert nothing on a re-poll of an unchanged API, and never move the state backwards",
    async () => {
      await fc.assert(
        fc.asyncProperty(historyArbitrary(), async (history) => {
          await runHistory(history, clients, { stats, strict: true }, { markedRepeatsAllowed: false });
        }),
        { numRuns: RUNS, ...seedOption(), ...TIME_BOX.options },
      );
    },
    TIME_BOX.testTimeoutMs,
  );
});
