import { randomUUID } from "node:crypto";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DeleteMessageCommand, ReceiveMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { inject } from "vitest";
import { createDynamoDbClient } from "../../src/adapters/dynamo/client.ts";
import { ensureTable } from "../../src/adapters/dynamo/table.ts";
import { CountingMetrics, consoleLog } from "../../src/adapters/observability.ts";
import { createSqsClient } from "../../src/adapters/sqs-queue.ts";
import { LOCAL_QUEUE_SETTINGS } from "../../src/app/local.ts";
import type { Platform, PortDecorators } from "../../src/app/platform.ts";
import type { RespondentClientSettings } from "../../src/config.ts";
import { type NewReplyEvent, newReplyEventSchema } from "../../src/domain/events.ts";
import { ensureLocalQueues, type LocalQueueSettings, type LocalQueueUrls } from "../../src/local/sqs-local.ts";
import type { Clock, Log, Metrics } from "../../src/ports.ts";
import { systemClock } from "../../src/ports.ts";

/**
 * A Platform for one test: a fresh table in the run's DynamoDB Local and a fresh queue pair in
 * its SQS emulator (test/support/global-setup.ts), pointed at the given simulator and fake
 * Slack. Tests then get their ports from src/app/compose.ts, exactly as the entry points do.
 */
export interface TestPlatformOptions {
  prefix?: string;
  respondent?: { url: string; apiKey: string; apiSecret: string; settings?: Partial<RespondentClientSettings> };
  /** `postIntervalMs` defaults to 0 here: tests are about outcomes, not Slack's pace (give it to test the pace). */
  slack?: { url: string; token: string; timeoutMs?: number; postIntervalMs?: number; signingSecret?: string };
  /** Who may change subscriptions from Slack (SLACK_ADMIN_USERS). */
  slackAdminUsers?: string[];
  opsChannelId?: string;
  conversationUrlTemplate?: string;
  clock?: Clock;
  log?: Log;
  metrics?: Metrics;
  decorate?: PortDecorators;
  /** Wraps the raw DynamoDB client (fault injection, request counting). */
  wrapDynamo?: (client: DynamoDBClient) => DynamoDBClient;
  wrapSqs?: (client: SQSClient) => SQSClient;
  queueSettings?: LocalQueueSettings;
}

export interface TestPlatform extends Platform {
  tableName: string;
  rawDynamo: DynamoDBClient;
  rawSqs: SQSClient;
  queueUrls: LocalQueueUrls;
  close(): Promise<void>;
}

export const TEST_RESPONDENT_SETTINGS: RespondentClientSettings = {
  baseUrl: "http://127.0.0.1:1",
  pageSize: 100,
  maxConcurrency: 3,
  timeoutMs: 5_000,
  maxRetries: 0,
};

export async function createTestPlatform(options: TestPlatformOptions = {}): Promise<TestPlatform> {
  const tableName = `${options.prefix ?? "test"}-${randomUUID()}`;
  const rawDynamo = createDynamoDbClient({ tableName, region: "us-east-1", endpoint: inject("dynamodbEndpoint") });
  await ensureTable(rawDynamo, tableName);
  const rawSqs = createSqsClient({ region: "us-east-1", endpoint: inject("sqsEndpoint") });
  const urls = await ensureLocalQueues(rawSqs, tableName, options.queueSettings ?? LOCAL_QUEUE_SETTINGS);
  const respondent = options.respondent;
  const slack = options.slack;
  return {
    table: { client: options.wrapDynamo?.(rawDynamo) ?? rawDynamo, name: tableName, where: `"${tableName}"` },
    queue: { client: options.wrapSqs?.(rawSqs) ?? rawSqs, urls },
    respondent: respondent && {
      settings: { ...TEST_RESPONDENT_SETTINGS, ...respondent.settings, baseUrl: respondent.url },
      credentials: async () => ({ apiKey: respondent.apiKey, apiSecret: respondent.apiSecret }),
    },
    slack: slack && {
      settings: {
        apiUrl: `${slack.url}/api/`,
        timeoutMs: slack.timeoutMs ?? 5_000,
        postIntervalMs: slack.postIntervalMs ?? 0,
      },
      token: async () => slack.token,
      signingSecret: async () => slack.signingSecret,
    },
    slackAdminUsers: options.slackAdminUsers,
    opsChannelId: options.opsChannelId,
    conversationUrlTemplate: options.conversationUrlTemplate,
    clock: options.clock ?? systemClock,
    log: options.log ?? consoleLog({ level: "silent" }),
    metrics: options.metrics ?? new CountingMetrics(),
    decorate: options.decorate,
    tableName,
    rawDynamo,
    rawSqs,
    queueUrls: urls,
    async close() {
      rawDynamo.destroy();
      rawSqs.destroy();
    },
  };
}

/**
 * Takes every message off the platform's queue (receive, then delete) and returns the events in
 * queue order. The emulator hands out one message per conversation at a time, as FIFO queues
 * may, so reading a whole queue means consuming it.
 */
export async function takeQueuedEvents(platform: TestPlatform): Promise<NewReplyEvent[]> {
  const events: NewReplyEvent[] = [];
  for (;;) {
    const received = await platform.rawSqs.send(
      new ReceiveMessageCommand({
        QueueUrl: platform.queueUrls.queueUrl,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: 30,
      }),
    );
    const messages = received.Messages ?? [];
    if (messages.length === 0) return events;
    for (const message of messages) {
      events.push(newReplyEventSchema.parse(JSON.parse(message.Body ?? "")));
      await platform.rawSqs.send(
        new DeleteMessageCommand({ QueueUrl: platform.queueUrls.queueUrl, ReceiptHandle: message.ReceiptHandle }),
      );
    }
  }
}
