import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { ChangeMessageVisibilityCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeAll, describe, expect, inject, it, vi } from "vitest";
import { POSSIBLY_REPEATED_NOTE } from "../../src/domain/alert.ts";
import { eventIdFor, type NewReplyEvent } from "../../src/domain/events.ts";
import { type FakeSlack, startFakeSlack } from "../../src/local/fake-slack.ts";
import { createTestTable } from "../support/dynamodb.ts";

const BOT_TOKEN = "xoxb-lambda-batch-token-41c9";
const CHANNEL = "C0LAMBDA001";
const SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:slack-bot-AbCdEf";
const QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:respondent-notifier-events.fifo";

function replyEvent(conversationUid: string, messageUid: string): NewReplyEvent {
  return {
    version: 1,
    eventId: eventIdFor(conversationUid, messageUid),
    detectedAt: "2026-06-01T12:00:05.000Z",
    conversation: { uid: conversationUid, name: `Diary study - ${conversationUid}`, projectId: "project-a" },
    message: {
      uid: messageUid,
      createdAt: "2026-06-01T12:00:00.000Z",
      body: `ref ${messageUid}: see you then`,
      bodyTruncated: false,
    },
    sender: { known: true, uid: "participant-1", firstName: "Jane", lastName: "Doe" },
    targets: [
      {
        subscriptionId: `project-a#${CHANNEL}`,
        channelId: CHANNEL,
        mentions: [],
        threadPerConversation: true,
        body: "full",
      },
    ],
  };
}

function record(messageId: string, groupId: string, body: string): SQSRecord {
  return {
    messageId,
    receiptHandle: `receipt-${messageId}`,
    body,
    attributes: {
      ApproximateReceiveCount: "1",
      SentTimestamp: "1780315200000",
      SenderId: "AIDAEXAMPLE",
      ApproximateFirstReceiveTimestamp: "1780315200000",
      MessageGroupId: groupId,
      MessageDeduplicationId: messageId,
      SequenceNumber: "1",
    },
    messageAttributes: {},
    md5OfBody: "",
    eventSource: "aws:sqs",
    eventSourceARN: QUEUE_ARN,
    awsRegion: "us-east-1",
  };
}

const eventRecord = (messageId: string, conversationUid: string, messageUid: string) =>
  record(messageId, conversationUid, JSON.stringify(replyEvent(conversationUid, messageUid)));

const context = {
  functionName: "respondent-notifier-notifier",
  functionVersion: "$LATEST",
  invokedFunctionArn: "arn:aws:lambda:us-east-1:123456789012:function:respondent-notifier-notifier",
  memoryLimitInMB: "256",
  awsRequestId: "request-1",
  logGroupName: "/aws/lambda/respondent-notifier-notifier",
  logStreamName: "stream",
  callbackWaitsForEmptyEventLoop: true,
  getRemainingTimeInMillis: () => 30_000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
} as Context;

type Handler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

const failedIds = (response: SQSBatchResponse) => response.batchItemFailures.map((failure) => failure.itemIdentifier);
const postedRefs = (slack: FakeSlack) => slack.posts.map((post) => /ref (\w+):/.exec(post.text)?.[1]);

describe("the notifier Lambda handler with a batch of SQS FIFO records", () => {
  const secrets = mockClient(SecretsManagerClient);
  const sqs = mockClient(SQSClient);
  let slack: FakeSlack;
  let handler: Handler;

  beforeAll(async () => {
    const { tableName, client } = await createTestTable("notifier-lambda");
    client.destroy();
    slack = await startFakeSlack({ token: BOT_TOKEN, channels: [CHANNEL] });
    secrets.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ botToken: BOT_TOKEN }) });
    sqs.on(ChangeMessageVisibilityCommand).resolves({});
    vi.stubEnv("SLACK_SECRET_ARN", SECRET_ARN);
    vi.stubEnv("TABLE_NAME", tableName);
    vi.stubEnv("DYNAMODB_ENDPOINT", inject("dynamodbEndpoint"));
    vi.stubEnv("AWS_REGION", "us-east-1");
    vi.stubEnv("SLACK_API_URL", `${slack.url}/api/`);
    vi.stubEnv("SLACK_TIMEOUT_MS", "2000");
    vi.stubEnv("OPS_SLACK_CHANNEL", "");
    vi.stubEnv("POWERTOOLS_METRICS_NAMESPACE", "RespondentNotifierTest");
    vi.stubEnv("POWERTOOLS_SERVICE_NAME", "notifier");
    vi.stubEnv("POWERTOOLS_LOG_LEVEL", "CRITICAL");
    vi.stubEnv("POWERTOOLS_METRICS_DISABLED", "true");
    vi.resetModules();
    ({ handler } = (await import("../../lambdas/notifier/handler.ts")) as { handler: Handler });
  });

  afterAll(async () => {
    vi.useRealTimers();
    vi.unstubAllEnvs();
    secrets.restore();
    sqs.restore();
    await slack?.close();
  });

  it("fails a bad record alone, fails a conversation's later records behind a Slack 503 while other conversations post, and never re-posts on a retried batch", async () => {
    slack.failNext("chat.postMessage", 1, { status: 503 });
    const batch: SQSEvent = {
      Records: [
        eventRecord("a1", "conv-a", "ma1"),
        eventRecord("a2", "conv-a", "ma2"),
        record("bad", "conv-bad", "{not json"),
        eventRecord("b1", "conv-b", "mb1"),
        eventRecord("b2", "conv-b", "mb2"),
      ],
    };

    const first = await handler(batch, context);

    // A1 met the 503, so A2 waits behind it (same FIFO group); the bad record fails on its own.
    expect(failedIds(first).sort()).toEqual(["a1", "a2", "bad"]);
    expect(postedRefs(slack)).toEqual(["mb1", "mb2"]);
    // A 503 may have posted: the retry is delayed just past the claim lease.
    const delays = sqs.commandCalls(ChangeMessageVisibilityCommand).map((call) => call.args[0].input);
    expect(delays).toEqual([expect.objectContaining({ ReceiptHandle: "receipt-a1", VisibilityTimeout: 65 })]);

    // SQS redelivers the whole batch at once (e.g. the invocation timed out): nothing posts twice.
    const again = await handler(batch, context);
    expect(failedIds(again).sort()).toEqual(["a1", "a2", "bad"]);
    expect(postedRefs(slack)).toEqual(["mb1", "mb2"]);

    // Past the lease, A's records go through, in order, the interrupted one marked "may repeat".
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 70_000);
    const retried = await handler(
      { Records: [eventRecord("a1", "conv-a", "ma1"), eventRecord("a2", "conv-a", "ma2")] },
      context,
    );
    expect(failedIds(retried)).toEqual([]);
    expect(postedRefs(slack)).toEqual(["mb1", "mb2", "ma1", "ma2"]);
    const [, , a1, a2] = slack.posts;
    expect(JSON.stringify(a1?.blocks)).toContain(POSSIBLY_REPEATED_NOTE);
    expect(JSON.stringify(a2?.blocks)).not.toContain(POSSIBLY_REPEATED_NOTE);
    expect(a2?.threadTs).toBe(a1?.ts);

    const last = await handler(batch, context);
    expect(failedIds(last)).toEqual(["bad"]);
    expect(slack.posts).toHaveLength(4);
  });
});
