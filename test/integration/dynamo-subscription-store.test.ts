import { type DynamoDBClient, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { DynamoSubscriptionStore } from "../../src/adapters/dynamo/subscription-store.ts";
import { subscriptionKey } from "../../src/adapters/dynamo/table.ts";
import { UsageError } from "../../src/errors.ts";
import type { Log, LogAttributes } from "../../src/ports.ts";
import { subscription } from "../support/builders.ts";
import { createTestTable } from "../support/dynamodb.ts";

interface LoggedLine {
  level: string;
  message: string;
  attributes: LogAttributes | undefined;
}

function recordingLog(): Log & { lines: LoggedLine[] } {
  const lines: LoggedLine[] = [];
  const record = (level: string) => (message: string, attributes?: LogAttributes) =>
    lines.push({ level, message, attributes });
  return { lines, debug: record("debug"), info: record("info"), warn: record("warn"), error: record("error") };
}

const clients: DynamoDBClient[] = [];
afterAll(() => {
  for (const client of clients) client.destroy();
});

let client: DynamoDBClient;
let tableName: string;
let log: ReturnType<typeof recordingLog>;
let store: DynamoSubscriptionStore;
beforeEach(async () => {
  ({ client, tableName } = await createTestTable("subscriptions"));
  clients.push(client);
  log = recordingLog();
  store = new DynamoSubscriptionStore(client, tableName, { log });
});

describe("DynamoSubscriptionStore", () => {
  it("lists an added subscription with all its settings", async () => {
    const added = subscription({
      projectId: "64b7f0c2e4b0a1b2c3d4e5f6",
      channelId: "C0123456789",
      externalResearcherId: "researcher-1",
      mentions: ["U0123456789", "here"],
      threadPerConversation: false,
      body: "preview",
    });

    await store.add(added);

    expect(await store.list()).toEqual([added]);
  });

  it("refuses a second subscription for the same project and channel, pointing to remove or apply", async () => {
    await store.add(subscription({ mentions: ["here"] }));

    const duplicate = store.add(subscription({ mentions: ["channel"] }));

    await expect(duplicate).rejects.toBeInstanceOf(UsageError);
    await expect(duplicate).rejects.toThrow(
      "a subscription for project project-a -> channel C0000000001 exists already: remove it first, or use `subscriptions apply`",
    );
    expect((await store.list()).map((stored) => stored.mentions)).toEqual([["here"]]);
  });

  it("replaces an existing subscription with put", async () => {
    await store.add(subscription({ paused: false }));

    await store.put(subscription({ paused: true, updatedAt: "2026-02-01T00:00:00.000Z" }));

    expect(await store.list()).toEqual([subscription({ paused: true, updatedAt: "2026-02-01T00:00:00.000Z" })]);
  });

  it("keeps subscriptions of the same project to different channels apart", async () => {
    await store.add(subscription({ channelId: "C0000000001" }));
    await store.add(subscription({ channelId: "C0000000002" }));

    expect((await store.list()).map((stored) => stored.channelId)).toEqual(["C0000000001", "C0000000002"]);
  });

  it("removes a subscription and says whether there was one", async () => {
    await store.add(subscription({ channelId: "C0000000001" }));
    await store.add(subscription({ channelId: "C0000000002" }));

    expect(await store.remove("project-a", "C0000000001")).toBe(true);
    expect(await store.remove("project-a", "C0000000001")).toBe(false);
    expect((await store.list()).map((stored) => stored.channelId)).toEqual(["C0000000002"]);
  });

  it("skips and logs a stored item that is not a valid subscription, listing the others", async () => {
    await store.add(subscription({ channelId: "C0000000001" }));
    const badKey = subscriptionKey("project-a", "#general");
    await client.send(
      new PutItemCommand({
        TableName: tableName,
        Item: {
          ...badKey,
          projectId: { S: "project-a" },
          channelId: { S: "#general" },
          createdAt: { S: "2026-01-01T00:00:00.000Z" },
        },
      }),
    );

    const listed = await store.list();

    expect(listed.map((stored) => stored.channelId)).toEqual(["C0000000001"]);
    expect(log.lines).toEqual([
      {
        level: "warn",
        message: "skipping an invalid stored subscription",
        attributes: { sk: badKey.sk.S, problem: expect.stringMatching(/^channelId: must be a Slack channel id/) },
      },
    ]);
  });

  it("lists nothing when there are no subscriptions", async () => {
    expect(await store.list()).toEqual([]);
  });
});
