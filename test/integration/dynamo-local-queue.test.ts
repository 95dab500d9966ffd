import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { DynamoLocalQueue, type QueuedMessage } from "../../src/adapters/dynamo/local-queue.ts";
import { eventIdFor, type NewReplyEvent, newReplyEventSchema } from "../../src/domain/events.ts";
import { createTestTable } from "../support/dynamodb.ts";

const T0 = new Date("2026-03-01T10:00:00.000Z");

function replyEvent(conversationUid: string, messageUid: string): NewReplyEvent {
  return newReplyEventSchema.parse({
    version: 1,
    eventId: eventIdFor(conversationUid, messageUid),
    detectedAt: T0.toISOString(),
    conversation: { uid: conversationUid, name: `Study - ${conversationUid}` },
    message: { uid: messageUid, createdAt: T0.toISOString(), body: `reply ${messageUid}`, bodyTruncated: false },
    sender: { known: true, uid: "participant-1" },
    targets: [
      {
        subscriptionId: "project-a#C0000000001",
        channelId: "C0000000001",
        mentions: [],
        threadPerConversation: true,
        body: "full",
      },
    ],
  });
}

const messageUids = (messages: readonly QueuedMessage[]) =>
  messages.map((message) => (JSON.parse(message.body) as NewReplyEvent).message.uid);

const clients: DynamoDBClient[] = [];
afterAll(() => {
  for (const client of clients) client.destroy();
});

let now: Date;
let queue: DynamoLocalQueue;
const clock = { now: () => now };
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

beforeEach(async () => {
  const { client, tableName } = await createTestTable("local-queue");
  clients.push(client);
  now = T0;
  queue = new DynamoLocalQueue(client, tableName, { clock, maxReceives: 3 });
});

describe("DynamoLocalQueue", () => {
  it("hands messages out in the order they were sent, grouped by conversation", async () => {
    await queue.sendEvents([replyEvent("conv-a", "a1"), replyEvent("conv-b", "b1"), replyEvent("conv-a", "a2")]);
    await queue.sendEvents([replyEvent("conv-b", "b2")]);

    const received = await queue.receive(10, T0);

    expect(messageUids(received)).toEqual(["a1", "b1", "a2", "b2"]);
    expect(received.map((message) => message.groupId)).toEqual(["conv-a", "conv-b", "conv-a", "conv-b"]);
    expect(received.every((message) => message.receiveCount === 0)).toBe(true);
    expect(JSON.parse(received[0]?.body ?? "")).toEqual(replyEvent("conv-a", "a1"));
  });

  it("hands out at most the number of messages asked for, oldest first", async () => {
    await queue.sendEvents(["m1", "m2", "m3"].map((uid) => replyEvent("conv-a", uid)));

    expect(messageUids(await queue.receive(2, T0))).toEqual(["m1", "m2"]);
  });

  it("removes an acknowledged message", async () => {
    await queue.sendEvents([replyEvent("conv-a", "a1"), replyEvent("conv-a", "a2")]);
    const [first] = await queue.receive(1, T0);
    if (!first) throw new Error("expected a message");

    await queue.ack(first);

    expect(messageUids(await queue.receive(10, T0))).toEqual(["a2"]);
    expect(await queue.pendingCount()).toBe(1);
  });

  it("holds back a whole conversation while its earliest message waits for a retry, not the others", async () => {
    await queue.sendEvents([replyEvent("conv-a", "a1"), replyEvent("conv-a", "a2"), replyEvent("conv-b", "b1")]);
    const [a1] = await queue.receive(1, T0);
    if (!a1) throw new Error("expected a message");

    await queue.retryLater(a1, 30, T0, "Slack rate-limited posting to C0000000001; retry after 30s");

    expect(messageUids(await queue.receive(10, at(29)))).toEqual(["b1"]);
    const afterDelay = await queue.receive(10, at(30));
    expect(messageUids(afterDelay)).toEqual(["a1", "a2", "b1"]);
    expect(afterDelay[0]?.receiveCount).toBe(1);
  });

  it("drops an event sent again while the first copy is still queued", async () => {
    await queue.sendEvents([replyEvent("conv-a", "a1")]);
    now = at(3600);

    await queue.sendEvents([replyEvent("conv-a", "a1"), replyEvent("conv-a", "a2")]);

    expect(messageUids(await queue.receive(10, now))).toEqual(["a1", "a2"]);
  });

  it("drops an event sent twice in one batch", async () => {
    await queue.sendEvents([replyEvent("conv-a", "a1"), replyEvent("conv-a", "a1")]);

    expect(await queue.pendingCount()).toBe(1);
  });

  it("drops an event sent again within five minutes of the first send, even once delivered", async () => {
    await queue.sendEvents([replyEvent("conv-a", "a1")]);
    const [delivered] = await queue.receive(1, T0);
    if (!delivered) throw new Error("expected a message");
    await queue.ack(delivered);
    now = at(5 * 60 - 1);

    await queue.sendEvents([replyEvent("conv-a", "a1")]);

    expect(await queue.pendingCount()).toBe(0);
  });

  it("queues an event again when sent five minutes or more after its delivered first copy", async () => {
    await queue.sendEvents([replyEvent("conv-a", "a1")]);
    const [delivered] = await queue.receive(1, T0);
    if (!delivered) throw new Error("expected a message");
    await queue.ack(delivered);
    now = at(5 * 60);

    await queue.sendEvents([replyEvent("conv-a", "a1")]);

    expect(messageUids(await queue.receive(10, now))).toEqual(["a1"]);
  });

  it("lets only one of two concurrent senders of the same event queue it", async () => {
    await Promise.all([queue.sendEvents([replyEvent("conv-a", "a1")]), queue.sendEvents([replyEvent("conv-a", "a1")])]);

    expect(await queue.pendingCount()).toBe(1);
  });

  it("moves a message to the dead letters with its last error once it failed maxReceives times", async () => {
    await queue.sendEvents([replyEvent("conv-a", "a1"), replyEvent("conv-a", "a2")]);
    const [a1] = await queue.receive(1, T0);
    if (!a1) throw new Error("expected a message");

    await queue.retryLater(a1, 0, at(1), "Slack unavailable: 503");
    await queue.retryLater(a1, 0, at(2), "Slack unavailable: 503");
    expect(await queue.deadLetters()).toEqual([]);
    await queue.retryLater(a1, 0, at(3), "Slack unavailable: 502");

    expect(messageUids(await queue.receive(10, at(4)))).toEqual(["a2"]);
    expect(await queue.deadLetters()).toEqual([
      {
        id: a1.id,
        groupId: "conv-a",
        body: a1.body,
        receiveCount: 3,
        lastError: "Slack unavailable: 502",
        deadLetteredAt: at(3).toISOString(),
      },
    ]);
  });

  it("redrives dead letters back into the queue, ahead of later messages of their conversation, with a fresh count", async () => {
    await queue.sendEvents([replyEvent("conv-a", "a1"), replyEvent("conv-a", "a2")]);
    const [a1] = await queue.receive(1, T0);
    if (!a1) throw new Error("expected a message");
    for (let attempt = 1; attempt <= 3; attempt += 1) await queue.retryLater(a1, 0, at(attempt), "failed");

    const moved = await queue.redrive();

    expect(moved).toBe(1);
    expect(await queue.deadLetters()).toEqual([]);
    const received = await queue.receive(10, at(10));
    expect(messageUids(received)).toEqual(["a1", "a2"]);
    expect(received[0]?.receiveCount).toBe(0);
  });

  it("ignores a retry of a message that was already acknowledged", async () => {
    await queue.sendEvents([replyEvent("conv-a", "a1")]);
    const [a1] = await queue.receive(1, T0);
    if (!a1) throw new Error("expected a message");
    await queue.ack(a1);

    await queue.retryLater(a1, 10, T0, "late failure");

    expect(await queue.pendingCount()).toBe(0);
    expect(await queue.deadLetters()).toEqual([]);
  });

  it("keeps messages across queue instances on the same table", async () => {
    const { client, tableName } = await createTestTable("local-queue-durable");
    clients.push(client);
    await new DynamoLocalQueue(client, tableName).sendEvents([replyEvent("conv-a", "a1")]);

    const reopened = new DynamoLocalQueue(client, tableName);

    expect(messageUids(await reopened.receive(10, new Date()))).toEqual(["a1"]);
  });
});
