import { randomUUID } from "node:crypto";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { type Message, ReceiveMessageCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from "vitest";
import { subscriptionStore } from "../../src/app/compose.ts";
import { eventIdFor, type NewReplyEvent, serializeEvent } from "../../src/domain/events.ts";
import { type FakeSlack, startFakeSlack } from "../../src/local/fake-slack.ts";
import { type RespondentSimulator, startRespondentSimulator } from "../../src/local/simulator.ts";
import { type CliRun, runCli } from "../support/cli.ts";
import { lambdaContext } from "../support/lambda.ts";
import { createTestPlatform, type TestPlatform } from "../support/platform.ts";
import { subscriptionFor } from "../support/reliability/hostile.ts";
import { RecordingLog } from "../support/reliability/stats.ts";

/** Recognisable values: if any of them (or its distinctive core) shows up in output, it leaked. */
const CLI_SECRETS = {
  apiKey: "rk-LEAKCHECK-key-5f1e2d3c4b",
  apiSecret: "rs-LEAKCHECK-secret-9a8b7c6d",
  botToken: "xoxb-LEAKCHECK-token-1a2b3c4d",
};
const LAMBDA_SECRETS = {
  apiKey: "rk-LAMBDALEAK-key-0f9e8d7c",
  apiSecret: "rs-LAMBDALEAK-secret-6b5a4f3e",
  botToken: "xoxb-LAMBDALEAK-token-2c1b0a9f",
};
const CHANNEL = "C0SECRETS01";
const UNAVAILABLE_CHANNEL = "C0SECRETS02";
const REJECTED_CHANNEL = "C0SECRETS03";

function leaks(output: string, secrets: Record<string, string>): string[] {
  return Object.entries(secrets).flatMap(([name, value]) => {
    const core = value.split("-").at(-1) ?? value;
    return output.includes(value) || output.includes(core) ? [name] : [];
  });
}

/** An upstream error page that echoes our credentials back, as some proxies do. */
const echoingBody = (secrets: typeof CLI_SECRETS) =>
  JSON.stringify({
    message: "upstream failure",
    request: { headers: { "x-api-key": secrets.apiKey, "x-api-secret": secrets.apiSecret } },
    hint: `Authorization: Bearer ${secrets.botToken}`,
  });

describe("secrets through a full CLI cycle", () => {
  let simulator: RespondentSimulator;
  let slack: FakeSlack;
  let env: Record<string, string>;

  beforeAll(async () => {
    simulator = await startRespondentSimulator({
      apiKey: CLI_SECRETS.apiKey,
      apiSecret: CLI_SECRETS.apiSecret,
      conversations: 5,
      pageSizeCap: 3,
    });
    slack = await startFakeSlack({ token: CLI_SECRETS.botToken, channels: [CHANNEL] });
    env = {
      RESPONDENT_API_URL: simulator.url,
      RESPONDENT_API_KEY: CLI_SECRETS.apiKey,
      RESPONDENT_API_SECRET: CLI_SECRETS.apiSecret,
      RESPONDENT_MAX_RETRIES: "1",
      SLACK_BOT_TOKEN: CLI_SECRETS.botToken,
      SLACK_API_URL: `${slack.url}/api/`,
      DYNAMODB_ENDPOINT: inject("dynamodbEndpoint"),
      SQS_ENDPOINT: inject("sqsEndpoint"),
      TABLE_NAME: `secrets-cli-${randomUUID()}`,
    };
  });

  afterAll(async () => {
    await simulator?.close();
    await slack?.close();
  });

  it("never prints the API key, API secret or bot token in stdout or stderr, even at debug level and when upstream errors echo them", async () => {
    const project = simulator.projectIds[0] ?? "";
    const runs: Array<[string, CliRun]> = [];
    const cli = async (label: string, args: string[]) => {
      const run = await runCli(["--log-level", "debug", ...args], env);
      runs.push([label, run]);
      return run;
    };

    const added = await cli("subscriptions add", ["subscriptions", "add", "--project", project, "--channel", CHANNEL]);
    expect(added.code, added.stderr).toBe(0);

    const firstConversation = simulator.addConversation({
      projectId: project,
      firstMessage: { from: "participant", body: "hello" },
    });
    const polled = await cli("poll --once", ["poll", "--once"]);
    expect(polled.code, polled.stderr).toBe(0);
    expect(slack.posts).toHaveLength(1);

    simulator.addMessage(firstConversation, { from: "participant", body: "are you there?" });
    // RESPONDENT_MAX_RETRIES=1: both attempts at page 1 meet the echoing error page.
    simulator.failNext(2, { status: 503, body: echoingBody(CLI_SECRETS) });
    const failed = await cli("failing poll", ["poll", "--once"]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/Respondent API unavailable: 503/);

    slack.failNext("chat.postMessage", 1, { error: "invalid_auth" });
    const rejected = await cli("poll with the token rejected", ["poll", "--once"]);
    expect(rejected.stderr).toMatch(/Slack rejected the bot token \(invalid_auth\): check SLACK_BOT_TOKEN/);

    const listed = await cli("subscriptions list", ["subscriptions", "list"]);
    expect(listed.code).toBe(0);

    for (const [label, run] of runs) {
      expect(leaks(run.stdout + run.stderr, CLI_SECRETS), label).toEqual([]);
    }
  }, 120_000);
});

/** Captures everything a Lambda would send to CloudWatch: Powertools writes through process.stdout/stderr. */
function captureOutput(): { text: () => string; restore: () => void } {
  const chunks: string[] = [];
  const record = (chunk: unknown) => {
    chunks.push(typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString("utf8"));
    return true;
  };
  const spies = [
    vi.spyOn(process.stdout, "write").mockImplementation(record),
    vi.spyOn(process.stderr, "write").mockImplementation(record),
    ...(["log", "info", "warn", "error", "debug"] as const).map((method) =>
      vi.spyOn(console, method).mockImplementation((...parts: unknown[]) => {
        record(parts.map(String).join(" "));
      }),
    ),
  ];
  return {
    text: () => chunks.join(""),
    restore: () => {
      for (const spy of spies) spy.mockRestore();
    },
  };
}

const invocation = lambdaContext({ functionName: "respondent-notifier-test", awsRequestId: "request-secrets" });

describe("secrets through the Lambda handlers' logs", () => {
  const secretsManager = mockClient(SecretsManagerClient);
  let platform: TestPlatform;
  const RESPONDENT_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:respondent-AbCdEf";
  const SLACK_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:slack-AbCdEf";
  let simulator: RespondentSimulator;
  let slack: FakeSlack;
  let tableName: string;
  let output: ReturnType<typeof captureOutput> | undefined;

  beforeAll(async () => {
    platform = await createTestPlatform({ prefix: "secrets-lambda", log: new RecordingLog() });
    tableName = platform.tableName;
    simulator = await startRespondentSimulator({
      apiKey: LAMBDA_SECRETS.apiKey,
      apiSecret: LAMBDA_SECRETS.apiSecret,
      conversations: 3,
    });
    await subscriptionStore(platform).add({
      ...subscriptionFor(simulator.projectIds[0] ?? "", CHANNEL),
      createdAt: new Date().toISOString(),
    });
    slack = await startFakeSlack({
      token: LAMBDA_SECRETS.botToken,
      channels: [CHANNEL, UNAVAILABLE_CHANNEL, REJECTED_CHANNEL],
    });
    secretsManager
      .on(GetSecretValueCommand, { SecretId: RESPONDENT_ARN })
      .resolves({
        SecretString: JSON.stringify({ apiKey: LAMBDA_SECRETS.apiKey, apiSecret: LAMBDA_SECRETS.apiSecret }),
      })
      .on(GetSecretValueCommand, { SecretId: SLACK_ARN })
      .resolves({ SecretString: JSON.stringify({ botToken: LAMBDA_SECRETS.botToken }) });
    for (const [name, value] of Object.entries({
      RESPONDENT_SECRET_ARN: RESPONDENT_ARN,
      SLACK_SECRET_ARN: SLACK_ARN,
      // The handlers' SQS clients reach the emulator; their retry delays and dead letters are real.
      QUEUE_URL: platform.queueUrls.queueUrl,
      DLQ_URL: platform.queueUrls.deadLetterQueueUrl,
      AWS_ENDPOINT_URL_SQS: inject("sqsEndpoint"),
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
      RESPONDENT_API_URL: simulator.url,
      RESPONDENT_MAX_RETRIES: "1",
      SLACK_API_URL: `${slack.url}/api/`,
      SLACK_TIMEOUT_MS: "2000",
      TABLE_NAME: tableName,
      DYNAMODB_ENDPOINT: inject("dynamodbEndpoint"),
      AWS_REGION: "us-east-1",
      OPS_SLACK_CHANNEL: "",
      POWERTOOLS_LOG_LEVEL: "DEBUG",
      POWERTOOLS_METRICS_NAMESPACE: "RespondentNotifierTest",
      POWERTOOLS_SERVICE_NAME: "respondent-notifier",
    })) {
      vi.stubEnv(name, value);
    }
  });

  afterEach(() => {
    output?.restore();
    output = undefined;
  });

  afterAll(async () => {
    vi.unstubAllEnvs();
    secretsManager.restore();
    await platform?.close();
    await simulator?.close();
    await slack?.close();
  });

  it("never logs the Respondent credentials from the poller, on a good poll or one whose error pages echo them", async () => {
    vi.resetModules();
    const { handler } = (await import("../../lambdas/poller/handler.ts")) as {
      handler: (event: unknown, context: Context) => Promise<{ eventsQueued: number }>;
    };
    simulator.addConversation({
      projectId: simulator.projectIds[0],
      firstMessage: { from: "participant", body: "hi" },
    });

    output = captureOutput();
    const good = await handler({}, invocation);
    simulator.failNext(2, { status: 503, body: echoingBody(LAMBDA_SECRETS) });
    const failure = await handler({}, invocation).catch((error: unknown) => error);
    const logs = output.text();
    output.restore();

    expect(good.eventsQueued).toBe(1);
    expect(failure).toBeInstanceOf(Error);
    expect(String((failure as Error).message)).toMatch(/503/);
    expect(logs).toMatch(/"message":"poll finished"/);
    expect(logs).toMatch(/Respondent request failed; retrying/);
    expect(leaks(logs, LAMBDA_SECRETS)).toEqual([]);
    expect(leaks(`${(failure as Error).message}\n${(failure as Error).stack}`, LAMBDA_SECRETS)).toEqual([]);
  });

  it("never logs the bot token from the notifier, whether Slack posts, fails with a 503, or rejects the token", async () => {
    vi.resetModules();
    const { handler } = (await import("../../lambdas/notifier/handler.ts")) as {
      handler: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;
    };
    /** The record as the event source hands it over: queued in the emulator and received from it. */
    // Each case posts to its own channel, so the notifier's per-channel pace never defers one case's
    // post behind the previous case's.
    const record = async (
      conversation: string,
      message: string,
      body?: string,
      channelId = CHANNEL,
    ): Promise<SQSRecord> => {
      const event: NewReplyEvent = {
        version: 1,
        eventId: eventIdFor(conversation, message),
        detectedAt: "2026-06-01T12:00:05.000Z",
        conversation: { uid: conversation, name: "Study" },
        message: {
          uid: message,
          createdAt: "2026-06-01T12:00:00.000Z",
          body: `reply ${message}`,
          bodyTruncated: false,
        },
        sender: { known: true, uid: "participant-1", firstName: "Jane" },
        targets: [
          {
            subscriptionId: `p#${CHANNEL}`,
            channelId,
            mentions: [],
            threadPerConversation: true,
            body: "full",
          },
        ],
      };
      const messageId = `${conversation}-${message}`;
      const sent = await platform.rawSqs.send(
        new SendMessageCommand({
          QueueUrl: platform.queueUrls.queueUrl,
          MessageBody: body ?? serializeEvent(event),
          MessageGroupId: conversation,
          MessageDeduplicationId: messageId,
        }),
      );
      // Receive that very message (an earlier one may be visible again after its retry delay).
      let queued: Message | undefined;
      while (!queued) {
        const received = await platform.rawSqs.send(
          new ReceiveMessageCommand({
            QueueUrl: platform.queueUrls.queueUrl,
            MaxNumberOfMessages: 10,
            VisibilityTimeout: 180,
          }),
        );
        queued = received.Messages?.find((candidate) => candidate.MessageId === sent.MessageId);
      }
      return {
        messageId,
        receiptHandle: queued?.ReceiptHandle ?? "",
        body: queued?.Body ?? "",
        attributes: {
          ApproximateReceiveCount: "1",
          SentTimestamp: "0",
          SenderId: "x",
          ApproximateFirstReceiveTimestamp: "0",
          MessageGroupId: conversation,
        },
        messageAttributes: {},
        md5OfBody: "",
        eventSource: "aws:sqs",
        eventSourceARN: "arn:aws:sqs:us-east-1:123456789012:respondent-notifier-events.fifo",
        awsRegion: "us-east-1",
      };
    };

    output = captureOutput();
    const posted = await handler({ Records: [await record("conv-1", "m1")] }, invocation);
    slack.failNext("chat.postMessage", 1, { status: 503 });
    const unavailable = await handler(
      {
        Records: [
          await record("conv-2", "m1", undefined, UNAVAILABLE_CHANNEL),
          await record("conv-5", "m1", undefined, UNAVAILABLE_CHANNEL),
        ],
      },
      invocation,
    );
    slack.failNext("chat.postMessage", 1, { error: "invalid_auth" });
    const rejected = await handler(
      {
        Records: [
          await record("conv-3", "m1", undefined, REJECTED_CHANNEL),
          await record("conv-4", "m1", "{oops"),
          await record("conv-6", "m1", undefined, REJECTED_CHANNEL),
        ],
      },
      invocation,
    );
    const logs = output.text();
    output.restore();

    expect(posted.batchItemFailures).toEqual([]);
    // Both conversations are delivered at once: whichever met the 503 stays queued (and the
    // other too, when Slack's pace for the channel sends it back to wait for its slot).
    expect(unavailable.batchItemFailures.length).toBeGreaterThanOrEqual(1);
    expect(logs).toMatch(/"message":"delivery will be retried".*503/);
    // The record that is not an event goes to the dead letters at once; the one whose post met the rejected token stays.
    expect(rejected.batchItemFailures.length).toBeGreaterThanOrEqual(1);
    expect(rejected.batchItemFailures).not.toContainEqual({ itemIdentifier: "conv-4-m1" });
    const deadLetters = await platform.rawSqs.send(
      new ReceiveMessageCommand({ QueueUrl: platform.queueUrls.deadLetterQueueUrl, MaxNumberOfMessages: 10 }),
    );
    expect(deadLetters.Messages?.map((message) => message.Body)).toEqual(["{oops"]);
    expect(logs).toMatch(/"message":"alert posted"/);
    expect(logs).toMatch(/SLACK_BOT_TOKEN/);
    expect(leaks(logs, LAMBDA_SECRETS)).toEqual([]);
  });
});
