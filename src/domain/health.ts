import * as z from "zod";

/**
 * Whether a part of the service works, as the ops channel is told about it: one message when
 * it starts failing and one when it recovers, never one per failed attempt. The record is
 * stored (one per component) so that every poller and notifier shares one view of it.
 */
export const healthComponentSchema = z.enum(["poller", "notifier"]);
export type HealthComponent = z.infer<typeof healthComponentSchema>;

/** What the ops channel calls each component. */
export const HEALTH_COMPONENT_LABELS: Record<HealthComponent, string> = {
  poller: "Respondent polling",
  notifier: "Slack posting",
};

export const healthRecordSchema = z.object({
  status: z.enum(["ok", "failing"]),
  /** When the current status began; for `failing`, the first failure of the streak that caused it. */
  since: z.iso.datetime(),
  /** While failing, or while failures are being counted: the latest failure, safe to show. */
  reason: z.string().optional(),
  /** Consecutive failed attempts before the status turned to failing (0 while all is well). */
  failureStreak: z.number().int().min(0),
  /** First failure of a streak that has not (yet) turned the status to failing. */
  streakStartedAt: z.iso.datetime().optional(),
  /** The announcement the ops channel is still owed (its last post failed, or nobody made it yet). */
  pending: z.enum(["failing", "recovered"]).optional(),
  /** The failing period that ended last, for the recovery message. */
  lastOutage: z.object({ from: z.iso.datetime(), to: z.iso.datetime(), reason: z.string() }).optional(),
  lastTransitionAt: z.iso.datetime().optional(),
});

export type HealthRecord = z.infer<typeof healthRecordSchema>;
export type HealthAnnouncement = NonNullable<HealthRecord["pending"]>;

export type HealthObservation = { ok: true } | { ok: false; reason: string };

export interface HealthPolicy {
  /** How many consecutive failed attempts turn `ok` into `failing`. */
  failingAfter: number;
}

export function initialHealth(now: Date): HealthRecord {
  return { status: "ok", since: now.toISOString(), failureStreak: 0 };
}

/**
 * The record after one observation. Returns `current` itself when nothing changes, so callers
 * can skip the write. Moving to `failing` takes `policy.failingAfter` failures in a row; one
 * success recovers at once (it means everything delayed has now been handled). A transition
 * sets `pending`, replacing an announcement that never got out: a recovery message names the
 * failure it ends, so an outage whose first message was lost is still reported.
 */
export function nextHealth(
  current: HealthRecord,
  observation: HealthObservation,
  now: Date,
  policy: HealthPolicy,
): HealthRecord {
  const at = now.toISOString();
  if (observation.ok) {
    if (current.status === "failing") {
      return {
        status: "ok",
        since: at,
        failureStreak: 0,
        pending: "recovered",
        lastOutage: { from: current.since, to: at, reason: current.reason ?? "unknown" },
        lastTransitionAt: at,
      };
    }
    if (current.failureStreak === 0) return current;
    const { reason: _reason, streakStartedAt: _streak, ...rest } = current;
    return { ...rest, failureStreak: 0 };
  }

  if (current.status === "failing") {
    return current.reason === observation.reason ? current : { ...current, reason: observation.reason };
  }
  const failureStreak = current.failureStreak + 1;
  const streakStartedAt = current.streakStartedAt ?? at;
  if (failureStreak < policy.failingAfter) {
    return { ...current, failureStreak, streakStartedAt, reason: observation.reason };
  }
  return {
    status: "failing",
    since: streakStartedAt,
    reason: observation.reason,
    failureStreak,
    pending: "failing",
    ...(current.lastOutage ? { lastOutage: current.lastOutage } : {}),
    lastTransitionAt: at,
  };
}
