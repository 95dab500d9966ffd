import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
} from "@aws-sdk/client-sqs";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeAll, describe, expect, inject, it, vi } from "vitest";
import { POSSIBLY_REPEATED_NOTE } from "../../src/domain/alert.ts";
import { eventIdFor, type NewReplyEvent, serializeEvent } from "../../src/domain/events.ts";
import { type FakeSlack, startFakeSlack } from "../../src/local/fake-slack.ts";
import { lambdaContext } from "../support/lambda.ts";
import { createTestPlatform, type TestPlatform } from "../support/platform.ts";

const BOT_TOKEN = "xoxb-lambda-batch-token-41c9";
const CHANNEL = "C0LAMBDA001";
const SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:slack-bot-AbCdEf";

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

const context = lambdaContext({ functionName: "respondent-notifier-notifier", remainingMs: 30_000 });

type Handler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

const postedRefs = (slack: FakeSlack) => slack.posts.map((post) => /ref (\w+):/.exec(post.text)?.[1]);

/**
 * The real notifier Lambda handler, fed as its SQS event source would feed it from the SQS
 * emulator: a receive becomes the records of an invocation, and the records the handler does
 * not report as failed are deleted afterwards. Its own SQS calls (retry delays, dead letters)
 * reach the emulator through AWS_ENDPOINT_URL_SQS. Only Secrets Manager is mocked.
 */
describe("the notifier Lambda handler over the SQS emulator", () => {
  const secrets = mockClient(SecretsManagerClient);
  let platform: TestPlatform;
  let slack: FakeSlack;
  let handler: Handler;

  beforeAll(async () => {
    slack = await startFakeSlack({ token: BOT_TOKEN, channels: [CHANNEL] });
    platform = await createTestPlatform({ prefix: "notifier-lambda" });
    secrets.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ botToken: BOT_TOKEN }) });
    vi.stubEnv("SLACK_SECRET_ARN", SECRET_ARN);
    vi.stubEnv("TABLE_NAME", platform.tableName);
    vi.stubEnv("DYNAMODB_ENDPOINT", inject("dynamodbEndpoint"));
    vi.stubEnv("QUEUE_URL", platform.queueUrls.queueUrl);
    vi.stubEnv("DLQ_URL", platform.queueUrls.deadLetterQueueUrl);
    vi.stubEnv("AWS_ENDPOINT_URL_SQS", inject("sqsEndpoint"));
    vi.stubEnv("AWS_ACCESS_KEY_ID", "test");
    vi.stubEnv("AWS_SECRET_ACCESS_KEY", "test");
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
    await slack?.close();
    await platform?.close();
  });

  const send = async (messageId: string, groupId: string, body: string) => {
    await platform.rawSqs.send(
      new SendMessageCommand({
        QueueUrl: platform.queueUrls.queueUrl,
        MessageBody: body,
        MessageGroupId: groupId,
        MessageDeduplicationId: messageId,
      }),
    );
  };
  const sendEvent = (messageId: string, conversationUid: string, messageUid: string) =>
    send(messageId, conversationUid, serializeEvent(replyEvent(conversationUid, messageUid)));

  const refOfBody = (message: SQSRecord) => {
    const body = message.body;
    return /ref (\w+):/.exec(body)?.[1] ?? (body.startsWith("{not") ? "bad" : "?");
  };

  /** One invocation, as the event source mapping makes it: receive, invoke, delete what did not fail. */
  const invokeFromQueue = async (): Promise<{ records: SQSRecord[]; failed: string[] }> => {
    const received = await platform.rawSqs.send(
      new ReceiveMessageCommand({
        QueueUrl: platform.queueUrls.queueUrl,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: 180,
        MessageSystemAttributeNames: ["All"],
      }),
    );
    const records = (received.Messages ?? []).map(toRecord);
    const response = await handler({ Records: records }, context);
    const failed = response.batchItemFailures.map((failure) => failure.itemIdentifier);
    for (const record of records) {
      if (failed.includes(record.messageId)) continue;
      await platform.rawSqs.send(
        new DeleteMessageCommand({ QueueUrl: platform.queueUrls.queueUrl, ReceiptHandle: record.receiptHandle }),
      );
    }
    return { records, failed: records.filter((record) => failed.includes(record.messageId)).map(refOfBody) };
  };

  const counts = async (queueUrl: string) => {
    const { Attributes = {} } = await platform.rawSqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
      }),
    );
    return {
      visible: Number(Attributes.ApproximateNumberOfMessages),
      hidden: Number(Attributes.ApproximateNumberOfMessagesNotVisible),
    };
  };

  it("dead-letters a bad record at once, holds a conversation behind its retried alert while others post, and never posts twice or marked", async () => {
    // Aimed at a1: the handler posts conversations concurrently, so "the next post" could be b1's.
    slack.failNext("chat.postMessage", 1, { status: 503 }, { whenTextIncludes: "ref ma1:" });
    await sendEvent("a1", "conv-a", "ma1");
    await sendEvent("a2", "conv-a", "ma2");
    await send("bad", "conv-bad", "{not json");
    await sendEvent("b1", "conv-b", "mb1");
    await sendEvent("b2", "conv-b", "mb2");

    // The emulator hands out one message per conversation at a time.
    const first = await invokeFromQueue();
    expect(first.records.map(refOfBody).sort()).toEqual(["bad", "ma1", "mb1"]);
    // a1 met the 503 and is retried; the bad record is moved to the dead letters and removed.
    expect(first.failed).toEqual(["ma1"]);
    expect(postedRefs(slack)).toEqual(["mb1"]);
    expect(await counts(platform.queueUrls.deadLetterQueueUrl)).toEqual({ visible: 1, hidden: 0 });

    // A 503 may have posted: a1 stays hidden until its retry (a few seconds, for the read-back), and a2 waits behind it.
    const second = await invokeFromQueue();
    expect(second.records.map(refOfBody)).toEqual(["mb2"]);
    expect(postedRefs(slack)).toEqual(["mb1", "mb2"]);
    expect(await counts(platform.queueUrls.queueUrl)).toEqual({ visible: 1, hidden: 1 });
    expect((await invokeFromQueue()).records).toEqual([]);

    // Part of the batch handed over again (an invocation that timed out): b1 is skipped by the
    // ledger; a1 does not wait for its claim's lease, reads the channel back, finds no earlier
    // post (a plain 503 does not post) and posts once, unmarked.
    const a1 = first.records.find((record) => refOfBody(record) === "ma1");
    const b1 = first.records.find((record) => refOfBody(record) === "mb1");
    const again = await handler({ Records: [a1, b1].filter((record) => record !== undefined) }, context);
    expect(again.batchItemFailures).toEqual([]);
    expect(postedRefs(slack)).toEqual(["mb1", "mb2", "ma1"]);

    // When SQS hands a1 over once more it is skipped, and a2 follows in a1's thread.
    await platform.rawSqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: platform.queueUrls.queueUrl,
        ReceiptHandle: a1?.receiptHandle,
        VisibilityTimeout: 0,
      }),
    );
    expect((await invokeFromQueue()).failed).toEqual([]);
    expect((await invokeFromQueue()).failed).toEqual([]);
    expect(postedRefs(slack)).toEqual(["mb1", "mb2", "ma1", "ma2"]);
    const [, , postedA1, postedA2] = slack.posts;
    expect(JSON.stringify(postedA1?.blocks)).not.toContain(POSSIBLY_REPEATED_NOTE);
    expect(JSON.stringify(postedA2?.blocks)).not.toContain(POSSIBLY_REPEATED_NOTE);
    expect(postedA2?.threadTs).toBe(postedA1?.ts);
    expect(await counts(platform.queueUrls.queueUrl)).toEqual({ visible: 0, hidden: 0 });
  });
});

function toRecord(message: Message): SQSRecord {
  const attributes = message.Attributes ?? {};
  return {
    messageId: message.MessageId ?? "",
    receiptHandle: message.ReceiptHandle ?? "",
    body: message.Body ?? "",
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? "1",
      SentTimestamp: attributes.SentTimestamp ?? "0",
      SenderId: attributes.SenderId ?? "",
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? "0",
      MessageGroupId: attributes.MessageGroupId,
      MessageDeduplicationId: attributes.MessageDeduplicationId,
      SequenceNumber: attributes.SequenceNumber,
    },
    messageAttributes: {},
    md5OfBody: message.MD5OfBody ?? "",
    eventSource: "aws:sqs",
    eventSourceARN: "arn:aws:sqs:us-east-1:000000000000:events.fifo",
    awsRegion: "us-east-1",
  };
}
