import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { SqsEventQueue } from "../../src/adapters/sqs-queue.ts";
import { composeNotifier, deadLetterQueue, deliveryQueue } from "../../src/app/compose.ts";
import type { NewReplyEvent } from "../../src/domain/events.ts";
import { type FakeSlack, startFakeSlack } from "../../src/local/fake-slack.ts";
import { drainQueue } from "../../src/usecases/deliver.ts";
import { replyEvent } from "../support/builders.ts";
import { createTestPlatform, type TestPlatform } from "../support/platform.ts";

const CHANNEL = "C0DRAIN0001";

/**
 * The consumer outside Lambda (`poll --once`, `start`, `dlq redrive`): the SQS emulator's queue,
 * the composed notifier, the fake Slack.
 */
describe("drainQueue", () => {
  let slack: FakeSlack;
  let platform: TestPlatform;

  const event = (conversationUid: string, messageUid: string): NewReplyEvent =>
    replyEvent(conversationUid, messageUid, [CHANNEL]);
  /** Queues events as the poller does. */
  const queue = (events: NewReplyEvent[]) =>
    new SqsEventQueue(platform.rawSqs, platform.queueUrls.queueUrl).sendEvents(events);
  const posted = () => slack.posts.map((post) => post.text.match(/reply (\w+)/)?.[1]);

  beforeAll(async () => {
    slack = await startFakeSlack({ channels: [CHANNEL] });
  });
  afterAll(async () => {
    await slack.close();
  });
  beforeEach(async () => {
    slack.reset();
    platform = await createTestPlatform({
      prefix: "drain",
      slack: { url: slack.url, token: slack.token },
      queueSettings: { maxReceiveCount: 2, visibilityTimeoutSeconds: 30 },
    });
    return () => platform.close();
  });

  it("delivers everything queued, each conversation's alerts in order, and leaves nothing", async () => {
    await queue([event("conv-a", "a1"), event("conv-b", "b1"), event("conv-a", "a2"), event("conv-a", "a3")]);

    const result = await drainQueue(deliveryQueue(platform), composeNotifier(platform));

    expect(result).toEqual({ delivered: 4, retried: 0, deadLettered: 0, pending: 0 });
    expect(posted().filter((uid) => uid?.startsWith("a"))).toEqual(["a1", "a2", "a3"]);
    expect(posted()).toContain("b1");
  });

  it("without a deadline returns at once, leaving a retried alert queued for a later drain", async () => {
    slack.failNext("chat.postMessage", 1, { status: 429, retryAfter: 30 });
    await queue([event("conv-a", "a1")]);

    const first = await drainQueue(deliveryQueue(platform), composeNotifier(platform));

    expect(first).toEqual({ delivered: 0, retried: 1, deadLettered: 0, pending: 1 });
    expect(slack.posts).toEqual([]);
  });

  it("with a deadline waits for Slack's Retry-After and delivers, telling what it waits for", async () => {
    // Longer than a post waits in place: the alert goes back to the queue and comes back then.
    slack.failNext("chat.postMessage", 1, { status: 429, retryAfter: 3 });
    await queue([event("conv-a", "a1"), event("conv-a", "a2")]);
    const waiting: number[] = [];

    const result = await drainQueue(deliveryQueue(platform), composeNotifier(platform), {
      waitUntil: Date.now() + 30_000,
      onWaiting: (pending) => waiting.push(pending),
    });

    expect(result).toMatchObject({ delivered: 2, retried: 1, pending: 0 });
    expect(posted()).toEqual(["a1", "a2"]);
    expect(waiting.every((pending) => pending > 0)).toBe(true);
  });

  it("stops waiting, with the alert still queued, when its retry comes back after the deadline", async () => {
    slack.failNext("chat.postMessage", 1, { status: 429, retryAfter: 60 });
    await queue([event("conv-a", "a1")]);
    const deadline = Date.now() + 30_000;

    const result = await drainQueue(deliveryQueue(platform), composeNotifier(platform), { waitUntil: deadline });

    // Waiting out the deadline would change nothing: the retry is due a minute from now.
    expect(Date.now()).toBeLessThan(deadline);
    expect(result).toMatchObject({ delivered: 0, pending: 1 });
    expect(await deliveryQueue(platform).pendingCount()).toBe(1);
  });

  it("ends with an alert Slack keeps refusing in the dead letters once the queue's receives are spent", async () => {
    // A rejected token keeps the alert for a retry (1 s after the first delivery): the queue gives up on it.
    slack.failNext("chat.postMessage", 3, { error: "invalid_auth" });
    await queue([event("conv-a", "a1"), event("conv-b", "b1")]);

    const result = await drainQueue(deliveryQueue(platform), composeNotifier(platform), {
      waitUntil: Date.now() + 30_000,
    });

    // Each alert gets two receives: three refusals spend both of one of them, the other gets through.
    expect(result.pending).toBe(0);
    expect(await deadLetterQueue(platform).approximateCount()).toBe(1);
    expect(slack.posts).toHaveLength(1);
  });
});
