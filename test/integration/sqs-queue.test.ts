import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, beforeEach, describe, expect, inject, it } from "vitest";
import { SqsDeadLetterQueue } from "../../src/adapters/sqs-dead-letters.ts";
import { createSqsClient, SqsDeliveryQueue, SqsEventQueue } from "../../src/adapters/sqs-queue.ts";
import { LOCAL_QUEUE_SETTINGS } from "../../src/app/local.ts";
import { type NewReplyEvent, newReplyEventSchema } from "../../src/domain/events.ts";
import { QueueUnavailableError } from "../../src/errors.ts";
import { ensureLocalQueues, type LocalQueueUrls, startLocalSqs } from "../../src/local/sqs-local.ts";
import type { QueuedMessage } from "../../src/ports.ts";
import { replyEvent } from "../support/builders.ts";

/**
 * The SQS adapters (SqsEventQueue, SqsDeliveryQueue, SqsDeadLetterQueue) against the run's SQS
 * emulator, on queues made the way the local runtime makes them (ensureLocalQueues): the
 * FIFO behaviour the notifier relies on, wherever it runs.
 */

const event = (conversationUid: string, messageUid: string): NewReplyEvent =>
  replyEvent(conversationUid, messageUid, ["C0000000001"]);
const uidOf = (message: QueuedMessage) => (JSON.parse(message.body) as NewReplyEvent).message.uid;

interface Queues {
  urls: LocalQueueUrls;
  events: SqsEventQueue;
  delivery: SqsDeliveryQueue;
  deadLetters: SqsDeadLetterQueue;
}

const clients: SQSClient[] = [];
afterAll(() => {
  for (const client of clients) client.destroy();
});

function sqsClient(endpoint = inject("sqsEndpoint")): SQSClient {
  const client = createSqsClient({ region: "us-east-1", endpoint });
  clients.push(client);
  return client;
}

/** The queue pair of a table, as the local runtime makes it, and the adapters on it. */
async function queuesOf(
  client: SQSClient,
  tableName: string,
  settings: { maxReceiveCount: number; visibilityTimeoutSeconds: number } = LOCAL_QUEUE_SETTINGS,
): Promise<Queues> {
  const urls = await ensureLocalQueues(client, tableName, settings);
  return {
    urls,
    events: new SqsEventQueue(client, urls.queueUrl),
    delivery: new SqsDeliveryQueue(client, urls),
    deadLetters: new SqsDeadLetterQueue(client, urls.deadLetterQueueUrl),
  };
}

/** Receives until `found` holds for what came back, long-polling a second at a time; fails after `timeoutMs`. */
async function receiveUntil(
  queue: SqsDeliveryQueue,
  found: (messages: QueuedMessage[]) => boolean,
  timeoutMs = 15_000,
): Promise<QueuedMessage[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const messages = await queue.receive(10, 1);
    if (found(messages)) return messages;
    for (const message of messages) await queue.retryLater(message, 1);
    if (Date.now() > deadline) throw new Error(`the expected messages did not arrive in ${timeoutMs} ms`);
  }
}

/** Takes everything visible off the queue, acknowledging each message, in the order received. */
async function drain(queue: SqsDeliveryQueue): Promise<QueuedMessage[]> {
  const drained: QueuedMessage[] = [];
  for (;;) {
    const messages = await queue.receive(10, 0);
    if (messages.length === 0) return drained;
    for (const message of messages) {
      drained.push(message);
      await queue.acknowledge(message);
    }
  }
}

let queues: Queues;
beforeEach(async () => {
  queues = await queuesOf(sqsClient(), `sqs-queue-${randomUUID()}`);
});

describe("the notifier's FIFO queue", () => {
  it("delivers each conversation's events in the order sent, one conversation's at a time", async () => {
    await queues.events.sendEvents([event("conv-a", "a1"), event("conv-b", "b1"), event("conv-a", "a2")]);
    await queues.events.sendEvents([event("conv-b", "b2")]);

    const first = await queues.delivery.receive(10, 0);
    // A conversation with a message in flight hands out nothing more until that one is settled.
    expect(first.map(uidOf).sort()).toEqual(["a1", "b1"]);
    expect(first.map((message) => message.groupId).sort()).toEqual(["conv-a", "conv-b"]);
    expect(first.every((message) => message.receiveCount === 1)).toBe(true);
    expect(JSON.parse(first.find((message) => uidOf(message) === "a1")?.body ?? "")).toEqual(event("conv-a", "a1"));
    expect(await queues.delivery.receive(10, 0)).toEqual([]);

    for (const message of first) await queues.delivery.acknowledge(message);
    const rest = await drain(queues.delivery);

    expect(rest.map(uidOf).sort()).toEqual(["a2", "b2"]);
    expect(await queues.delivery.pendingCount()).toBe(0);
  });

  it("counts messages in flight as pending until they are acknowledged", async () => {
    await queues.events.sendEvents([event("conv-a", "a1"), event("conv-b", "b1")]);
    const [one] = await queues.delivery.receive(1, 0);
    if (!one) throw new Error("expected a message");

    expect(await queues.delivery.pendingCount()).toBe(2);
    await queues.delivery.acknowledge(one);
    expect(await queues.delivery.pendingCount()).toBe(1);
  });

  it("holds back a whole conversation while its earliest message waits for a retry, not the others", async () => {
    await queues.events.sendEvents([event("conv-a", "a1"), event("conv-a", "a2"), event("conv-b", "b1")]);
    const [a1] = (await queues.delivery.receive(10, 0)).filter((message) => uidOf(message) === "a1");
    if (!a1) throw new Error("expected a1");
    await queues.delivery.retryLater(a1, 2);
    const retriedAt = Date.now();

    // b1 was handed out with a1; nothing of conv-a comes while a1 waits.
    expect(await queues.delivery.receive(10, 0)).toEqual([]);
    const back = await receiveUntil(queues.delivery, (messages) => messages.some((message) => uidOf(message) === "a1"));

    expect(Date.now() - retriedAt).toBeGreaterThanOrEqual(1_500);
    expect(back.filter((message) => message.groupId === "conv-a").map(uidOf)).toEqual(["a1"]);
    expect(back.find((message) => uidOf(message) === "a1")?.receiveCount).toBe(2);
    for (const message of back) await queues.delivery.acknowledge(message);
    expect((await drain(queues.delivery)).map(uidOf)).toEqual(["a2"]);
  });

  it("retries 'at once' after one second: a visibility change never goes below it", async () => {
    await queues.events.sendEvents([event("conv-a", "a1")]);
    const [a1] = await queues.delivery.receive(1, 0);
    if (!a1) throw new Error("expected a message");

    await queues.delivery.retryLater(a1, 0);

    expect(await queues.delivery.receive(10, 0)).toEqual([]);
    const back = await receiveUntil(queues.delivery, (messages) => messages.length > 0);
    expect(back.map(uidOf)).toEqual(["a1"]);
  });

  it("drops an event sent again while the first copy is still queued, or twice in one batch", async () => {
    await queues.events.sendEvents([event("conv-a", "a1")]);
    await queues.events.sendEvents([event("conv-a", "a1"), event("conv-a", "a2"), event("conv-a", "a2")]);

    expect(await queues.delivery.pendingCount()).toBe(2);
    expect((await drain(queues.delivery)).map(uidOf)).toEqual(["a1", "a2"]);
  });

  it("drops an event sent again within the deduplication window even once it was delivered", async () => {
    await queues.events.sendEvents([event("conv-a", "a1")]);
    expect((await drain(queues.delivery)).map(uidOf)).toEqual(["a1"]);

    await queues.events.sendEvents([event("conv-a", "a1")]);

    expect(await queues.delivery.pendingCount()).toBe(0);
  });

  it("lets only one of two concurrent senders of the same event queue it", async () => {
    await Promise.all([
      queues.events.sendEvents([event("conv-a", "a1")]),
      queues.events.sendEvents([event("conv-a", "a1")]),
    ]);

    expect(await queues.delivery.pendingCount()).toBe(1);
  });

  it("carries any reply text, emoji and characters SQS refuses in a message body included", async () => {
    const hostile = {
      ...event("conv-a", "a1"),
      message: {
        uid: "a1",
        createdAt: "2026-06-01T12:00:00.000Z",
        body: "Sounds good 🙂👍🏽 \uFFFF\uFFFE \u0000\u0007 \uD800 ok",
        bodyTruncated: false,
      },
    };

    await queues.events.sendEvents([hostile]);
    const [received] = await drain(queues.delivery);

    expect(newReplyEventSchema.parse(JSON.parse(received?.body ?? ""))).toEqual(hostile);
  });

  it("sends more than one batch in order", async () => {
    const many = Array.from({ length: 23 }, (_, index) => event("conv-a", `m${index}`));

    await queues.events.sendEvents(many);

    expect((await drain(queues.delivery)).map(uidOf)).toEqual(many.map((each) => each.message.uid));
  });

  it("says the queue is unavailable when it cannot be reached", async () => {
    const unreachable = new SqsEventQueue(sqsClient("http://127.0.0.1:1"), queues.urls.queueUrl);

    await expect(unreachable.sendEvents([event("conv-a", "a1")])).rejects.toBeInstanceOf(QueueUnavailableError);
  });
});

describe("dead letters", () => {
  it("moves a message to the dead-letter queue once it failed maxReceiveCount deliveries, and the conversation goes on", async () => {
    const strict = await queuesOf(sqsClient(), `sqs-strict-${randomUUID()}`, {
      maxReceiveCount: 2,
      visibilityTimeoutSeconds: 30,
    });
    await strict.events.sendEvents([event("conv-a", "a1"), event("conv-a", "a2")]);

    for (let attempt = 1; attempt <= 2; attempt += 1) {
      const [a1] = await receiveUntil(strict.delivery, (messages) => messages.length > 0);
      expect(a1 && uidOf(a1)).toBe("a1");
      expect(a1?.receiveCount).toBe(attempt);
      if (a1) await strict.delivery.retryLater(a1, 1);
    }
    const next = await receiveUntil(strict.delivery, (messages) => messages.length > 0);

    expect(next.map(uidOf)).toEqual(["a2"]);
    expect(await strict.deadLetters.approximateCount()).toBe(1);
    const { messages } = await strict.deadLetters.peek();
    expect(messages.map((message) => [message.groupId, JSON.parse(message.body).message.uid])).toEqual([
      ["conv-a", "a1"],
    ]);
  });

  it("dead-letters a message at once when asked, and removes it from the queue", async () => {
    await queues.events.sendEvents([event("conv-a", "a1"), event("conv-a", "a2")]);
    const [a1] = await queues.delivery.receive(1, 0);
    if (!a1) throw new Error("expected a message");

    await queues.delivery.deadLetter(a1, "not a valid event");

    expect((await drain(queues.delivery)).map(uidOf)).toEqual(["a2"]);
    const { messages } = await queues.deadLetters.peek();
    expect(
      messages.map((message) => ({ id: message.id.length > 0, groupId: message.groupId, body: message.body })),
    ).toEqual([{ id: true, groupId: "conv-a", body: a1.body }]);
  });

  it("lists the dead letters without consuming them: they can be listed again", async () => {
    await queues.events.sendEvents([event("conv-a", "a1"), event("conv-b", "b1")]);
    for (const message of await queues.delivery.receive(10, 0)) await queues.delivery.deadLetter(message, "test");

    const first = await queues.deadLetters.peek();
    const again = await waitForListing(queues.deadLetters, 2);

    expect(first.messages.map((message) => message.groupId).sort()).toEqual(["conv-a", "conv-b"]);
    expect(again.map((message) => message.id).sort()).toEqual(first.messages.map((message) => message.id).sort());
    expect(first.messages.every((message) => message.sentAt !== undefined)).toBe(true);
    expect(await queues.deadLetters.approximateCount()).toBe(2);
  });

  it("stops a listing at maxMessages and says it was cut short", async () => {
    await queues.events.sendEvents(["a", "b", "c"].map((conversation) => event(`conv-${conversation}`, "m1")));
    for (const message of await queues.delivery.receive(10, 0)) await queues.delivery.deadLetter(message, "test");
    const small = new SqsDeadLetterQueue(sqsClient(), queues.urls.deadLetterQueueUrl, { maxMessages: 2 });

    const { messages, truncated } = await small.peek();

    expect(messages).toHaveLength(2);
    expect(truncated).toBe(true);
  });

  it("moves the dead letters back to the queue one by one, each with a fresh receive count", async () => {
    await queues.events.sendEvents([event("conv-a", "a1"), event("conv-b", "b1")]);
    for (const message of await queues.delivery.receive(10, 0)) await queues.delivery.deadLetter(message, "test");

    const moved = await queues.deadLetters.moveEachTo(queues.urls.queueUrl);

    expect(moved).toBe(2);
    expect(await queues.deadLetters.approximateCount()).toBe(0);
    const redriven = await drain(queues.delivery);
    expect(redriven.map(uidOf).sort()).toEqual(["a1", "b1"]);
    expect(redriven.map((message) => message.groupId).sort()).toEqual(["conv-a", "conv-b"]);
    expect(redriven.every((message) => message.receiveCount === 1)).toBe(true);
  });

  it("still counts and redrives the dead letters a listing has just hidden for a moment", async () => {
    await queues.events.sendEvents([event("conv-a", "a1"), event("conv-b", "b1")]);
    for (const message of await queues.delivery.receive(10, 0)) await queues.delivery.deadLetter(message, "test");
    await queues.deadLetters.peek();

    expect(await queues.deadLetters.approximateCount()).toBe(2);
    expect(await queues.deadLetters.moveEachTo(queues.urls.queueUrl)).toBe(2);
    expect(await queues.deadLetters.approximateCount()).toBe(0);
  });

  it("never brings back a message by a late retry after it was acknowledged", async () => {
    await queues.events.sendEvents([event("conv-a", "a1")]);
    const [a1] = await queues.delivery.receive(1, 0);
    if (!a1) throw new Error("expected a message");
    await queues.delivery.acknowledge(a1);

    await queues.delivery.retryLater(a1, 1).catch((error: unknown) => {
      expect(error).toBeInstanceOf(QueueUnavailableError);
    });

    expect(await queues.delivery.pendingCount()).toBe(0);
    expect(await queues.deadLetters.approximateCount()).toBe(0);
  });
});

describe("the local queues (ensureLocalQueues)", () => {
  it("makes the pair once and finds it again for the same table", async () => {
    const client = sqsClient();
    const table = `sqs-pair-${randomUUID()}`;

    const made = await ensureLocalQueues(client, table, LOCAL_QUEUE_SETTINGS);
    const found = await ensureLocalQueues(client, table, LOCAL_QUEUE_SETTINGS);

    expect(found).toEqual(made);
    expect(made.queueUrl).toMatch(new RegExp(`${table}-events\\.fifo$`));
    expect(made.deadLetterQueueUrl).toMatch(new RegExp(`${table}-dead-letters\\.fifo$`));
  });

  it("fits any table name into SQS's 80 characters, distinct for distinct tables", async () => {
    const client = sqsClient();
    const long = `t${"x".repeat(200)}`;

    const [one, other] = await Promise.all([
      ensureLocalQueues(client, `${long}.one`, LOCAL_QUEUE_SETTINGS),
      ensureLocalQueues(client, `${long}.two`, LOCAL_QUEUE_SETTINGS),
    ]);

    for (const url of [one.queueUrl, one.deadLetterQueueUrl, other.queueUrl, other.deadLetterQueueUrl]) {
      expect(url.split("/").at(-1)?.length).toBeLessThanOrEqual(80);
    }
    expect(new Set([one.queueUrl, other.queueUrl, one.deadLetterQueueUrl, other.deadLetterQueueUrl]).size).toBe(4);
  });
});

describe("the embedded SQS emulator with a data folder (what poll --once and start use)", () => {
  it("keeps queued alerts across restarts, and retries at once there too", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "sqs-local-"));
    const table = `sqs-durable-${randomUUID()}`;
    try {
      const first = await startLocalSqs({ dataDir });
      const before = await queuesOf(sqsClient(first.endpoint), table);
      await before.events.sendEvents([event("conv-a", "a1"), event("conv-a", "a2")]);
      const [a1] = await before.delivery.receive(1, 0);
      if (!a1) throw new Error("expected a message");
      // With persistence the emulator fails a visibility change to 0; the adapter never asks for one.
      await before.delivery.retryLater(a1, 0);
      await first.stop();

      const second = await startLocalSqs({ dataDir });
      try {
        const after = await queuesOf(sqsClient(second.endpoint), table);
        expect(await after.delivery.pendingCount()).toBe(2);
        const back = await receiveUntil(after.delivery, (messages) => messages.length > 0);
        expect(back.map(uidOf)).toEqual(["a1"]);
      } finally {
        await second.stop();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

/** Lists the dead letters until `count` of them are visible again (a listing hides them for a moment). */
async function waitForListing(queue: SqsDeadLetterQueue, count: number, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { messages } = await queue.peek();
    if (messages.length >= count || Date.now() > deadline) return messages;
  }
}
