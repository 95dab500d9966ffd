import type { AlertTarget } from "./events.ts";
import { digestIntervalEnd, digestMinutes, isQuiet, parseQuietHours, quietHoursEnd } from "./local-time.ts";

/**
 * When an alert may be posted to its channel: now, or held for a digest that is due later.
 * `quiet`: it would be posted during the subscription's quiet hours, so it waits for their end;
 * `digest`: the subscription takes at most one message per interval, so it waits for the
 * interval's end (and, should that fall into quiet hours, for their end).
 */
export type DeliveryPlan = { when: "now" } | { when: "held"; reason: "quiet" | "digest"; dueAt: Date };

/** The zone a target's times are read in: its subscription's, else this process's (`TZ`). */
export function targetTimeZone(target: Pick<AlertTarget, "timezone">, fallbackZone: string): string {
  return target.timezone ?? fallbackZone;
}

export function deliveryPlan(
  target: Pick<AlertTarget, "quietHours" | "timezone" | "digest">,
  now: Date,
  fallbackZone: string,
): DeliveryPlan {
  const zone = targetTimeZone(target, fallbackZone);
  const quiet = target.quietHours ? parseQuietHours(target.quietHours) : undefined;
  if (quiet && isQuiet(now, quiet, zone)) {
    return { when: "held", reason: "quiet", dueAt: quietHoursEnd(now, quiet, zone) };
  }
  const interval = target.digest ? digestMinutes(target.digest) : undefined;
  if (interval === undefined) return { when: "now" };
  const end = digestIntervalEnd(now, interval, zone);
  // Nothing is posted in quiet hours: an interval ending in them waits for their end.
  if (quiet && isQuiet(end, quiet, zone))
    return { when: "held", reason: "digest", dueAt: quietHoursEnd(end, quiet, zone) };
  return { when: "held", reason: "digest", dueAt: end };
}
