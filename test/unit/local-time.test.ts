import { describe, expect, it } from "vitest";
import { deliveryPlan } from "../../src/domain/delivery-schedule.ts";
import {
  digestIntervalEnd,
  digestIntervalSchema,
  formatLocalTime,
  isQuiet,
  localDate,
  ordinal,
  parseQuietHours,
  quietHoursEnd,
  quietHoursSchema,
  timeZoneSchema,
} from "../../src/domain/local-time.ts";

const at = (iso: string) => new Date(iso);

describe("readable local times", () => {
  it("writes weekday, day, month, 24-hour time and the zone's abbreviation", () => {
    expect(formatLocalTime(at("2026-12-01T06:43:29.318Z"), "Europe/Berlin")).toBe("Tue 1 Dec, 07:43 CET");
    expect(formatLocalTime(at("2026-06-01T06:43:00Z"), "Europe/Berlin")).toBe("Mon 1 Jun, 08:43 CEST");
    expect(formatLocalTime(at("2026-12-01T06:43:00Z"), "UTC")).toBe("Tue 1 Dec, 06:43 UTC");
    expect(formatLocalTime(at("2026-12-01T06:43:00Z"), "America/New_York")).toBe("Tue 1 Dec, 01:43 EST");
    expect(formatLocalTime(at("2026-07-01T12:00:00Z"), "Europe/London")).toBe("Wed 1 Jul, 13:00 BST");
  });

  it("falls back to the offset where a zone has no common abbreviation", () => {
    expect(formatLocalTime(at("2026-12-01T06:43:00Z"), "Asia/Kolkata")).toBe("Tue 1 Dec, 12:13 GMT+5:30");
  });

  it("gives the local date, which differs from UTC's around midnight", () => {
    expect(localDate(at("2026-12-01T23:30:00Z"), "Europe/Berlin")).toBe("2026-12-02");
    expect(localDate(at("2026-12-01T23:30:00Z"), "UTC")).toBe("2026-12-01");
  });

  it("writes ordinals as people do", () => {
    expect([1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 101, 111].map(ordinal)).toEqual([
      "1st",
      "2nd",
      "3rd",
      "4th",
      "11th",
      "12th",
      "13th",
      "21st",
      "22nd",
      "23rd",
      "101st",
      "111th",
    ]);
  });

  it("accepts IANA zones in any case and refuses others", () => {
    expect(timeZoneSchema.parse("europe/berlin")).toBe("Europe/Berlin");
    expect(timeZoneSchema.safeParse("Mars/Olympus").success).toBe(false);
    expect(timeZoneSchema.safeParse("").success).toBe(false);
  });
});

describe("quiet hours", () => {
  const evening = parseQuietHours("19:00-08:00");
  const berlin = "Europe/Berlin";

  it("validates HH:MM-HH:MM", () => {
    expect(quietHoursSchema.safeParse("19:00-08:00").success).toBe(true);
    expect(quietHoursSchema.safeParse("7pm-8am").success).toBe(false);
    expect(quietHoursSchema.safeParse("24:00-08:00").success).toBe(false);
    expect(quietHoursSchema.safeParse("08:00-08:00").success).toBe(false);
  });

  it("spans midnight: quiet from 19:00 to 08:00 local, not after", () => {
    expect(isQuiet(at("2026-12-01T17:59:00Z"), evening, berlin)).toBe(false); // 18:59 CET
    expect(isQuiet(at("2026-12-01T18:00:00Z"), evening, berlin)).toBe(true); // 19:00
    expect(isQuiet(at("2026-12-01T23:30:00Z"), evening, berlin)).toBe(true); // 00:30 next day
    expect(isQuiet(at("2026-12-02T06:59:00Z"), evening, berlin)).toBe(true); // 07:59
    expect(isQuiet(at("2026-12-02T07:00:00Z"), evening, berlin)).toBe(false); // 08:00
    expect(quietHoursEnd(at("2026-12-01T18:00:00Z"), evening, berlin).toISOString()).toBe("2026-12-02T07:00:00.000Z");
    expect(quietHoursEnd(at("2026-12-02T02:15:00Z"), evening, berlin).toISOString()).toBe("2026-12-02T07:00:00.000Z");
  });

  it("ends at 08:00 local across the spring-forward night (a 12-hour night in UTC)", () => {
    // 2026-03-29: Berlin goes from 02:00 CET to 03:00 CEST.
    const held = at("2026-03-28T20:00:00Z"); // 21:00 CET
    expect(quietHoursEnd(held, evening, berlin).toISOString()).toBe("2026-03-29T06:00:00.000Z"); // 08:00 CEST
  });

  it("ends at 08:00 local across the fall-back night (a 14-hour night in UTC)", () => {
    // 2026-10-25: Berlin goes from 03:00 CEST back to 02:00 CET.
    const held = at("2026-10-24T20:00:00Z"); // 22:00 CEST
    expect(quietHoursEnd(held, evening, berlin).toISOString()).toBe("2026-10-25T07:00:00.000Z"); // 08:00 CET
  });

  it("ends at the first minute after the gap when the end itself is skipped by a spring-forward", () => {
    const night = parseQuietHours("22:00-02:30");
    // 02:30 does not exist in Berlin on 2026-03-29: quiet ends at 03:00 CEST (01:00Z).
    expect(quietHoursEnd(at("2026-03-28T22:00:00Z"), night, berlin).toISOString()).toBe("2026-03-29T01:00:00.000Z");
  });

  it("plans a reply in quiet hours for their end, and one outside them for now", () => {
    const target = { quietHours: "19:00-08:00", timezone: berlin };
    expect(deliveryPlan(target, at("2026-12-01T12:00:00Z"), "UTC")).toEqual({ when: "now" });
    expect(deliveryPlan(target, at("2026-12-01T22:00:00Z"), "UTC")).toEqual({
      when: "held",
      reason: "quiet",
      dueAt: at("2026-12-02T07:00:00Z"),
    });
  });

  it("reads the quiet hours in the process's zone when the subscription has none", () => {
    const target = { quietHours: "19:00-08:00" };
    // 20:00 UTC is quiet in UTC, not in New York (15:00).
    expect(deliveryPlan(target, at("2026-12-01T20:00:00Z"), "UTC").when).toBe("held");
    expect(deliveryPlan(target, at("2026-12-01T20:00:00Z"), "America/New_York").when).toBe("now");
  });
});

describe("digest intervals", () => {
  it("accepts intervals that divide the day and spells them canonically", () => {
    expect(digestIntervalSchema.parse("30m")).toBe("30m");
    expect(digestIntervalSchema.parse("60m")).toBe("1h");
    expect(digestIntervalSchema.parse("2h")).toBe("2h");
    expect(digestIntervalSchema.safeParse("90m").success).toBe(false);
    expect(digestIntervalSchema.safeParse("soon").success).toBe(false);
  });

  it("ends an interval on the local wall clock's boundary", () => {
    expect(digestIntervalEnd(at("2026-12-01T09:10:00Z"), 30, "UTC").toISOString()).toBe("2026-12-01T09:30:00.000Z");
    expect(digestIntervalEnd(at("2026-12-01T09:30:00Z"), 30, "UTC").toISOString()).toBe("2026-12-01T10:00:00.000Z");
    // Kolkata is on :30 offsets: hourly boundaries fall at :30 UTC.
    expect(digestIntervalEnd(at("2026-12-01T09:10:00Z"), 60, "Asia/Kolkata").toISOString()).toBe(
      "2026-12-01T09:30:00.000Z",
    );
  });

  it("holds a digest whose interval ends in quiet hours until they end", () => {
    const target = { quietHours: "19:00-08:00", timezone: "Europe/Berlin", digest: "1h" };
    expect(deliveryPlan(target, at("2026-12-01T17:20:00Z"), "UTC")).toEqual({
      when: "held",
      reason: "digest",
      dueAt: at("2026-12-02T07:00:00Z"),
    });
    expect(deliveryPlan(target, at("2026-12-01T10:20:00Z"), "UTC")).toEqual({
      when: "held",
      reason: "digest",
      dueAt: at("2026-12-01T11:00:00Z"),
    });
  });
});
