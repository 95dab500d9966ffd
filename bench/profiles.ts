import type { UsageProfile } from "./cost.ts";

/** The API latencies (ms per request) the profiles were measured at: issue 14 asks for every figure at both. */
export const MEASURED_LATENCIES = [50, 250] as const;
export type MeasuredLatency = (typeof MEASURED_LATENCIES)[number];

/**
 * Per-poll usage as `npm run bench` measured it (5 projects, 100 per page, 4 requests in flight):
 * warm [ms, API requests, RCU], cold + snapshot [ms, RCU]. Units and requests are those of the
 * run of 2026-11-24 10:37 UTC at 50 ms (bench/README.md, "8 projects listed at once") at both
 * latencies, since latency does not change them; the 250 ms times are from the run of 2026-12-01
 * (13:51 UTC, `npm run bench -- --latency-ms 250 --sizes 1000,10000,50000 --skip-bundles --cli-up-to 0
 * --burst 0`, commit f9998f4, median of 3, the shared 2-core machine). `npm run bench`
 * prints the same figures for the code as it is; update these from it when a change moves them.
 */
const MEASURED = [
  {
    conversations: 1_000,
    snapshotSaveWriteUnits: 14,
    requests: 12,
    readUnits: { warm: 1, cold: 3 },
    ms: { 50: { warm: 185, cold: 255 }, 250: { warm: 849, cold: 1_116 } },
  },
  {
    conversations: 10_000,
    snapshotSaveWriteUnits: 134,
    requests: 102,
    readUnits: { warm: 1, cold: 18 },
    ms: { 50: { warm: 1_544, cold: 1_498 }, 250: { warm: 7_036, cold: 7_324 } },
  },
  {
    conversations: 50_000,
    snapshotSaveWriteUnits: 677,
    requests: 503,
    readUnits: { warm: 1, cold: 85 },
    ms: { 50: { warm: 8_679, cold: 8_873 }, 250: { warm: 38_046, cold: 35_488 } },
  },
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

/** A steady messages-feed poll (RESPONDENT_FEED=on, the default). */
export interface FeedPollProfile {
  apiRequests: number;
  lambdaMs: number;
  /**
   * The subscriptions and the feed state, a unit each. (Until the watermark is stored, at most once
   * a minute, a poll also reads again the states of the conversations it found new replies in:
   * a few units per alert at 10 s, left out.)
   */
  readUnits: number;
  /** CloudWatch Logs bytes of a feed poll that found nothing (one that finds replies logs them per alert). */
  logBytes: number;
}

/**
 * Steady feed polls as `npm run bench:feed` measured them on 2026-12-01 (bench/README.md, median
 * of 4): one request per subscribed project, two read units (counted by operation on 2026-12-01),
 * and the feed state written at most once a minute (withFeed adds that write). Times: the slower
 * of that day's two runs after the poll chain (153 / 165 / 203 and 205 / 213 / 222 ms at 50 ms;
 * 547 / 551 / 567 and 547 / 569 / 610 ms at 250 ms); an earlier run's 297 ms at 10,000 was the
 * machine's noise (its 1,000 and 50,000 polls took 187 and 182 ms).
 */
const FEED_POLL_MS = [
  { conversations: 1_000, ms: { 50: 205, 250: 547 } },
  { conversations: 10_000, ms: { 50: 213, 250: 569 } },
  { conversations: 50_000, ms: { 50: 222, 250: 610 } },
] as const;
const FEED_POLL_REQUESTS = 5;
const FEED_POLL_READ_UNITS = 2;
/**
 * Rough: a feed poll that found nothing logs only its `counts` line (since main's f8324a3), 435
 * bytes as Powertools formats it for the poller (measured with a Lambda-shaped context), plus
 * Lambda's START/END/REPORT lines and CloudWatch's 26 bytes an event: about 1,000 bytes.
 */
export const QUIET_FEED_POLL_LOG_BYTES = 1_000;

export function measuredFeedPoll(conversations: number, latencyMs: MeasuredLatency): FeedPollProfile {
  const measured = FEED_POLL_MS.find((each) => each.conversations === conversations);
  if (!measured) throw new Error(`no measured feed poll for ${conversations} conversations`);
  return {
    apiRequests: FEED_POLL_REQUESTS,
    lambdaMs: measured.ms[latencyMs],
    readUnits: FEED_POLL_READ_UNITS,
    logBytes: QUIET_FEED_POLL_LOG_BYTES,
  };
}

/**
 * With the feed, a sweep (the warm poll of `profile`) runs every `sweepEveryMinutes` and feed
 * polls in between: the warm profile becomes their average over that period. A feed poll stores
 * its progress at most once a minute. (Below a minute, a sweep longer than the interval delays the
 * feed polls behind it; they are counted as if it did not: a few polls an hour too many.)
 */
export function withFeed(
  profile: UsageProfile,
  feedPoll: FeedPollProfile,
  pollIntervalSeconds: number,
  sweepEveryMinutes: number,
): UsageProfile {
  const pollsPerSweep = (sweepEveryMinutes * 60) / pollIntervalSeconds;
  const blend = (sweep: number, feed: number) => (sweep + (pollsPerSweep - 1) * feed) / pollsPerSweep;
  return {
    ...profile,
    warm: {
      apiRequests: blend(profile.warm.apiRequests, feedPoll.apiRequests),
      lambdaMs: blend(profile.warm.lambdaMs, feedPoll.lambdaMs),
      readUnits: blend(profile.warm.readUnits, feedPoll.readUnits),
      writeUnits: blend(profile.warm.writeUnits, Math.min(1, pollIntervalSeconds / 60)),
    },
    logBytesPerPoll: blend(profile.logBytesPerPoll, feedPoll.logBytes),
  };
}

/**
 * A profile whose sweep is one measured elsewhere (`npm run bench:feed`: its API requests and the
 * listing time of a warm sweep). A cold poll is given the same time: it also loads the snapshot,
 * which the listing leaves out, but 12 cold polls a day move the bill by a cent at most.
 */
export function withMeasuredSweep(
  profile: UsageProfile,
  sweep: { apiRequests: number; lambdaMs: number },
): UsageProfile {
  return {
    ...profile,
    warm: { ...profile.warm, apiRequests: sweep.apiRequests, lambdaMs: sweep.lambdaMs },
    cold: { ...profile.cold, apiRequests: sweep.apiRequests, lambdaMs: sweep.lambdaMs },
  };
}

export function measuredProfile(conversations: number, latencyMs: MeasuredLatency): UsageProfile {
  const measured = MEASURED.find((each) => each.conversations === conversations);
  if (!measured) throw new Error(`no measured profile for ${conversations} conversations`);
  const ms = measured.ms[latencyMs];
  return {
    conversations,
    warm: { apiRequests: measured.requests, lambdaMs: ms.warm, readUnits: measured.readUnits.warm, writeUnits: 0 },
    cold: { apiRequests: measured.requests, lambdaMs: ms.cold, readUnits: measured.readUnits.cold, writeUnits: 0 },
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
    // Rough: START/END/REPORT, `poll finished` and the `counts` line of a sweep.
    logBytesPerPoll: 1_800,
    logBytesPerAlert: 1_500,
    steadyMetricNames: STEADY_METRIC_NAMES,
  };
}

export const MEASURED_SIZES: readonly number[] = MEASURED.map((each) => each.conversations);
