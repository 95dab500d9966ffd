import * as z from "zod";

/**
 * The messages feed's shared state: one item for every poller (all Lambda containers, the CLI),
 * so that they agree on whether the feed may be used, how far it got, and who our team's API
 * account is. The conversation sweep stays the source of truth: the feed only makes the polls
 * between two sweeps cheap.
 */
export const feedStateSchema = z.object({
  /** `sweep-only` after a message the feed missed or a refused request, until `doctor --reset-feed`. */
  mode: z.enum(["feed", "sweep-only"]),
  /** Why the poller sweeps only, and since when: what `doctor` and the ops channel say. */
  sweepOnlyReason: z.string().optional(),
  sweepOnlySince: z.iso.datetime().optional(),
  /** The next feed poll reads messages created from this instant (minus the overlap) on. */
  watermark: z.iso.datetime().optional(),
  /** Since when the feed has been reading without a gap: messages before it are not the feed's to miss. */
  coverageStart: z.iso.datetime().optional(),
  /** When the last complete feed poll started (what it saw was created up to about then). */
  lastFeedPollAt: z.iso.datetime().optional(),
  /** When the last complete sweep started. */
  lastSweepAt: z.iso.datetime().optional(),
  /** `conversation.user.uid` of every conversation swept: our side; any other sender is a participant. */
  teamUids: z.array(z.string().min(1)).default([]),
});

export type FeedState = z.infer<typeof feedStateSchema>;

/** Messages are read from the watermark minus this: what the API indexes late, or a clock apart from ours, is read again. */
export const FEED_OVERLAP_MS = 2 * 60_000;

/**
 * A participant message the sweep finds is a miss only if the feed had this long after its
 * creation to show it (at least one feed poll whose window held it, past the API's indexing).
 */
export const MISS_GRACE_MS = FEED_OVERLAP_MS;

export const DEFAULT_RECONCILE_INTERVAL_MINUTES = 10;

/** The most team uids kept (a team has one API account; a few if the account was ever replaced). */
const MAX_TEAM_UIDS = 20;

export function initialFeedState(): FeedState {
  return { mode: "feed", teamUids: [] };
}

export type PollSource =
  | { kind: "sweep"; why: "first" | "reconcile" | "full" | "sweep-only" }
  | { kind: "feed"; since: Date };

/**
 * Which source a poll reads: the sweep on the first poll (no state yet), when asked (`--full`),
 * in sweep-only mode and once `reconcileIntervalMs` has passed since the last complete sweep;
 * otherwise the feed, from the watermark minus the overlap.
 */
export function pollSource(
  state: FeedState | undefined,
  now: Date,
  options: { full: boolean; reconcileIntervalMs: number },
): PollSource {
  if (options.full) return { kind: "sweep", why: "full" };
  // Without our account's uid the feed cannot tell our messages from participants': sweep to learn it.
  if (!state?.watermark || !state.lastSweepAt || state.teamUids.length === 0) return { kind: "sweep", why: "first" };
  if (state.mode === "sweep-only") return { kind: "sweep", why: "sweep-only" };
  if (now.getTime() - Date.parse(state.lastSweepAt) >= options.reconcileIntervalMs) {
    return { kind: "sweep", why: "reconcile" };
  }
  return { kind: "feed", since: new Date(Date.parse(state.watermark) - FEED_OVERLAP_MS) };
}

/**
 * The creation times the feed is answerable for: from when it started reading without a gap
 * to the grace period before its last complete poll. Undefined while it has not polled.
 */
export function feedCoverage(state: FeedState | undefined): { from: Date; through: Date } | undefined {
  if (state?.mode !== "feed" || !state.coverageStart || !state.lastFeedPollAt) return undefined;
  const from = new Date(state.coverageStart);
  const through = new Date(Date.parse(state.lastFeedPollAt) - MISS_GRACE_MS);
  return through.getTime() >= from.getTime() ? { from, through } : undefined;
}

/** Whether a participant message created at `createdAt` should have been in the feed. */
export function feedShouldHaveSeen(coverage: { from: Date; through: Date } | undefined, createdAt: string): boolean {
  if (!coverage) return false;
  const at = Date.parse(createdAt);
  return at >= coverage.from.getTime() && at <= coverage.through.getTime();
}

/** The state after a complete sweep that started at `startedAt`. */
export function afterSweep(state: FeedState, startedAt: Date, teamUids: Iterable<string>): FeedState {
  const at = startedAt.toISOString();
  const next: FeedState = { ...state, lastSweepAt: at, teamUids: mergeTeamUids(state.teamUids, teamUids) };
  // Everything created before the sweep started was in its listing: the feed starts (again) from there.
  if (!state.watermark || Date.parse(state.watermark) < startedAt.getTime()) next.watermark = at;
  if (state.mode === "feed" && !state.coverageStart) next.coverageStart = at;
  return next;
}

/**
 * A feed poll stores its progress only once the watermark would move by this much: a steady
 * poll then writes nothing most of the time (at 10 s polls, one write a minute instead of six),
 * and reads at most this plus the overlap again.
 */
export const FEED_STATE_WRITE_EVERY_MS = 60_000;

export function feedPollWorthStoring(state: FeedState, until: Date): boolean {
  const from = Date.parse(state.lastFeedPollAt ?? state.watermark ?? "");
  return Number.isNaN(from) || until.getTime() - from >= FEED_STATE_WRITE_EVERY_MS;
}

/** The state after a complete feed poll whose window ended at `until`. */
export function afterFeedPoll(state: FeedState, until: Date, teamUids: Iterable<string>): FeedState {
  const at = until.toISOString();
  return {
    ...state,
    watermark: state.watermark && Date.parse(state.watermark) > until.getTime() ? state.watermark : at,
    lastFeedPollAt: at,
    teamUids: mergeTeamUids(state.teamUids, teamUids),
  };
}

export function toSweepOnly(state: FeedState, reason: string, at: Date): FeedState {
  const { coverageStart: _coverage, lastFeedPollAt: _last, ...rest } = state;
  return { ...rest, mode: "sweep-only", sweepOnlyReason: reason, sweepOnlySince: at.toISOString() };
}

function mergeTeamUids(known: readonly string[], seen: Iterable<string>): string[] {
  const merged = [...known];
  for (const uid of seen) {
    if (!merged.includes(uid)) merged.push(uid);
  }
  return merged.slice(-MAX_TEAM_UIDS);
}

export function sameFeedState(a: FeedState, b: FeedState): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
