import type { UsageProfile } from "./cost.ts";

/**
 * Per-poll usage as `npm run bench` measured it: run of 2026-11-24 10:37 UTC (bench/README.md,
 * "8 projects listed at once"; 5 projects, 50 ms per API request, 100 per page, 4 requests in
 * flight). `npm run bench` prints the same figures for the code as it is; update these from it
 * when a change moves them. Rough items are marked.
 */
const MEASURED = [
  { conversations: 1_000, warm: [185, 12, 1], cold: [255, 3], snapshotSaveWriteUnits: 14 },
  { conversations: 10_000, warm: [1_544, 102, 1], cold: [1_498, 18], snapshotSaveWriteUnits: 134 },
  { conversations: 50_000, warm: [8_679, 503, 1], cold: [8_873, 85], snapshotSaveWriteUnits: 677 },
] as const;

/** Counted by every healthy poll or delivery (src/usecases/poll.ts, notify.ts), as the bench's CountingMetrics records them. */
export const STEADY_METRIC_NAMES = [
  "Polls",
  "PagesFetched",
  "ConversationsScanned",
  "NewReplies",
  "EventsQueued",
  "AlertsPosted",
] as const;

/**
 * A steady messages-feed poll (RESPONDENT_FEED=on, the default), as `npm run bench:feed` measured
 * it on 2026-12-01 (bench/README.md, 50 ms per API request): one request per subscribed project,
 * the feed state read, and written at most once a minute.
 */
const FEED_POLL = [
  { conversations: 1_000, lambdaMs: 187 },
  { conversations: 10_000, lambdaMs: 297 },
  { conversations: 50_000, lambdaMs: 182 },
] as const;
const FEED_POLL_REQUESTS = 5;

/**
 * With the feed, a sweep (the warm poll above) runs every `sweepEveryMinutes` and feed polls in
 * between: the warm profile becomes their average over that period.
 */
export function withFeed(profile: UsageProfile, pollIntervalSeconds: number, sweepEveryMinutes: number): UsageProfile {
  const feed = FEED_POLL.find((each) => each.conversations === profile.conversations);
  if (!feed) throw new Error(`no measured feed poll for ${profile.conversations} conversations`);
  const pollsPerSweep = (sweepEveryMinutes * 60) / pollIntervalSeconds;
  const blend = (sweep: number, feedPoll: number) => (sweep + (pollsPerSweep - 1) * feedPoll) / pollsPerSweep;
  return {
    ...profile,
    warm: {
      apiRequests: blend(profile.warm.apiRequests, FEED_POLL_REQUESTS),
      lambdaMs: blend(profile.warm.lambdaMs, feed.lambdaMs),
      readUnits: blend(profile.warm.readUnits, 1),
      writeUnits: blend(profile.warm.writeUnits, Math.min(1, pollIntervalSeconds / 60)),
    },
  };
}

export function measuredProfile(conversations: number): UsageProfile {
  const measured = MEASURED.find((each) => each.conversations === conversations);
  if (!measured) throw new Error(`no measured profile for ${conversations} conversations`);
  const [lambdaMs, apiRequests, readUnits] = measured.warm;
  const [coldMs, coldReadUnits] = measured.cold;
  return {
    conversations,
    warm: { apiRequests, lambdaMs, readUnits, writeUnits: 0 },
    cold: { apiRequests, lambdaMs: coldMs, readUnits: coldReadUnits, writeUnits: 0 },
    coldStartsPerDay: 12,
    snapshotSaveWriteUnits: measured.snapshotSaveWriteUnits,
    // Assumed: one participant reply per conversation a month.
    alertsPerMonth: conversations,
    perAlert: {
      // Measured (20 new replies): the poll's state read and write, then the ledger claim, post and thread.
      readUnits: 2,
      writeUnits: 4,
      // Rough: a real Slack round trip (the bench's fake Slack answers in about 12 ms).
      notifierLambdaMs: 300,
      // A send batched by the poller, a receive and a delete batched by the event source.
      sqsRequests: 0.3,
    },
    extraSqsMessagesPerPoll: 0,
    // Rough: START/END/REPORT, `poll finished` and the `counts` line.
    logBytesPerPoll: 1_800,
    logBytesPerAlert: 1_500,
    steadyMetricNames: STEADY_METRIC_NAMES,
  };
}

export const MEASURED_SIZES = MEASURED.map((each) => each.conversations);
