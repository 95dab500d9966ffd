import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { composeNotifier } from "../../src/app/compose.ts";
import {
  DeliveryInProgressError,
  type NotifierError,
  SlackAuthError,
  SlackChannelUnusableError,
  SlackRateLimitedError,
  SlackUnavailableError,
} from "../../src/errors.ts";
import { type FakeSlack, startFakeSlack } from "../../src/local/fake-slack.ts";
import type { DeliverySettlement, QueuedMessage } from "../../src/ports.ts";
import {
  type DeliveryPorts,
  decisionFor,
  deliverBatch,
  MAX_BACKOFF_SECONDS,
  MAX_RETRY_SECONDS,
  MIN_RETRY_SECONDS,
  READ_BACK_SETTLE_SECONDS,
} from "../../src/usecases/deliver.ts";
import type { TargetOutcome } from "../../src/usecases/notify.ts";
import { queuedMessage, replyEvent } from "../support/builders.ts";
import { createTestPlatform, type TestPlatform } from "../support/platform.ts";

/** The message's receive count: its first delivery. */
const FIRST = 1;
const ALERTS = "C0ALERTS001";
const RESEARCH = "C0RESEARCH1";

const retry = (channelId: string, error: NotifierError): TargetOutcome => ({
  channelId,
  status: "retry",
  error,
});
const rateLimited = (channelId: string, seconds: number) =>
  retry(channelId, new SlackRateLimitedError(channelId, seconds));
const unavailable = (channelId: string) =>
  retry(channelId, new SlackUnavailableError("Slack answered HTTP 503", { mayHavePosted: true }));

describe("decisionFor: what a message's outcomes mean for the queue", () => {
  it("acknowledges when no channel asks for a retry: posted, already there, or given up for good", () => {
    const outcomes: TargetOutcome[] = [
      { channelId: ALERTS, status: "posted", ts: "1.1", possiblyRepeated: false },
      { channelId: RESEARCH, status: "already_posted" },
      {
        channelId: "C0GONE00001",
        status: "failed_permanently",
        error: new SlackChannelUnusableError("C0GONE00001", "channel_not_found", "check the id"),
      },
    ];

    expect(decisionFor(outcomes, FIRST)).toEqual({ action: "acknowledge" });
    expect(decisionFor([], FIRST)).toEqual({ action: "acknowledge" });
  });

  it("retries after Slack's Retry-After when Slack said when", () => {
    expect(decisionFor([rateLimited(ALERTS, 7)], FIRST)).toMatchObject({ action: "retry", afterSeconds: 7 });
  });

  it("retries a definite failure at once, backing off from a second, doubling up to ten minutes", () => {
    const rejected = retry(ALERTS, new SlackAuthError("invalid_auth"));

    expect([1, 2, 3, 4, 5, 10, 11, 12].map((receives) => decisionFor([rejected], receives))).toMatchObject(
      [1, 2, 4, 8, 16, 512, MAX_BACKOFF_SECONDS, MAX_BACKOFF_SECONDS].map((afterSeconds) => ({ afterSeconds })),
    );
    expect(MAX_BACKOFF_SECONDS).toBe(600);
  });

  it("retries an attempt that may have posted after its post has had time to land, for the read-back to see it", () => {
    expect(decisionFor([unavailable(ALERTS)], FIRST)).toMatchObject({
      action: "retry",
      afterSeconds: READ_BACK_SETTLE_SECONDS,
    });
    expect(READ_BACK_SETTLE_SECONDS).toBe(5);
    // Later on the backoff is longer anyway.
    expect(decisionFor([unavailable(ALERTS)], 6)).toMatchObject({ afterSeconds: 32 });
  });

  it("waits as long as the channel that needs the longest, and names every channel that retries", () => {
    const decision = decisionFor(
      [
        rateLimited(ALERTS, 7),
        { channelId: "C0POSTED001", status: "posted", ts: "1.2", possiblyRepeated: false },
        unavailable(RESEARCH),
        rateLimited("C0SLOW00001", 120),
      ],
      FIRST,
    );

    expect(decision).toMatchObject({ action: "retry", afterSeconds: 120 });
    expect(decision.action === "retry" && decision.reason).toMatch(
      new RegExp(`^${ALERTS}: .*; ${RESEARCH}: Slack answered HTTP 503; C0SLOW00001: `),
    );
  });

  it("waits at least a second and whole seconds, and never longer than SQS allows", () => {
    expect(decisionFor([rateLimited(ALERTS, 0)], FIRST)).toMatchObject({ afterSeconds: MIN_RETRY_SECONDS });
    expect(decisionFor([rateLimited(ALERTS, 0.2)], FIRST)).toMatchObject({ afterSeconds: 1 });
    expect(decisionFor([rateLimited(ALERTS, 7.2)], FIRST)).toMatchObject({ afterSeconds: 8 });
    expect(decisionFor([rateLimited(ALERTS, 100_000)], FIRST)).toMatchObject({ afterSeconds: MAX_RETRY_SECONDS });
    expect(MIN_RETRY_SECONDS).toBe(1);
  });

  it("retries a claim held by another notifier after that claim's lease", () => {
    const held = retry(ALERTS, new DeliveryInProgressError("another notifier is posting this alert", 65));

    expect(decisionFor([held], FIRST)).toMatchObject({ action: "retry", afterSeconds: 65 });
  });
});

/** A settlement that records what deliverBatch decided; `failing` makes that settlement throw. */
function recordingSettlement(
  failing: Partial<Record<keyof DeliverySettlement, (message: QueuedMessage) => boolean>> = {},
) {
  const settled: string[] = [];
  const settle = (kind: keyof DeliverySettlement, message: QueuedMessage, detail: string) => {
    if (failing[kind]?.(message)) throw new Error(`${kind} failed (test)`);
    settled.push(`${kind} ${message.messageId}${detail}`);
  };
  const settlement: Required<DeliverySettlement> = {
    acknowledge: async (message) => settle("acknowledge", message, ""),
    retryLater: async (message, seconds) => settle("retryLater", message, ` ${seconds}`),
    deadLetter: async (message, reason) => settle("deadLetter", message, ` (${reason})`),
  };
  return { settled, settlement };
}

describe("deliverBatch: a batch decided and settled in queue order", () => {
  let slack: FakeSlack;
  let platform: TestPlatform;
  let ports: DeliveryPorts;

  beforeAll(async () => {
    slack = await startFakeSlack({ channels: [ALERTS, RESEARCH] });
  });
  afterAll(async () => {
    await slack.close();
  });
  beforeEach(async () => {
    slack.reset();
    platform = await createTestPlatform({ prefix: "deliver", slack: { url: slack.url, token: slack.token } });
    ports = composeNotifier(platform);
    return () => platform.close();
  });

  const message = (conversationUid: string, messageUid: string, id: string, channel = ALERTS) =>
    queuedMessage(replyEvent(conversationUid, messageUid, [channel]), { messageId: id });

  it("dead-letters a message that is not JSON, or not a valid event, and delivers the rest", async () => {
    const { settled, settlement } = recordingSettlement();
    const notJson = queuedMessage("{ not json", { messageId: "not-json" });
    const notAnEvent = queuedMessage(JSON.stringify({ version: 2, eventId: "x" }), { messageId: "not-an-event" });

    const result = await deliverBatch([notJson, notAnEvent, message("conv-a", "a1", "a1")], ports, settlement);

    expect(settled).toEqual([
      "deadLetter not-json (message not-json is not JSON, so not a new-reply event)",
      expect.stringMatching(
        /^deadLetter not-an-event \(message not-an-event is not a valid new-reply event, version 1/,
      ),
      "acknowledge a1",
    ]);
    expect(result).toEqual({ delivered: 1, retried: 0, deadLettered: 2, unsettled: [] });
    expect(slack.posts).toHaveLength(1);
  });

  it("holds the later messages of a retried conversation in the batch, and carries on with the others", async () => {
    // Aimed at a1: conversations are delivered at the same time, so "the next post" could be b1's.
    slack.failNext("chat.postMessage", 1, { status: 429, retryAfter: 7 }, { whenTextIncludes: "reply a1" });
    const { settled, settlement } = recordingSettlement();
    // b1 goes to another channel: Slack's 429 holds the whole channel it was for.
    const batch = [
      message("conv-a", "a1", "a1"),
      message("conv-b", "b1", "b1", RESEARCH),
      message("conv-a", "a2", "a2"),
    ];

    const result = await deliverBatch(batch, ports, settlement);

    // Each conversation settles in queue order; the two conversations interleave as they come.
    expect(settled.filter((each) => / a\d/.test(each))).toEqual(["retryLater a1 7", "retryLater a2 7"]);
    expect(settled.filter((each) => / b\d/.test(each))).toEqual(["acknowledge b1"]);
    // a2 was never tried: posting it before a1 would break the conversation's order.
    expect(slack.posts.map((post) => post.text.match(/reply (\w+)/)?.[1])).toEqual(["b1"]);
    expect(result.delivered).toBe(1);
    expect(result.retried).toBe(2);
    expect(result.unsettled.map((each) => each.message.messageId)).toEqual(["a1", "a2"]);
  });

  it("leaves a message whose settlement fails to the queue's visibility timeout, and settles the others", async () => {
    const { settled, settlement } = recordingSettlement({ acknowledge: (each) => each.messageId === "a1" });

    const result = await deliverBatch(
      [message("conv-a", "a1", "a1"), message("conv-b", "b1", "b1")],
      ports,
      settlement,
    );

    expect(settled).toEqual(["acknowledge b1"]);
    expect(result.unsettled.map((each) => each.message.messageId)).toEqual(["a1"]);
    expect(result.delivered).toBe(1);
    // The alert was posted all the same; its redelivery is skipped by the ledger.
    expect(slack.posts).toHaveLength(2);
    const again = await deliverBatch([message("conv-a", "a1", "a1")], ports, recordingSettlement().settlement);
    expect(again.delivered).toBe(1);
    expect(slack.posts).toHaveLength(2);
  });

  it("reports only what stays queued where the runtime removes delivered messages itself (the Lambda)", async () => {
    slack.failNext("chat.postMessage", 1, { status: 503 }, { whenTextIncludes: "reply a1" });
    const { settled, settlement } = recordingSettlement();
    const { acknowledge: _removedByLambda, ...lambdaSettlement } = settlement;

    const result = await deliverBatch(
      [message("conv-a", "a1", "a1"), message("conv-b", "b1", "b1"), queuedMessage("garbage", { messageId: "bad" })],
      ports,
      lambdaSettlement,
    );

    expect(settled).toHaveLength(2);
    expect(settled).toEqual(
      expect.arrayContaining([`retryLater a1 ${READ_BACK_SETTLE_SECONDS}`, expect.stringMatching(/^deadLetter bad /)]),
    );
    expect(result.unsettled.map((each) => each.message.messageId)).toEqual(["a1"]);
    expect(result).toMatchObject({ delivered: 1, retried: 1, deadLettered: 1 });
  });
});
