import { join } from "node:path";
import { createDynamoDbClient } from "../adapters/dynamo/client.ts";
import { DynamoHealthStore, DynamoSubscriptionPauses } from "../adapters/dynamo/health-store.ts";
import { DynamoDeliveryLedger } from "../adapters/dynamo/ledger.ts";
import { DynamoLocalQueue } from "../adapters/dynamo/local-queue.ts";
import { DynamoStateStore } from "../adapters/dynamo/state-store.ts";
import { DynamoSubscriptionStore } from "../adapters/dynamo/subscription-store.ts";
import { ensureTable } from "../adapters/dynamo/table.ts";
import { DynamoThreadStore } from "../adapters/dynamo/thread-store.ts";
import { slackOpsChannel } from "../adapters/ops-channel.ts";
import { RespondentApiClient } from "../adapters/respondent-api.ts";
import { createSlackPoster } from "../adapters/slack.ts";
import type { LocalConfig } from "../config.ts";
import { registerSecret } from "../errors.ts";
import type { Clock, ConversationSource, Log, Metrics } from "../ports.ts";
import { systemClock } from "../ports.ts";
import { DeliveryWatch } from "../usecases/delivery-watch.ts";
import {
  errorObservation,
  HealthMonitor,
  NOTIFIER_HEALTH_POLICY,
  POLLER_HEALTH_POLICY,
  pollObservation,
} from "../usecases/health.ts";
import type { NotifyPorts, PostedAlert } from "../usecases/notify.ts";
import type { PollPorts, PollReport, SeenCache } from "../usecases/poll.ts";
import { repoRoot, startDynamoDbLocal } from "./dynamodb-local.ts";

export { repoRoot };

import { startFakeSlack } from "./fake-slack.ts";
import { startRespondentSimulator } from "./simulator.ts";

/** The demo channel the embedded fake Slack accepts when no Slack workspace is configured. */
export const DEMO_CHANNEL_ID = "C0DEMO00001";

/** The notifier's ports plus, with an ops channel, the watch the local consumer runs after each delivery. */
export type LocalNotifyPorts = NotifyPorts & { deliveryWatch?: DeliveryWatch | undefined };

export interface LocalRuntime {
  pollPorts: PollPorts;
  notifyPorts: LocalNotifyPorts;
  /**
   * Records a finished (or thrown) poll in the poller's health, which posts transitions to
   * OPS_SLACK_CHANNEL. Does nothing without an ops channel; never throws.
   */
  observePoll(outcome: { report: PollReport } | { error: unknown }): Promise<void>;
  queue: DynamoLocalQueue;
  subscriptions: DynamoSubscriptionStore;
  /** One line per embedded stand-in that was started, for the start-up banner. */
  embedded: string[];
  simulator: Awaited<ReturnType<typeof startRespondentSimulator>> | undefined;
  close(): Promise<void>;
}

export interface LocalRuntimeOptions {
  log: Log;
  metrics: Metrics;
  clock?: Clock;
  /** Where the embedded DynamoDB Local keeps its data (git-ignored). */
  dataDir?: string;
  /** Called with each alert the embedded fake Slack receives. */
  onFakeSlackPost?: Parameters<typeof startFakeSlack>[0] extends infer O
    ? O extends { onPost?: infer F }
      ? F
      : never
    : never;
  onPosted?: (alert: PostedAlert) => void;
}

/**
 * Builds the whole pipeline for this machine. Every external service has an embedded
 * stand-in, used when its setting is absent: the Respondent simulator, DynamoDB Local, and a
 * fake Slack that prints alerts. The same use cases run as in AWS; only the queue differs
 * (a durable queue in the table instead of SQS).
 */
export async function startLocalRuntime(config: LocalConfig, options: LocalRuntimeOptions): Promise<LocalRuntime> {
  const clock = options.clock ?? systemClock;
  const closers: Array<() => Promise<void>> = [];
  const embedded: string[] = [];
  const close = async () => {
    for (const closer of closers.reverse()) await closer().catch(() => undefined);
  };

  try {
    let simulator: LocalRuntime["simulator"];
    let api: ConversationSource;
    if (config.respondentCredentials) {
      const credentials = config.respondentCredentials;
      registerSecret(credentials.apiKey);
      registerSecret(credentials.apiSecret);
      api = new RespondentApiClient({ ...config.respondent, credentials: async () => credentials, log: options.log });
    } else {
      simulator = await startRespondentSimulator({ now: () => clock.now() });
      closers.push(() => simulator?.close() ?? Promise.resolve());
      embedded.push(
        `Respondent API simulator at ${simulator.url} (set RESPONDENT_API_KEY/RESPONDENT_API_SECRET for the real API)`,
      );
      const credentials = { apiKey: simulator.apiKey, apiSecret: simulator.apiSecret };
      api = new RespondentApiClient({
        ...config.respondent,
        baseUrl: simulator.url,
        credentials: async () => credentials,
        log: options.log,
      });
    }

    let tableSettings = config.table;
    if (!tableSettings.endpoint) {
      const dataDir = options.dataDir ?? join(repoRoot(), ".data", "dynamodb");
      const dynamo = await startDynamoDbLocal({ dataDir });
      closers.push(() => dynamo.stop());
      embedded.push(`DynamoDB Local at ${dynamo.endpoint}, data in ${dataDir} (set DYNAMODB_ENDPOINT to use another)`);
      tableSettings = { ...tableSettings, endpoint: dynamo.endpoint };
    }
    const client = createDynamoDbClient(tableSettings);
    closers.push(async () => client.destroy());
    await ensureTable(client, tableSettings.tableName, { log: options.log });

    let slackToken = config.slackBotToken;
    let slackApiUrl = config.slack.apiUrl;
    if (!slackToken) {
      slackToken = "xoxb-local-fake-slack";
      const fakeSlack = await startFakeSlack({
        token: slackToken,
        acceptAnyChannel: true,
        ...(options.onFakeSlackPost ? { onPost: options.onFakeSlackPost } : {}),
      });
      closers.push(() => fakeSlack.close());
      slackApiUrl = `${fakeSlack.url}/api/`;
      embedded.push(
        `fake Slack at ${fakeSlack.url}: alerts are printed here (set SLACK_BOT_TOKEN to post to your workspace)`,
      );
    } else {
      registerSecret(slackToken);
    }
    const slack = createSlackPoster({
      token: slackToken,
      apiUrl: slackApiUrl,
      timeoutMs: config.slack.timeoutMs,
      log: options.log,
    });

    const subscriptions = new DynamoSubscriptionStore(client, tableSettings.tableName, { log: options.log });
    const queue = new DynamoLocalQueue(client, tableSettings.tableName);
    const cache: SeenCache = new Map();

    let pollHealth: HealthMonitor | undefined;
    let deliveryWatch: DeliveryWatch | undefined;
    if (config.opsChannelId) {
      const ops = slackOpsChannel(config.opsChannelId, slack);
      const healthStore = new DynamoHealthStore(client, tableSettings.tableName, { clock, log: options.log });
      const monitor = (component: "poller" | "notifier") =>
        new HealthMonitor({
          component,
          policy: component === "poller" ? POLLER_HEALTH_POLICY : NOTIFIER_HEALTH_POLICY,
          store: healthStore,
          ops,
          clock,
          log: options.log,
        });
      pollHealth = monitor("poller");
      deliveryWatch = new DeliveryWatch({
        health: monitor("notifier"),
        subscriptions,
        pauses: new DynamoSubscriptionPauses(client, tableSettings.tableName),
        ops,
        clock,
        log: options.log,
      });
      options.log.info(`health changes and paused channels are posted to the ops channel ${config.opsChannelId}`);
    }

    return {
      pollPorts: {
        api,
        state: new DynamoStateStore(client, tableSettings.tableName),
        queue,
        subscriptions,
        clock,
        log: options.log,
        metrics: options.metrics,
        cache,
      },
      notifyPorts: {
        ledger: new DynamoDeliveryLedger(client, tableSettings.tableName),
        threads: new DynamoThreadStore(client, tableSettings.tableName),
        slack,
        clock,
        log: options.log,
        metrics: options.metrics,
        conversationUrlTemplate: config.conversationUrlTemplate,
        ...(options.onPosted ? { onPosted: options.onPosted } : {}),
        deliveryWatch,
      },
      async observePoll(outcome) {
        if (!pollHealth) return;
        await pollHealth.observe(
          "report" in outcome ? pollObservation(outcome.report) : errorObservation(outcome.error),
        );
      },
      queue,
      subscriptions,
      embedded,
      simulator,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
