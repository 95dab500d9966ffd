import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
} from "@aws-sdk/client-sqs";
import type { Context } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it, vi } from "vitest";
import { composePollChain, subscriptionStore } from "../../src/app/compose.ts";
import { loadPollerLambdaConfig } from "../../src/config.ts";
import { type RespondentSimulator, startRespondentSimulator } from "../../src/local/simulator.ts";
import { onEndpoint } from "../../src/local/sqs-local.ts";
import type { PollChainStore } from "../../src/ports.ts";
import { lambdaContext, pollerLambdaEnv } from "../support/lambda.ts";
import { createTestPlatform, type TestPlatform, takeQueuedEvents } from "../support/platform.ts";
import { subscriptionFor } from "../support/reliability/hostile.ts";

/**
 * The real poller Lambda handler at 10-second polling against DynamoDB Local, the SQS emulator
 * (a standard queue with per-message delays, as deployed) and the simulator; Secrets Manager is
 * mocked at the SDK boundary. The test stands in for two AWS parts only: the scheduler (it calls
 * the handler with the schedule's event) and the tick queue's event source (it receives a
 * message, hands it over as an SQS event, deletes it when the handler succeeds).
 */

const API = { apiKey: "chain-lambda-key-7d21", apiSecret: "chain-lambda-secret-c390" };
const SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:RespondentNotifierSecret-ChAiN1";
const CHANNEL = "C0CHAINLMB1";

type Handler = (event: unknown, context: Context) => Promise<{ polls: number; newReplies: number; skipped?: true }>;

const context = lambdaContext({
  functionName: "respondent-notifier-poller",
  awsRequestId: "chain-request",
  memoryMb: 512,
});

/** What EventBridge Scheduler sends a LambdaInvoke target without input. */
const SCHEDULED_EVENT = {};

describe("the poller Lambda's 10-second poll chain", () => {
  const secretsManager = mockClient(SecretsManagerClient);
  let platform: TestPlatform;
  let simulator: RespondentSimulator;
  let tickQueueUrl: string;
  let chainStore: PollChainStore;
  let handler: Handler;
  const listings = () =>
    simulator.requests.filter((request) => request.path.startsWith("/v1/messaging/conversations")).length +
    simulator.requests.filter((request) => request.path === "/v1/messaging/messages").length;

  const envFor = (overrides: Record<string, string> = {}) => ({
    ...pollerLambdaEnv({
      secretArn: SECRET_ARN,
      queueUrl: platform.queueUrls.queueUrl,
      tableName: platform.tableName,
      respondentUrl: simulator.url,
      dynamodbEndpoint: inject("dynamodbEndpoint"),
      sqsEndpoint: inject("sqsEndpoint"),
      pollIntervalSeconds: 10,
      logLevel: "SILENT",
    }),
    POLL_TICK_QUEUE_URL: tickQueueUrl,
    ...overrides,
  });

  /** A fresh container of the handler module, built with `env`. */
  async function loadHandler(env: Record<string, string>): Promise<Handler> {
    for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
    vi.resetModules();
    return ((await import("../../lambdas/poller/handler.ts")) as { handler: Handler }).handler;
  }

  async function queueCounts() {
    const { Attributes: attributes = {} } = await platform.rawSqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: tickQueueUrl,
        AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesDelayed"],
      }),
    );
    return {
      visible: Number(attributes.ApproximateNumberOfMessages ?? 0),
      delayed: Number(attributes.ApproximateNumberOfMessagesDelayed ?? 0),
    };
  }

  /** The event source: the next tick within `waitSeconds` (long polls, no fixed sleep), or undefined. */
  async function receiveTick(waitSeconds: number): Promise<Message | undefined> {
    const deadline = Date.now() + waitSeconds * 1000;
    do {
      const { Messages: messages = [] } = await platform.rawSqs.send(
        new ReceiveMessageCommand({
          QueueUrl: tickQueueUrl,
          MaxNumberOfMessages: 1,
          VisibilityTimeout: 330,
          WaitTimeSeconds: Math.max(0, Math.min(5, Math.ceil((deadline - Date.now()) / 1000))),
        }),
      );
      if (messages[0]) return messages[0];
    } while (Date.now() < deadline);
    return undefined;
  }

  const sqsEvent = (message: Pick<Message, "MessageId" | "Body">) => ({
    Records: [
      { eventSource: "aws:sqs", messageId: message.MessageId ?? "m", body: message.Body ?? "", attributes: {} },
    ],
  });

  /** Hands `message` to the handler as the event source does: deleted when the invocation succeeds. */
  async function deliver(message: Message) {
    const result = await handler(sqsEvent(message), context);
    await platform.rawSqs.send(
      new DeleteMessageCommand({ QueueUrl: tickQueueUrl, ReceiptHandle: message.ReceiptHandle }),
    );
    return result;
  }

  beforeAll(async () => {
    simulator = await startRespondentSimulator({ ...API, conversations: 3 });
    platform = await createTestPlatform({ prefix: "chain-lambda", respondent: { url: simulator.url, ...API } });
    await subscriptionStore(platform).add({
      ...subscriptionFor("*", CHANNEL),
      createdAt: new Date().toISOString(),
    });
    const created = await platform.rawSqs.send(new CreateQueueCommand({ QueueName: `${platform.tableName}-ticks` }));
    tickQueueUrl = await onEndpoint(created.QueueUrl ?? "", platform.rawSqs);
    chainStore = composePollChain({
      ...platform,
      queue: { client: platform.rawSqs, urls: { ...platform.queueUrls, pollTickQueueUrl: tickQueueUrl } },
    }).chain;
    secretHolds(API);
  });

  /** The stack's one secret, read by the poller for its own fields. */
  function secretHolds(credentials: typeof API) {
    secretsManager.on(GetSecretValueCommand, { SecretId: SECRET_ARN }).resolves({
      SecretString: JSON.stringify({
        ...credentials,
        botToken: "xoxb-chain-lambda",
        signingSecret: "",
        webhookSecret: "",
      }),
    });
  }

  beforeEach(async () => {
    handler = await loadHandler(envFor());
  });

  afterAll(async () => {
    vi.unstubAllEnvs();
    secretsManager.restore();
    await platform?.close();
    await simulator?.close();
  });

  it("the watchdog starts the chain; each tick polls once and sends the next, delayed; a live chain is left alone", async () => {
    expect(await handler(SCHEDULED_EVENT, context)).toMatchObject({ polls: 0, skipped: true });
    const started = await chainStore.read();
    expect(started?.seq).toBe(0);

    // The first tick is due at once and polls (the first poll is a sweep: it lists the project).
    const first = await receiveTick(5);
    expect(first).toBeDefined();
    const before = listings();
    expect(await deliver(first as Message)).toMatchObject({ polls: 1 });
    expect(listings()).toBeGreaterThan(before);
    expect((await chainStore.read())?.seq).toBe(1);

    // Its successor waits in the queue (delayed by what is left of the 10 s), not visible yet.
    expect(await queueCounts()).toEqual({ visible: 0, delayed: 1 });

    // A watchdog minute meanwhile sees a live chain and sends nothing.
    expect(await handler(SCHEDULED_EVENT, context)).toMatchObject({ polls: 0, skipped: true });
    expect((await chainStore.read())?.chainId).toBe(started?.chainId);
    expect(await queueCounts()).toEqual({ visible: 0, delayed: 1 });

    // A participant writes; the delayed tick arrives and its poll queues the alert.
    const conversation = simulator.conversationUids[0] ?? "";
    simulator.addMessage(conversation, { from: "participant", body: "found by the second tick" });
    const second = await receiveTick(30);
    expect(second).toBeDefined();
    expect(await deliver(second as Message)).toMatchObject({ polls: 1, newReplies: 1 });
    expect((await takeQueuedEvents(platform)).map((event) => event.message.body)).toContain("found by the second tick");
    expect((await chainStore.read())?.seq).toBe(2);

    // A redelivery of a tick already run (or an at-least-once duplicate) stops: no poll, no send.
    const again = listings();
    const pending = await queueCounts();
    expect(await handler(sqsEvent(second as Message), context)).toMatchObject({ polls: 0, skipped: true });
    expect(listings()).toBe(again);
    expect(await queueCounts()).toEqual(pending);
  });

  it("the watchdog replaces a chain that stopped ticking; the old chain's late tick then stops", async () => {
    const current = await chainStore.read();
    const stopped = { chainId: "chain-that-stopped", seq: 7, tickedAt: new Date(Date.now() - 5 * 60_000) };
    expect(await chainStore.replace(stopped, current)).toBe(true);
    await drainTicks();

    expect(await handler(SCHEDULED_EVENT, context)).toMatchObject({ skipped: true });
    const replaced = await chainStore.read();
    expect(replaced?.chainId).not.toBe("chain-that-stopped");
    expect(replaced?.seq).toBe(0);
    const first = await receiveTick(5);
    expect(JSON.parse(first?.Body ?? "{}")).toEqual({ kind: "poll-tick", chainId: replaced?.chainId, seq: 1 });

    // The stopped chain's next tick turns up late: it finds another chain and does nothing.
    const before = listings();
    const late = {
      MessageId: "late",
      Body: JSON.stringify({ kind: "poll-tick", chainId: "chain-that-stopped", seq: 8 }),
    };
    expect(await handler(sqsEvent(late), context)).toMatchObject({ polls: 0, skipped: true });
    expect(listings()).toBe(before);
    expect((await chainStore.read())?.chainId).toBe(replaced?.chainId);

    expect(await deliver(first as Message)).toMatchObject({ polls: 1 });
    await drainTicks();
  });

  it("a tick whose poll fails sends the next tick all the same and fails its invocation (the alarm's signal)", async () => {
    await restartChain();
    const tick = await receiveTick(5);
    expect(tick).toBeDefined();
    // A new container that reads credentials Respondent refuses (401): the poll cannot complete.
    secretHolds({ ...API, apiSecret: "revoked-secret-0000" });
    try {
      handler = await loadHandler(envFor());
      const before = await queueCounts();
      await expect(handler(sqsEvent(tick as Message), context)).rejects.toThrow(/poll incomplete/);
      expect(await queueCounts()).toEqual({ ...before, delayed: before.delayed + 1 });
    } finally {
      secretHolds(API);
    }
    await drainTicks();
  });

  it("a quiet feed tick writes one log line, its counts; a tick that finds a reply also logs `poll finished`", async () => {
    await restartChain();
    handler = await loadHandler(envFor({ POWERTOOLS_LOG_LEVEL: "INFO" }));
    const first = await receiveTick(5);
    const { chainId } = JSON.parse(first?.Body ?? "{}") as { chainId: string };
    const tick = (seq: number) =>
      sqsEvent({ MessageId: `m-${seq}`, Body: JSON.stringify({ kind: "poll-tick", chainId, seq }) });
    // Everything the invocation writes, to either stream, as Lambda would ship it to CloudWatch Logs.
    const written: string[] = [];
    const capture = (chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    };
    const lines = () =>
      written
        .join("")
        .split("\n")
        .filter((line) => line.trim() !== "")
        .map((line) => (line.startsWith("{") ? (JSON.parse(line) as { message: string }).message : line));
    // The first tick of a new container loads the seen-cache snapshot (logged): warm it up first.
    expect(await deliver(first as Message)).toMatchObject({ polls: 1 });
    const out = vi.spyOn(process.stdout, "write").mockImplementation(capture);
    const err = vi.spyOn(process.stderr, "write").mockImplementation(capture);
    try {
      expect(await handler(tick(2), context)).toMatchObject({ polls: 1, newReplies: 0 });
      expect(lines()).toEqual(["counts"]);

      written.length = 0;
      simulator.addMessage(simulator.conversationUids[1] ?? "", { from: "participant", body: "worth a line" });
      expect(await handler(tick(3), context)).toMatchObject({ polls: 1, newReplies: 1 });
      expect(lines()).toEqual(["poll finished", "counts"]);
    } finally {
      out.mockRestore();
      err.mockRestore();
    }
    await takeQueuedEvents(platform);
    await drainTicks();
  });

  it("ignores a message on the tick queue that is not a tick, without polling", async () => {
    const before = listings();
    expect(await handler(sqsEvent({ MessageId: "junk", Body: '{"kind":"something-else"}' }), context)).toMatchObject({
      polls: 0,
      skipped: true,
    });
    expect(await handler(sqsEvent({ MessageId: "junk2", Body: "not json" }), context)).toMatchObject({ polls: 0 });
    expect(listings()).toBe(before);
  });

  it("a watchdog that cannot start the chain polls once itself, so polling goes on every minute, and fails", async () => {
    const stopped = { chainId: "chain-before-outage", seq: 3, tickedAt: new Date(Date.now() - 5 * 60_000) };
    expect(await chainStore.replace(stopped, await chainStore.read())).toBe(true);
    handler = await loadHandler(
      envFor({ POLL_TICK_QUEUE_URL: `${inject("sqsEndpoint")}/000000000000/no-such-tick-queue` }),
    );
    const before = listings();
    await expect(handler(SCHEDULED_EVENT, context)).rejects.toThrow(/could not send the next poll tick/);
    // It polled: a sweep or a feed read reached the API.
    expect(listings()).toBeGreaterThan(before);
  });

  it("refuses to start below 60 s without the tick queue, naming the variable", () => {
    expect(() => loadPollerLambdaConfig({ ...envFor(), POLL_TICK_QUEUE_URL: "" })).toThrow(
      /^POLL_TICK_QUEUE_URL: is required when POLL_INTERVAL_SECONDS is below 60/,
    );
    expect(() => loadPollerLambdaConfig({ ...envFor(), POLL_INTERVAL_SECONDS: "5" })).toThrow(
      /^POLL_INTERVAL_SECONDS: must be one of 10, 15, 20, 30, 60/,
    );
  });

  /** Starts a fresh chain through the watchdog (the current one marked stopped). */
  async function restartChain() {
    const stale = { chainId: "stale-for-restart", seq: 1, tickedAt: new Date(Date.now() - 5 * 60_000) };
    expect(await chainStore.replace(stale, await chainStore.read())).toBe(true);
    await drainTicks();
    await handler(SCHEDULED_EVENT, context);
  }

  /** Empties the tick queue of what is visible now (delayed ticks are left to expire unseen). */
  async function drainTicks() {
    for (let message = await receiveTick(0); message; message = await receiveTick(0)) {
      await platform.rawSqs.send(
        new DeleteMessageCommand({ QueueUrl: tickQueueUrl, ReceiptHandle: message.ReceiptHandle }),
      );
    }
  }
});
