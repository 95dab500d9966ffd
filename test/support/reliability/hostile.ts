import { randomUUID } from "node:crypto";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { SQSClient } from "@aws-sdk/client-sqs";
import { ensureTable } from "../../../src/adapters/dynamo/table.ts";
import { composeNotifier, composePoller, deliveryQueue, subscriptionStore } from "../../../src/app/compose.ts";
import type { Platform } from "../../../src/app/platform.ts";
import type { NewReplyEvent } from "../../../src/domain/events.ts";
import { type Subscription, subscriptionSchema } from "../../../src/domain/subscriptions.ts";
import { type RecordedPost, startFakeSlack } from "../../../src/local/fake-slack.ts";
import { ensureLocalQueues } from "../../../src/local/sqs-local.ts";
import { drainQueue } from "../../../src/usecases/deliver.ts";
import type { PollReport } from "../../../src/usecases/poll.ts";
import { pollCycle } from "../../../src/usecases/poll-cycle.ts";
import { type InterceptAnswer, type ServedRequest, startSnapshotServer } from "./snapshot-server.ts";
import { RecordingLog, RecordingMetrics } from "./stats.ts";

export const HOSTILE_KEY = "hostile-api-key-0d4c";
export const HOSTILE_SECRET = "hostile-api-secret-a6f3";
export const HOSTILE_TOKEN = "xoxb-hostile-slack-token";
export const TEAM = { uid: "team-account-1", firstName: "Acme Research", lastName: "T" };
export const SUBSCRIBED_AT = "2026-03-01T00:00:00.000Z";

export interface MessageSpec {
  uid: string;
  createdAt: string;
  body?: string;
  from?: "participant" | "team";
}

/** A contract-shaped conversation item, as the API would send it. */
export function conversationItem(
  uid: string,
  projectId: string,
  messages: MessageSpec[],
  participant: { firstName: string; lastName: string } = { firstName: "Jane", lastName: "Doe" },
  name = `Study - ${participant.firstName}`,
): Record<string, unknown> {
  const person = { uid: `participant-of-${uid}`, ...participant };
  const latest = messages.at(-1);
  return {
    uid,
    createdAt: messages[0]?.createdAt ?? SUBSCRIBED_AT,
    name,
    deleted: false,
    locked: false,
    metadata: { projectId, externalResearcherId: "researcher-1" },
    user: TEAM,
    participants: [
      { ...TEAM, read: true, deleted: false },
      { ...person, read: false, deleted: false },
    ],
    messages: messages.map((message) => ({
      uid: message.uid,
      createdAt: message.createdAt,
      body: message.body ?? `ref ${message.uid}: hello`,
      sender: message.from === "team" ? TEAM : person,
    })),
    latestMessage: latest
      ? { uid: latest.uid, createdAt: latest.createdAt, body: latest.body ?? "" }
      : { uid, createdAt: SUBSCRIBED_AT, body: "" },
    messagesCount: messages.length,
  };
}

export const minutesAfterStart = (minutes: number) =>
  new Date(Date.parse(SUBSCRIBED_AT) + minutes * 60_000).toISOString();

export function subscriptionFor(projectId: string, channelId: string): Subscription {
  return subscriptionSchema.parse({ projectId, channelId, createdAt: SUBSCRIBED_AT });
}

export interface HostileSetup {
  /** Items per `projectId` filter (undefined: no filter), in listing order. */
  listing: (projectId: string | undefined) => unknown[];
  subscriptions: Subscription[];
  pageCap?: number;
  includeTotal?: boolean;
  intercept?: (request: ServedRequest) => InterceptAnswer | undefined;
  /** Polls to run one after the other (each followed by delivery). */
  polls?: number;
}

export interface HostileOutcome {
  reports: PollReport[];
  log: RecordingLog;
  metrics: RecordingMetrics;
  posts: RecordedPost[];
  requests: readonly ServedRequest[];
  /** The events as queued, read back from the durable queue before delivery. */
  queued: NewReplyEvent[];
  pollMs: number[];
}

/** One poll + delivery through the composed ports (real client, adapters, SQS emulator and WebClient), against a hostile listing. */
export async function pollHostileApi(
  clients: { dynamo: DynamoDBClient; sqs: SQSClient },
  setup: HostileSetup,
): Promise<HostileOutcome> {
  const tableName = `hostile-${randomUUID()}`;
  await ensureTable(clients.dynamo, tableName);
  const log = new RecordingLog(5_000);
  const metrics = new RecordingMetrics();
  const posts: RecordedPost[] = [];
  const queued: NewReplyEvent[] = [];
  const slack = await startFakeSlack({
    token: HOSTILE_TOKEN,
    acceptAnyChannel: true,
    onPost: (post) => posts.push(post),
  });
  const server = await startSnapshotServer({
    apiKey: HOSTILE_KEY,
    apiSecret: HOSTILE_SECRET,
    source: { listing: setup.listing, pageCap: setup.pageCap ?? 100, includeTotal: setup.includeTotal ?? true },
    ...(setup.intercept ? { intercept: setup.intercept } : {}),
  });
  try {
    const platform: Platform = {
      table: { client: clients.dynamo, name: tableName, where: tableName },
      queue: {
        client: clients.sqs,
        urls: await ensureLocalQueues(clients.sqs, tableName, { maxReceiveCount: 5, visibilityTimeoutSeconds: 30 }),
      },
      respondent: {
        settings: { baseUrl: server.url, pageSize: 100, maxConcurrency: 2, timeoutMs: 5_000, maxRetries: 1 },
        credentials: async () => ({ apiKey: HOSTILE_KEY, apiSecret: HOSTILE_SECRET }),
        retryTiming: { sleep: async () => undefined },
      },
      // Slack's pace (an alert a little over a second per channel) would send a third alert back to
      // wait for its slot: these tests are about what the API answers, not about pace.
      slack: {
        settings: { apiUrl: `${slack.url}/api/`, timeoutMs: 5_000, postIntervalMs: 0 },
        token: async () => HOSTILE_TOKEN,
      },
      opsChannelId: undefined,
      conversationUrlTemplate: undefined,
      clock: { now: () => new Date("2026-03-02T12:00:00.000Z") },
      log,
      metrics,
      decorate: {
        // The events as queued, to look at before delivery.
        events: (queue) => ({
          async sendEvents(events) {
            await queue.sendEvents(events);
            queued.push(...events);
          },
        }),
      },
    };
    for (const subscription of setup.subscriptions) await subscriptionStore(platform).add(subscription);
    const poller = composePoller(platform);
    const reports: PollReport[] = [];
    const pollMs: number[] = [];
    for (let round = 0; round < (setup.polls ?? 1); round += 1) {
      const started = performance.now();
      const result = await pollCycle(poller);
      if (!result.report) throw result.error;
      reports.push(result.report);
      pollMs.push(performance.now() - started);
      await drainQueue(deliveryQueue(platform), composeNotifier(platform));
    }
    return { reports, log, metrics, posts, requests: server.requests, queued, pollMs };
  } finally {
    await server.close();
    await slack.close();
  }
}

/** The message a post alerts, from the `ref <uid>:` tag every test body starts with. */
export const refOf = (post: RecordedPost): string | undefined => /ref ([\w-]+):/.exec(post.text)?.[1];
