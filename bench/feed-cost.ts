/**
 * `npm run bench:feed [-- --latency-ms 250] [--sizes 1000,10000,50000] [--replies 100]`: what the
 * messages feed and webhooks (issue 14) cost and how fast they alert, measured the way the
 * entry points run: the CLI's platform (loadLocalConfig + openLocalPlatform pointed at the
 * simulator, DynamoDB Local, the SQS emulator and a fake Slack), ports from src/app/compose.ts,
 * the poll() / drainQueue() use cases and the webhook route served by serveRoutes.
 *
 * Per N: API requests and wall time of a steady feed poll (the feed state seeded where a sweep
 * leaves it, so the 50,000-state first sweep is not re-run here), and of a sweep (a dry run: it
 * lists every page and reads every state, an upper bound for the reconciling sweep). Then the
 * reply-to-Slack latency over `--replies` replies hinted by webhooks, and the monthly bill at 60,
 * 15 and 10 s freshness. Prints figures; never fails.
 */

import { POLLER_MEMORY_MB } from "../infra/constructs/poller.ts";
import { CountingMetrics } from "../src/adapters/observability.ts";
import {
  composeNotifier,
  composePoller,
  deliveryQueue,
  feedStateStore,
  respondentClient,
  respondentWebhook,
  subscriptionStore,
} from "../src/app/compose.ts";
import { openLocalPlatform } from "../src/app/local.ts";
import { loadLocalConfig } from "../src/config.ts";
import { subscriptionSchema } from "../src/domain/subscriptions.ts";
import { RESPONDENT_WEBHOOK_PATH } from "../src/http/respondent-webhook.ts";
import { serveRoutes } from "../src/http/server.ts";
import { startDynamoDbLocal } from "../src/local/dynamodb-local.ts";
import { startFakeSlack } from "../src/local/fake-slack.ts";
import { startRespondentSimulator } from "../src/local/simulator.ts";
import { startLocalSqs } from "../src/local/sqs-local.ts";
import type { Log } from "../src/ports.ts";
import { drainQueue } from "../src/usecases/deliver.ts";
import { poll } from "../src/usecases/poll.ts";
import { PRICES } from "./cost.ts";

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? (args[index + 1] ?? fallback) : fallback;
};
const latencyMs = Number(option("latency-ms", "50"));
const sizes = option("sizes", "1000,10000,50000").split(",").map(Number);
const replies = Number(option("replies", "100"));
const PROJECTS = 5;
const TOKEN = "xoxb-feed-bench";
const CHANNELS = ["C0FEEDB0001", "C0FEEDB0002", "C0FEEDB0003", "C0FEEDB0004", "C0FEEDB0005"];
const DAILY_QUOTA = 1_000_000;
const MINUTES_A_MONTH = 30 * 24 * 60;
const RECONCILE_MINUTES = 10;
const quiet: Log = { debug() {}, info() {}, warn() {}, error() {} };

interface Units {
  read: number;
  write: number;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

/**
 * today's monthlyCost (bench/cost.ts), extended minimally: polls every `intervalSeconds`, one
 * sweep every RECONCILE_MINUTES, the rest feed polls; each poll its own invocation (the delay-
 * queue chain: one standard SQS message sent, received and deleted per tick below a minute).
 */
function feedMonthlyCost(input: {
  intervalSeconds: number;
  feedPoll: { wallMs: number; units: Units };
  sweep: { wallMs: number; units: Units };
  customMetrics: number;
}) {
  const polls = (MINUTES_A_MONTH * 60) / input.intervalSeconds;
  const sweeps = MINUTES_A_MONTH / RECONCILE_MINUTES;
  const feedPolls = polls - sweeps;
  const gbSeconds =
    ((feedPolls * input.feedPoll.wallMs + sweeps * input.sweep.wallMs) / 1000) * (POLLER_MEMORY_MB / 1024);
  const lambda = gbSeconds * PRICES.lambdaArmPerGbSecond + (polls * PRICES.lambdaPerMillionRequests) / 1e6;
  const dynamoDb =
    ((feedPolls * input.feedPoll.units.read + sweeps * input.sweep.units.read) * PRICES.dynamoReadPerMillion +
      (feedPolls * input.feedPoll.units.write + sweeps * input.sweep.units.write) * PRICES.dynamoWritePerMillion) /
    1e6;
  const chainTicks = input.intervalSeconds < 60 ? polls - MINUTES_A_MONTH : 0;
  const sqsStandardPerMillion = 0.4;
  const sqs = (15 * MINUTES_A_MONTH * PRICES.sqsFifoPerMillionRequests + chainTicks * 3 * sqsStandardPerMillion) / 1e6;
  const secrets = 2 * PRICES.secretPerMonth + (MINUTES_A_MONTH / 5 / 10_000) * PRICES.secretApiPer10kCalls;
  const logs = ((polls * 1_800) / 1024 ** 3) * PRICES.logsIngestPerGb;
  const metrics = input.customMetrics * PRICES.customMetricPerMonth;
  const total = lambda + dynamoDb + sqs + secrets + logs + metrics;
  const round = (value: number) => Math.round(value * 100) / 100;
  return {
    lambda: round(lambda),
    dynamoDb: round(dynamoDb),
    sqs: round(sqs),
    fixed: round(secrets + metrics),
    total: round(total),
  };
}

async function main(): Promise<void> {
  const dynamo = await startDynamoDbLocal({});
  const sqs = await startLocalSqs();
  const postedAt = new Map<string, number>();
  const slack = await startFakeSlack({
    token: TOKEN,
    channels: CHANNELS,
    onPost: (post) => {
      const match = /(\d{13})-bench/.exec(post.text ?? "");
      if (match?.[1]) postedAt.set(match[1], Date.now());
    },
  });
  const results: Record<string, unknown>[] = [];
  console.log(`feed bench: latency ${latencyMs} ms per API request, ${PROJECTS} subscribed projects`);
  try {
    for (const conversations of sizes) {
      const simulator = await startRespondentSimulator({
        conversations,
        projects: PROJECTS,
        latencyMs,
        pageSizeCap: 100,
      });
      const units: Units = { read: 0, write: 0 };
      const metrics = new CountingMetrics();
      const platform = await openLocalPlatform(
        loadLocalConfig({
          RESPONDENT_API_URL: simulator.url,
          RESPONDENT_API_KEY: simulator.apiKey,
          RESPONDENT_API_SECRET: simulator.apiSecret,
          SLACK_BOT_TOKEN: TOKEN,
          SLACK_API_URL: `${slack.url}/api/`,
          DYNAMODB_ENDPOINT: dynamo.endpoint,
          SQS_ENDPOINT: sqs.endpoint,
          TABLE_NAME: `feed-bench-${conversations}-${Date.now()}`,
        }),
        {
          needs: { respondent: true, slack: true, queue: true },
          log: quiet,
          metrics,
          onConsumedCapacity: (_operation, consumed) => {
            units.read += consumed.read;
            units.write += consumed.write;
          },
        },
      );
      try {
        const now = new Date();
        for (const [index, projectId] of simulator.projectIds.entries()) {
          await subscriptionStore(platform).add(
            subscriptionSchema.parse({
              projectId,
              channelId: CHANNELS[index % CHANNELS.length],
              createdAt: now.toISOString(),
            }),
          );
        }
        // The sweep, as a dry run: every page and every state read, nothing written.
        const sweepPorts = composePoller(platform, { dryRun: true }).poll;
        simulator.clearRequests();
        units.read = 0;
        units.write = 0;
        let started = performance.now();
        await poll(sweepPorts, { dryRun: true });
        const coldSweepWallMs = Math.round(performance.now() - started);
        const sweepRequests = simulator.requests.length;
        const sweepUnits = { ...units };
        // A reconciling sweep runs on a warm poller, whose seen-cache skips the state of every
        // unchanged conversation: its time is the listing of every page of every project.
        const api = respondentClient(platform);
        started = performance.now();
        await Promise.all(
          simulator.projectIds.map(async (projectId) => {
            for await (const _page of api.listConversations({ projectId })) {
              // every page, as the sweep walks them
            }
          }),
        );
        const sweep = { requests: sweepRequests, wallMs: Math.round(performance.now() - started), units: sweepUnits };

        // Steady feed polls: the state where a sweep leaves it, then a poll with 2 new replies.
        await feedStateStore(platform).write(
          {
            mode: "feed",
            watermark: now.toISOString(),
            coverageStart: now.toISOString(),
            lastSweepAt: new Date().toISOString(),
            teamUids: [simulator.teamUser.uid],
          },
          undefined,
        );
        const feedPorts = composePoller(platform, {
          feed: { enabled: true, reconcileIntervalMinutes: RECONCILE_MINUTES },
        }).poll;
        simulator.simulateReplies(2);
        const feedRuns: Array<{ requests: number; wallMs: number; units: Units }> = [];
        for (let run = 0; run < 5; run += 1) {
          simulator.clearRequests();
          units.read = 0;
          units.write = 0;
          started = performance.now();
          await poll(feedPorts);
          feedRuns.push({
            requests: simulator.requests.length,
            wallMs: performance.now() - started,
            units: { ...units },
          });
        }
        const steady = feedRuns.slice(1);
        const feedPoll = {
          requests: Math.max(...steady.map((run) => run.requests)),
          wallMs: Math.round(
            percentile(
              steady.map((run) => run.wallMs),
              50,
            ),
          ),
          units: {
            read: steady.reduce((sum, run) => sum + run.units.read, 0) / steady.length,
            // A feed poll stores its progress once a minute: count one write unit a minute on top.
            write: steady.reduce((sum, run) => sum + run.units.write, 0) / steady.length,
          },
        };
        await drainQueue(deliveryQueue(platform), composeNotifier(platform), { waitUntil: Date.now() + 30_000 });

        // As today's bill: the five metrics a steady poller and notifier emit (MissedByFeed only on a miss).
        const customMetrics = 5;
        const cost = Object.fromEntries(
          [60, 15, 10].map((interval) => [
            `${interval}s`,
            feedMonthlyCost({
              intervalSeconds: interval,
              feedPoll: {
                wallMs: feedPoll.wallMs,
                units: { read: feedPoll.units.read, write: feedPoll.units.write + interval / 60 },
              },
              sweep,
              customMetrics,
            }),
          ]),
        );
        const requestsPerDay = (interval: number) =>
          Math.round((86_400 / interval - 144) * feedPoll.requests + 144 * sweep.requests);
        const row = {
          conversations,
          sweepRequests: sweep.requests,
          sweepWallMs: sweep.wallMs,
          coldDrySweepWallMs: coldSweepWallMs,
          feedPollRequests: feedPoll.requests,
          feedPollWallMs: feedPoll.wallMs,
          feedPollReadUnits: Math.round(feedPoll.units.read * 10) / 10,
          requestsPerDay: { "60s": requestsPerDay(60), "15s": requestsPerDay(15), "10s": requestsPerDay(10) },
          quotaShareAt10s: `${((requestsPerDay(10) / DAILY_QUOTA) * 100).toFixed(1)}%`,
          cost,
        };
        results.push(row);
        console.log(JSON.stringify(row));
      } finally {
        await platform.close();
        await simulator.close();
      }
    }

    // Reply-to-Slack latency with webhooks, at the smallest N.
    const simulator = await startRespondentSimulator({
      conversations: sizes[0] ?? 1000,
      projects: PROJECTS,
      latencyMs,
    });
    const platform = await openLocalPlatform(
      loadLocalConfig({
        RESPONDENT_API_URL: simulator.url,
        RESPONDENT_API_KEY: simulator.apiKey,
        RESPONDENT_API_SECRET: simulator.apiSecret,
        SLACK_BOT_TOKEN: TOKEN,
        SLACK_API_URL: `${slack.url}/api/`,
        DYNAMODB_ENDPOINT: dynamo.endpoint,
        SQS_ENDPOINT: sqs.endpoint,
        TABLE_NAME: `feed-bench-webhook-${Date.now()}`,
      }),
      { needs: { respondent: true, slack: true, queue: true }, log: quiet, metrics: new CountingMetrics() },
    );
    let secret: string | undefined;
    const server = await serveRoutes({
      port: 0,
      routes: [respondentWebhook(platform, { secret: async () => secret })],
      log: quiet,
    });
    try {
      secret = simulator.registerWebhook(`${server.url}${RESPONDENT_WEBHOOK_PATH}`).privateKey;
      for (const [index, projectId] of simulator.projectIds.entries()) {
        await subscriptionStore(platform).add(
          subscriptionSchema.parse({
            projectId,
            channelId: CHANNELS[index % CHANNELS.length],
            createdAt: new Date().toISOString(),
          }),
        );
      }
      let running = true;
      const notifier = composeNotifier(platform);
      const consumer = (async () => {
        while (running) await drainQueue(deliveryQueue(platform), notifier, { waitUntil: Date.now() + 1_000 });
      })();
      const writtenAt = new Map<string, number>();
      const uids = simulator.conversationUids;
      for (let index = 0; index < replies; index += 1) {
        const stamp = String(Date.now());
        writtenAt.set(stamp, Date.now());
        simulator.addMessage(uids[index % uids.length] ?? "", {
          from: "participant",
          body: `${stamp}-bench reply ${index}`,
        });
        // Spread over the channels at a pace Slack allows (about one post per channel per second).
        await new Promise((resolve) => setTimeout(resolve, 400));
      }
      const deadline = Date.now() + 60_000;
      while (postedAt.size < writtenAt.size && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 200));
      running = false;
      await consumer;
      const latencies = [...writtenAt].flatMap(([stamp, at]) => {
        const posted = postedAt.get(stamp);
        return posted === undefined ? [] : [posted - at];
      });
      const webhook = {
        replies: writtenAt.size,
        alerted: latencies.length,
        p50Ms: percentile(latencies, 50),
        p95Ms: percentile(latencies, 95),
      };
      console.log(JSON.stringify({ webhookLatency: webhook }));
      const steady = results[results.length - 1] as { feedPollWallMs: number } | undefined;
      const pollPart = steady?.feedPollWallMs ?? 0;
      // Polling: a reply waits U(0, interval) for the next poll, then the poll and the delivery.
      for (const interval of [60, 10]) {
        console.log(
          JSON.stringify({
            pollingLatency: `${interval}s`,
            p50Ms: Math.round(0.5 * interval * 1000 + pollPart + webhook.p50Ms),
            p95Ms: Math.round(0.95 * interval * 1000 + pollPart + webhook.p95Ms),
            note: "modelled: uniform wait for the next poll + measured feed poll + measured webhook-to-Slack time",
          }),
        );
      }
    } finally {
      await server.close();
      await platform.close();
      await simulator.close();
    }
  } finally {
    await slack.close();
    await sqs.stop();
    await dynamo.stop();
  }
}

await main();
