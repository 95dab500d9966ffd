import { join } from "node:path";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { ConsumedCapacityHook } from "../adapters/dynamo/capacity.ts";
import { createDynamoDbClient } from "../adapters/dynamo/client.ts";
import { ensureTable } from "../adapters/dynamo/table.ts";
import { createSqsClient } from "../adapters/sqs-queue.ts";
import { DEFAULT_REGION, type LocalConfig } from "../config.ts";
import type { Subscription } from "../domain/subscriptions.ts";
import { registerSecret } from "../errors.ts";
import { repoRoot, startDynamoDbLocal } from "../local/dynamodb-local.ts";
import { type FakeSlack, type FakeSlackOptions, startFakeSlack } from "../local/fake-slack.ts";
import { type RespondentSimulator, startRespondentSimulator } from "../local/simulator.ts";
import { ensureLocalQueues, startLocalSqs } from "../local/sqs-local.ts";
import { type Clock, type Log, type Metrics, type RespondentCredentials, systemClock } from "../ports.ts";
import { MAX_DELIVERY_ATTEMPTS } from "../usecases/deliver.ts";
import { respondentSecretGetter, slackSecretSigningGetter, slackSecretTokenGetter } from "./aws.ts";
import type { Platform, PortDecorators } from "./platform.ts";

/**
 * The platform of this machine. Every service has an embedded stand-in, started only when its
 * setting is absent and the command needs it: the Respondent API simulator, DynamoDB Local, the
 * SQS emulator (fauxqs) and a fake Slack that prints alerts. The same adapters and use cases run
 * as in AWS, against them.
 */

/** The demo channel the embedded fake Slack accepts when no Slack workspace is configured. */
export const DEMO_CHANNEL_ID = "C0DEMO00001";

/** The local queues behave like the deployed ones, except a crashed consumer's message is back after 30 s, not 3 minutes. */
export const LOCAL_QUEUE_SETTINGS = { maxReceiveCount: MAX_DELIVERY_ATTEMPTS, visibilityTimeoutSeconds: 30 } as const;

export interface LocalPlatformNeeds {
  respondent?: boolean;
  slack?: boolean;
  queue?: boolean;
}

export interface LocalPlatformOptions {
  needs: LocalPlatformNeeds;
  /** `use` (default): the table is created when missing. `inspect`: nothing is created (doctor checks it itself). */
  tableMode?: "use" | "inspect";
  log: Log;
  metrics: Metrics;
  clock?: Clock;
  /** Where the embedded DynamoDB Local and SQS emulator keep their data (git-ignored); default `.data/`. */
  dataDir?: string;
  /** Deployed secrets to use instead of RESPONDENT_API_KEY/SECRET and SLACK_BOT_TOKEN (NOTIFIER_TARGET=local with ARNs). */
  respondentSecretArn?: string | undefined;
  slackSecretArn?: string | undefined;
  /** Called with each message the embedded fake Slack receives. */
  onFakeSlackPost?: FakeSlackOptions["onPost"];
  /** Counts the DynamoDB capacity every request consumes (the bench). */
  onConsumedCapacity?: ConsumedCapacityHook;
  decorate?: PortDecorators;
}

export interface LocalPlatform extends Platform {
  /** One line per embedded stand-in that was started, for the start-up banner. */
  embedded: string[];
  simulator: RespondentSimulator | undefined;
  fakeSlack: FakeSlack | undefined;
  close(): Promise<void>;
}

const FAKE_SLACK_TOKEN = "xoxb-local-fake-slack";

export async function openLocalPlatform(config: LocalConfig, options: LocalPlatformOptions): Promise<LocalPlatform> {
  const clock = options.clock ?? systemClock;
  const dataDir = options.dataDir ?? join(repoRoot(), ".data");
  const closers: Array<() => Promise<void>> = [];
  const embedded: string[] = [];
  const close = async () => {
    for (const closer of closers.reverse()) await closer().catch(() => undefined);
    closers.length = 0;
  };

  try {
    const table = await openTable(config, dataDir, options, closers, embedded);
    const queue = options.needs.queue ? await openQueue(config, dataDir, table.name, closers, embedded) : undefined;

    let simulator: RespondentSimulator | undefined;
    let respondent: Platform["respondent"];
    if (options.needs.respondent) {
      let credentials: () => Promise<RespondentCredentials>;
      let settings = config.respondent;
      if (config.respondentCredentials) {
        const found = config.respondentCredentials;
        registerSecret(found.apiKey);
        registerSecret(found.apiSecret);
        credentials = async () => found;
      } else if (options.respondentSecretArn) {
        credentials = respondentSecretGetter(options.respondentSecretArn, config.table.region);
      } else {
        // Someone who is answered from Slack writes back a few seconds later, as in the demo's loop.
        const started = await startRespondentSimulator({ now: () => clock.now(), participantAnswersAfterMs: 4_000 });
        simulator = started;
        closers.push(() => started.close());
        embedded.push(
          `Respondent API simulator at ${started.url} (set RESPONDENT_API_KEY/RESPONDENT_API_SECRET for the real API)`,
        );
        const simulated = { apiKey: started.apiKey, apiSecret: started.apiSecret };
        credentials = async () => simulated;
        settings = { ...settings, baseUrl: started.url };
      }
      const configuredWebhookSecret = config.webhook.secret;
      if (configuredWebhookSecret) registerSecret(configuredWebhookSecret);
      const simulatorForHooks = simulator;
      // The simulator signs its deliveries with the privateKey of the webhook registered with it.
      const webhookSecret = configuredWebhookSecret
        ? async () => configuredWebhookSecret
        : async () => simulatorForHooks?.webhook?.privateKey;
      respondent = { settings, credentials, webhookSecret };
    }

    let fakeSlack: FakeSlack | undefined;
    let slack: Platform["slack"];
    let fallbackSubscriptions: Subscription[] | undefined;
    if (options.needs.slack) {
      const configuredSigningSecret = config.slackSigningSecret;
      if (configuredSigningSecret) registerSecret(configuredSigningSecret);
      if (config.slackBotToken) {
        const token = config.slackBotToken;
        registerSecret(token);
        slack = {
          settings: config.slack,
          token: async () => token,
          signingSecret: async () => configuredSigningSecret,
        };
      } else if (options.slackSecretArn) {
        const arn = options.slackSecretArn;
        slack = {
          settings: config.slack,
          token: slackSecretTokenGetter(arn, config.table.region),
          signingSecret: configuredSigningSecret
            ? async () => configuredSigningSecret
            : slackSecretSigningGetter(arn, config.table.region),
        };
      } else {
        const started = await startFakeSlack({
          token: FAKE_SLACK_TOKEN,
          acceptAnyChannel: true,
          // The fake Slack signs its interactions as Slack would, with SLACK_SIGNING_SECRET or one made up now.
          ...(configuredSigningSecret ? { signingSecret: configuredSigningSecret } : {}),
          ...(options.onFakeSlackPost ? { onPost: options.onFakeSlackPost } : {}),
        });
        fakeSlack = started;
        closers.push(() => started.close());
        embedded.push(
          `fake Slack at ${started.url}: alerts are printed here and shown, with working buttons, at ${started.pageUrl} (set SLACK_BOT_TOKEN to post to your workspace)`,
        );
        registerSecret(started.signingSecret);
        slack = {
          settings: { ...config.slack, apiUrl: `${started.url}/api/` },
          token: async () => FAKE_SLACK_TOKEN,
          signingSecret: async () => started.signingSecret,
        };
        // With no workspace, a newcomer with no subscription would see nothing: every project
        // alerts the fake Slack's demo channel, never stored, so it cannot outlive the demo.
        fallbackSubscriptions = [demoSubscription(clock.now())];
      }
    }

    return {
      table,
      queue,
      respondent,
      slack,
      opsChannelId: config.opsChannelId,
      conversationUrlTemplate: config.conversationUrlTemplate,
      slackAdminUsers: config.slackAdminUsers,
      fallbackSubscriptions,
      clock,
      log: options.log,
      metrics: options.metrics,
      decorate: options.decorate,
      embedded,
      simulator,
      fakeSlack,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

async function openTable(
  config: LocalConfig,
  dataDir: string,
  options: LocalPlatformOptions,
  closers: Array<() => Promise<void>>,
  embedded: string[],
): Promise<Platform["table"]> {
  let endpoint = config.table.endpoint;
  let where = `"${config.table.tableName}" at ${endpoint}`;
  if (!endpoint) {
    const folder = join(dataDir, "dynamodb");
    const dynamo = await startDynamoDbLocal({ dataDir: folder });
    closers.push(() => dynamo.stop());
    embedded.push(`DynamoDB Local at ${dynamo.endpoint}, data in ${folder} (set DYNAMODB_ENDPOINT to use another)`);
    endpoint = dynamo.endpoint;
    where = `"${config.table.tableName}" in the embedded DynamoDB Local (data in ${folder})`;
  }
  const client: DynamoDBClient = createDynamoDbClient(
    { ...config.table, endpoint },
    options.onConsumedCapacity ? { onConsumedCapacity: options.onConsumedCapacity } : {},
  );
  closers.push(async () => client.destroy());
  // Locally the table is created on first use (an embedded one always: it is this machine's own);
  // in AWS the stack owns it.
  if (options.tableMode !== "inspect" || !config.table.endpoint) {
    await ensureTable(client, config.table.tableName, { log: options.log });
  }
  return { client, name: config.table.tableName, where };
}

async function openQueue(
  config: LocalConfig,
  dataDir: string,
  tableName: string,
  closers: Array<() => Promise<void>>,
  embedded: string[],
): Promise<Platform["queue"]> {
  let endpoint = config.sqsEndpoint;
  if (!endpoint) {
    const folder = join(dataDir, "sqs");
    const sqs = await startLocalSqs({ dataDir: folder });
    closers.push(() => sqs.stop());
    embedded.push(`SQS emulator (fauxqs) at ${sqs.endpoint}, data in ${folder} (set SQS_ENDPOINT to use another)`);
    endpoint = sqs.endpoint;
  }
  const client = createSqsClient({ region: config.table.region ?? DEFAULT_REGION, endpoint });
  closers.push(async () => client.destroy());
  return { client, urls: await ensureLocalQueues(client, tableName, LOCAL_QUEUE_SETTINGS) };
}

export function demoSubscription(now: Date): Subscription {
  return {
    projectId: "*",
    channelId: DEMO_CHANNEL_ID,
    mentions: [],
    threadPerConversation: true,
    body: "full",
    paused: false,
    createdAt: now.toISOString(),
  };
}
