import { CountingMetrics, consoleLog } from "../src/adapters/observability.ts";
import {
  composeNotifier,
  composePoller,
  deadLetterQueue,
  deliveryQueue,
  subscriptionStore,
} from "../src/app/compose.ts";
import { openLocalPlatform } from "../src/app/local.ts";
import { loadLocalConfig } from "../src/config.ts";
import { startFakeSlack } from "../src/local/fake-slack.ts";
import { startRespondentSimulator } from "../src/local/simulator.ts";
import { drainQueue } from "../src/usecases/deliver.ts";
import { pollCycle } from "../src/usecases/poll-cycle.ts";

/**
 * A burst: `replies` participant replies across `channels` channels (one project per channel) found
 * by one poll, then delivered by the real notifier (composed ports, drainQueue -> deliverBatch) to a
 * fake Slack that takes one post per second per channel and answers 429 with Retry-After beyond it.
 * Measures the time to drain the burst against the lower bound Slack's rate sets, the 429s seen,
 * what went to the dead letters (nothing should), and whether every (reply, channel) was posted once.
 */
export interface BurstFigures {
  replies: number;
  channels: number;
  eventsQueued: number;
  drainSeconds: number;
  /** The fastest Slack allows: the busiest channel's replies at one a second. */
  lowerBoundSeconds: number;
  posts: number;
  distinctAlerts: number;
  duplicates: number;
  rateLimitedAnswers: number;
  deadLettered: number;
  stillQueued: number;
}

const TOKEN = "xoxb-bench-burst";
const DRAIN_DEADLINE_MS = 30 * 60_000;

export async function measureBurst(options: {
  replies: number;
  channels: number;
  dynamoEndpoint: string;
  sqsEndpoint: string;
  tableName: string;
}): Promise<BurstFigures> {
  const simulator = await startRespondentSimulator({
    conversations: options.replies,
    projects: options.channels,
    pageSizeCap: 100,
  });
  const slack = await startFakeSlack({ token: TOKEN, acceptAnyChannel: true, postsPerSecondPerChannel: 1 });
  const config = loadLocalConfig({
    RESPONDENT_API_URL: simulator.url,
    RESPONDENT_API_KEY: simulator.apiKey,
    RESPONDENT_API_SECRET: simulator.apiSecret,
    SLACK_BOT_TOKEN: TOKEN,
    SLACK_API_URL: `${slack.url}/api/`,
    DYNAMODB_ENDPOINT: options.dynamoEndpoint,
    SQS_ENDPOINT: options.sqsEndpoint,
    TABLE_NAME: options.tableName,
  });
  const platform = await openLocalPlatform(config, {
    needs: { respondent: true, slack: true, queue: true },
    log: consoleLog({ level: "error" }),
    metrics: new CountingMetrics(),
  });
  try {
    const channelOf = new Map(simulator.projectIds.map((projectId, index) => [projectId, burstChannel(index)]));
    for (const [projectId, channelId] of channelOf) {
      await subscriptionStore(platform).add({
        projectId,
        channelId,
        mentions: [],
        threadPerConversation: true,
        body: "full",
        paused: false,
        createdAt: new Date().toISOString(),
      });
    }
    const poller = composePoller(platform);
    await pollCycle(poller);
    for (const conversationUid of simulator.conversationUids) {
      simulator.addMessage(conversationUid, {
        from: "participant",
        body: "Sorry for the late reply: yes, Tuesday works",
      });
    }
    const burst = await pollCycle(poller);
    const eventsQueued = burst.report?.eventsQueued ?? 0;

    const startedAt = performance.now();
    const drained = await drainQueue(deliveryQueue(platform), composeNotifier(platform), {
      waitUntil: Date.now() + DRAIN_DEADLINE_MS,
    });
    const drainSeconds = (performance.now() - startedAt) / 1000;

    const perChannel = new Map<string, number>();
    const alerts = new Set<string>();
    for (const post of slack.posts) {
      perChannel.set(post.channel, (perChannel.get(post.channel) ?? 0) + 1);
      alerts.add(`${String(post.metadata?.event_payload.event_id)} ${post.channel}`);
    }
    return {
      replies: options.replies,
      channels: options.channels,
      eventsQueued,
      drainSeconds: Math.round(drainSeconds * 10) / 10,
      lowerBoundSeconds: Math.max(0, ...perChannel.values()) - 1,
      posts: slack.posts.length,
      distinctAlerts: alerts.size,
      duplicates: slack.posts.length - alerts.size,
      rateLimitedAnswers: slack.rateLimited,
      deadLettered: await deadLetterQueue(platform).approximateCount(),
      stillQueued: drained.pending,
    };
  } finally {
    await platform.close();
    await slack.close();
    await simulator.close();
  }
}

function burstChannel(index: number): string {
  return `C0BURST${String(index).padStart(4, "0")}`;
}
