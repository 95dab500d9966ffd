import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DynamoReadMarks, DynamoReplyLedger } from "../../src/adapters/dynamo/slack-action-stores.ts";
import type { ReplySubmission } from "../../src/ports.ts";
import { createTestTable } from "../support/dynamodb.ts";

let client: DynamoDBClient;
let replies: DynamoReplyLedger;
let marks: DynamoReadMarks;
beforeAll(async () => {
  const table = await createTestTable("slack-actions");
  client = table.client;
  replies = new DynamoReplyLedger(client, table.tableName);
  marks = new DynamoReadMarks(client, table.tableName);
});
afterAll(() => client.destroy());

const NOW = new Date("2026-06-01T12:00:00.000Z");
const submission: ReplySubmission = {
  conversationUid: "conv-1",
  channelId: "C0000000001",
  alertTs: "1700000000.000100",
  threadTs: "1700000000.000100",
  userId: "U0000000001",
  text: "See you then",
};

describe("DynamoReplyLedger: one send per Reply submission", () => {
  it("lets exactly one of several racing claims of a submission send it", async () => {
    const outcomes = await Promise.all([1, 2, 3, 4].map(() => replies.claim("race", submission, NOW, 60)));

    expect(outcomes.filter((outcome) => outcome.status === "claimed")).toHaveLength(1);
    const taken = outcomes.filter((outcome) => outcome.status === "taken");
    expect(taken.map((outcome) => outcome.status === "taken" && outcome.stored.status)).toEqual([
      "sending",
      "sending",
      "sending",
    ]);
  });

  it("keeps a sent reply sent: a late failure of the same attempt does not change it, and it cannot be retried", async () => {
    await replies.claim("sent", submission, NOW, 60);
    await replies.markSent("sent", "msg-1", NOW);
    await replies.markFailed("sent", "failed", "late timeout", NOW);

    expect((await replies.get("sent"))?.status).toBe("sent");
    expect((await replies.reclaimFailed("sent", NOW, 60)).status).toBe("taken");
  });

  it("lets one retry take a failed submission again, and only a failed one", async () => {
    await replies.claim("failed", submission, NOW, 60);
    await replies.markFailed("failed", "failed", "Respondent refused (400)", NOW);
    await replies.claim("uncertain", submission, NOW, 60);
    await replies.markFailed("uncertain", "uncertain", "timed out", NOW);

    const retries = await Promise.all([1, 2].map(() => replies.reclaimFailed("failed", NOW, 60)));

    expect(retries.map((retry) => retry.status).sort()).toEqual(["claimed", "taken"]);
    expect((await replies.reclaimFailed("uncertain", NOW, 60)).status).toBe("taken");
    expect(await replies.get("uncertain")).toMatchObject({ status: "uncertain", reason: "timed out", submission });
  });
});

describe("DynamoReadMarks: the first click marks an alert read", () => {
  it("records who marked it, tells later clicks, and lets a released mark be taken again", async () => {
    expect(await marks.claim("C0000000001", "1700000000.000200", "U0000000001", NOW)).toEqual({ status: "claimed" });
    expect(await marks.claim("C0000000001", "1700000000.000200", "U0000000002", NOW)).toEqual({
      status: "taken",
      by: "U0000000001",
    });

    await marks.release("C0000000001", "1700000000.000200");

    expect(await marks.claim("C0000000001", "1700000000.000200", "U0000000002", NOW)).toEqual({ status: "claimed" });
  });
});
