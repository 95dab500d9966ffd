import * as z from "zod";

/**
 * Local time for people: readable stamps (`Tue 1 Dec, 07:43 CET`), the local date, and the
 * wall-clock arithmetic of quiet hours and digest intervals, in any IANA zone, with
 * Intl.DateTimeFormat only. Daylight-saving changes are handled by looking at the wall clock
 * minute by minute where it matters, never by adding fixed offsets.
 */

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(key: string, make: () => Intl.DateTimeFormat): Intl.DateTimeFormat {
  let found = formatters.get(key);
  if (!found) {
    found = make();
    formatters.set(key, found);
  }
  return found;
}

/** The zone of this process: `TZ` when set, else the system's (UTC in AWS Lambda). */
export function processTimeZone(): string {
  return new Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

/** The zone's canonical IANA name (`europe/berlin` -> `Europe/Berlin`), or undefined when Intl does not know it. */
export function canonicalTimeZone(zone: string): string | undefined {
  if (!zone.trim()) return undefined;
  try {
    return new Intl.DateTimeFormat("en-US", { timeZone: zone.trim() }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

export const timeZoneSchema = z
  .string()
  .refine((zone) => canonicalTimeZone(zone) !== undefined, "must be an IANA time zone such as Europe/Berlin or UTC")
  .transform((zone) => canonicalTimeZone(zone) ?? zone);

function partsOf(date: Date, zone: string, locale: string, options: Intl.DateTimeFormatOptions) {
  const key = `${locale}|${zone}|${JSON.stringify(options)}`;
  const parts = formatter(key, () => new Intl.DateTimeFormat(locale, { ...options, timeZone: zone })).formatToParts(
    date,
  );
  const value = (type: Intl.DateTimeFormatPartTypes) => parts.find((part) => part.type === type)?.value ?? "";
  return value;
}

/**
 * The zone's short name at that instant, as people write it: CET / CEST, EST / EDT, GMT / BST, UTC;
 * where no abbreviation is in common use, the offset (GMT+5:30).
 */
export function zoneAbbreviation(date: Date, zone: string): string {
  const british = partsOf(date, zone, "en-GB", { timeZoneName: "short" })("timeZoneName");
  if (/^[A-Z]{2,5}$/.test(british)) return british;
  const american = partsOf(date, zone, "en-US", { timeZoneName: "short" })("timeZoneName");
  if (/^[A-Z]{2,5}$/.test(american)) return american;
  return british || american || zone;
}

/** `Tue 1 Dec, 07:43 CET`: what a reader in that zone expects, day included. */
export function formatLocalTime(date: Date, zone: string): string {
  if (Number.isNaN(date.getTime())) return "an unknown time";
  const part = partsOf(date, zone, "en-GB", {
    weekday: "short",
    day: "numeric",
    month: "short",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  });
  return `${part("weekday")} ${part("day")} ${part("month")}, ${part("hour")}:${part("minute")} ${zoneAbbreviation(date, zone)}`;
}

/** `07:43 CET`: a time of day, for ranges within one day. */
export function formatLocalClock(date: Date, zone: string): string {
  const part = partsOf(date, zone, "en-GB", { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  return `${part("hour")}:${part("minute")} ${zoneAbbreviation(date, zone)}`;
}

/** The local calendar date, `2026-12-01`. */
export function localDate(date: Date, zone: string): string {
  const part = partsOf(date, zone, "en-CA", { year: "numeric", month: "2-digit", day: "2-digit" });
  return `${part("year")}-${part("month")}-${part("day")}`;
}

/** Minutes since local midnight on the wall clock (0-1439). */
export function wallMinutes(date: Date, zone: string): number {
  const part = partsOf(date, zone, "en-GB", { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  return (Number(part("hour")) % 24) * 60 + Number(part("minute"));
}

/** "1st", "2nd", "3rd", "4th", "11th", "22nd". */
export function ordinal(value: number): string {
  const lastTwo = value % 100;
  if (lastTwo >= 11 && lastTwo <= 13) return `${value}th`;
  const suffix = { 1: "st", 2: "nd", 3: "rd" }[value % 10] ?? "th";
  return `${value}${suffix}`;
}

// ---- quiet hours ----------------------------------------------------------------------------

/** A daily window on the local wall clock, e.g. 19:00-08:00 (across midnight) or 12:00-13:30. */
export interface QuietHours {
  /** Minutes since midnight; quiet from here (included)... */
  start: number;
  /** ...to here (excluded). */
  end: number;
}

const QUIET_HOURS = /^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$/;

export const quietHoursSchema = z
  .string()
  .trim()
  .regex(QUIET_HOURS, "must be HH:MM-HH:MM on a 24-hour clock, e.g. 19:00-08:00")
  .refine((text) => text.slice(0, 5) !== text.slice(6), "must not start and end at the same time");

export function parseQuietHours(text: string): QuietHours {
  const match = QUIET_HOURS.exec(text.trim());
  if (!match) throw new Error(`not quiet hours: ${text}`);
  const [, startHour, startMinute, endHour, endMinute] = match.map(Number) as number[];
  return {
    start: (startHour ?? 0) * 60 + (startMinute ?? 0),
    end: (endHour ?? 0) * 60 + (endMinute ?? 0),
  };
}

export function isQuiet(date: Date, quiet: QuietHours, zone: string): boolean {
  const minutes = wallMinutes(date, zone);
  return quiet.start < quiet.end
    ? minutes >= quiet.start && minutes < quiet.end
    : minutes >= quiet.start || minutes < quiet.end;
}

const MINUTE_MS = 60_000;
/** Longer than any quiet period (less than a day) plus a daylight-saving change. */
const MAX_SCAN_MINUTES = 26 * 60;

/** The next whole minute after `date`. */
function nextMinute(date: Date): Date {
  return new Date((Math.floor(date.getTime() / MINUTE_MS) + 1) * MINUTE_MS);
}

/**
 * The first whole minute after `date` at which quiet hours no longer apply: 08:00 local for
 * 19:00-08:00, whatever the daylight-saving changes in between; when the end falls into a
 * spring-forward gap, the first minute after the gap.
 */
export function quietHoursEnd(date: Date, quiet: QuietHours, zone: string): Date {
  let candidate = nextMinute(date);
  for (let step = 0; step < MAX_SCAN_MINUTES; step += 1) {
    if (!isQuiet(candidate, quiet, zone)) return candidate;
    candidate = new Date(candidate.getTime() + MINUTE_MS);
  }
  return candidate;
}

// ---- digest intervals -----------------------------------------------------------------------

const DAY_MINUTES = 24 * 60;
/** Intervals that divide the day, so that every local day has the same boundaries (:00, :30, ...). */
export const DIGEST_MINUTES = [5, 10, 15, 20, 30, 60, 120, 180, 240, 360, 480, 720, 1440] as const;

/** `30m` -> 30, `1h` -> 60, `90m` -> rejected (does not divide the day). */
export function digestMinutes(text: string): number | undefined {
  const match = /^(\d{1,4})\s*(m|min|h)$/i.exec(text.trim());
  if (!match) return undefined;
  const minutes = Number(match[1]) * (match[2]?.toLowerCase() === "h" ? 60 : 1);
  return (DIGEST_MINUTES as readonly number[]).includes(minutes) ? minutes : undefined;
}

/** The canonical spelling of an interval: 30m, 1h, 24h. */
export function formatDigestInterval(minutes: number): string {
  return minutes % 60 === 0 ? `${minutes / 60}h` : `${minutes}m`;
}

export const digestIntervalSchema = z
  .string()
  .refine(
    (text) => digestMinutes(text) !== undefined,
    `must be an interval that divides the day: ${DIGEST_MINUTES.map(formatDigestInterval).join(", ")}`,
  )
  .transform((text) => formatDigestInterval(digestMinutes(text) ?? 0));

/**
 * The end of the digest interval that `date` falls in: the next whole minute after it whose
 * local wall clock is a multiple of the interval (09:00, 09:30, ... for 30m). At most one such
 * boundary falls within any interval's length, across daylight-saving changes too.
 */
export function digestIntervalEnd(date: Date, minutes: number, zone: string): Date {
  let candidate = nextMinute(date);
  for (let step = 0; step < DAY_MINUTES + 120; step += 1) {
    if (wallMinutes(candidate, zone) % minutes === 0) return candidate;
    candidate = new Date(candidate.getTime() + MINUTE_MS);
  }
  return candidate;
}
