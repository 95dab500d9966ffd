import { randomUUID } from "node:crypto";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDeliveryLedger } from "../../../src/adapters/dynamo/ledger.ts";
import { DynamoLocalQueue } from "../../../src/adapters/dynamo/local-queue.ts";
import { DynamoStateStore } from "../../../src/adapters/dynamo/state-store.ts";
import { DynamoSubscriptionStore } from "../../../src/adapters/dynamo/subscription-store.ts";
import { ensureTable } from "../../../src/adapters/dynamo/table.ts";
import { DynamoThreadStore } from "../../../src/adapters/dynamo/thread-store.ts";
import { RespondentApiClient } from "../../../src/adapters/respondent-api.ts";
import { createSlackPoster } from "../../../src/adapters/slack.ts";
import type { NewReplyEvent } from "../../../src/domain/events.ts";
import { type Subscription, subscriptionSchema } from "../../../src/domain/subscriptions.ts";
import { drainLocalQueue } from "../../../src/local/consumer.ts";
import { type RecordedPost, startFakeSlack } from "../../../src/local/fake-slack.ts";
import { type PollReport, poll } from "../../../src/usecases/poll.ts";
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

/** One poll + delivery through the real client, adapters and WebClient, against a hostile listing. */
export async function pollHostileApi(raw: DynamoDBClient, setup: HostileSetup): Promise<HostileOutcome> {
  const tableName = `hostile-${randomUUID()}`;
  await ensureTable(raw, tableName);
  const log = new RecordingLog(5_000);
  const metrics = new RecordingMetrics();
  const posts: RecordedPost[] = [];
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
    const subscriptions = new DynamoSubscriptionStore(raw, tableName, { log });
    for (const subscription of setup.subscriptions) await subscriptions.add(subscription);
    const clock = { now: () => new Date("2026-03-02T12:00:00.000Z") };
    const queue = new DynamoLocalQueue(raw, tableName, { clock });
    const api = new RespondentApiClient({
      baseUrl: server.url,
      pageSize: 100,
      maxConcurrency: 2,
      timeoutMs: 5_000,
      maxRetries: 1,
      credentials: async () => ({ apiKey: HOSTILE_KEY, apiSecret: HOSTILE_SECRET }),
      log,
      metrics,
      sleep: async () => undefined,
    });
    const reports: PollReport[] = [];
    const queued: NewReplyEvent[] = [];
    const pollMs: number[] = [];
    const cache = new Map<string, string>();
    for (let round = 0; round < (setup.polls ?? 1); round += 1) {
      const started = performance.now();
      reports.push(
        await poll({
          api,
          state: new DynamoStateStore(raw, tableName, { clock, log }),
          queue,
          subscriptions,
          clock,
          log,
          metrics,
          cache,
        }),
      );
      pollMs.push(performance.now() - started);
      for (const message of await queue.receive(1_000, clock.now()))
        queued.push(JSON.parse(message.body) as NewReplyEvent);
      await drainLocalQueue(queue, {
        ledger: new DynamoDeliveryLedger(raw, tableName),
        threads: new DynamoThreadStore(raw, tableName, { clock }),
        slack: createSlackPoster({ token: HOSTILE_TOKEN, apiUrl: `${slack.url}/api/`, timeoutMs: 5_000, log }),
        clock,
        log,
        metrics,
      });
    }
    return { reports, log, metrics, posts, requests: server.requests, queued, pollMs };
  } finally {
    await server.close();
    await slack.close();
  }
}

/** The message a post alerts, from the `ref <uid>:` tag every test body starts with. */
export const refOf = (post: RecordedPost): string | undefined => /ref ([\w-]+):/.exec(post.text)?.[1];
