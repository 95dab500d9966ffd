import { describe, expect, it } from "vitest";
import {
  afterFeedPoll,
  afterSweep,
  FEED_OVERLAP_MS,
  type FeedState,
  feedCoverage,
  feedPollWorthStoring,
  feedShouldHaveSeen,
  initialFeedState,
  pollSource,
  toSweepOnly,
} from "../../src/domain/feed.ts";
import { checkWebhookSignature, signWebhookBody } from "../../src/domain/webhook-signature.ts";

const at = (iso: string) => new Date(iso);
const TEN_MINUTES = 10 * 60_000;

describe("which source a poll reads", () => {
  const swept = afterSweep(initialFeedState(), at("2026-11-01T10:00:00Z"), ["team-uid"]);

  it("sweeps first, when asked, in sweep-only mode and once the reconcile interval has passed; the feed otherwise", () => {
    const options = { full: false, reconcileIntervalMs: TEN_MINUTES };
    expect(pollSource(undefined, at("2026-11-01T10:00:00Z"), options)).toEqual({ kind: "sweep", why: "first" });
    expect(pollSource(swept, at("2026-11-01T10:01:00Z"), { ...options, full: true })).toEqual({
      kind: "sweep",
      why: "full",
    });
    expect(pollSource(swept, at("2026-11-01T10:01:00Z"), options)).toEqual({
      kind: "feed",
      since: new Date(Date.parse("2026-11-01T10:00:00Z") - FEED_OVERLAP_MS),
    });
    expect(pollSource(swept, at("2026-11-01T10:10:00Z"), options)).toEqual({ kind: "sweep", why: "reconcile" });
    const sweepOnly = toSweepOnly(swept, "a miss", at("2026-11-01T10:02:00Z"));
    expect(pollSource(sweepOnly, at("2026-11-01T10:03:00Z"), options)).toEqual({ kind: "sweep", why: "sweep-only" });
  });

  it("sweeps while our account's uid is unknown: the feed could not tell our messages from participants'", () => {
    const noTeam = afterSweep(initialFeedState(), at("2026-11-01T10:00:00Z"), []);
    expect(pollSource(noTeam, at("2026-11-01T10:01:00Z"), { full: false, reconcileIntervalMs: TEN_MINUTES }).kind).toBe(
      "sweep",
    );
  });
});

describe("what the feed is answerable for", () => {
  it("from its start to the grace period before its last complete poll, and nothing in sweep-only mode", () => {
    let state: FeedState = afterSweep(initialFeedState(), at("2026-11-01T10:00:00Z"), ["team"]);
    expect(feedCoverage(state)).toBeUndefined();
    state = afterFeedPoll(state, at("2026-11-01T10:05:00Z"), []);
    const coverage = feedCoverage(state);
    expect(coverage?.from.toISOString()).toBe("2026-11-01T10:00:00.000Z");
    expect(coverage?.through.toISOString()).toBe("2026-11-01T10:03:00.000Z");
    expect(feedShouldHaveSeen(coverage, "2026-11-01T10:02:59.000Z")).toBe(true);
    expect(feedShouldHaveSeen(coverage, "2026-11-01T10:03:01.000Z")).toBe(false);
    expect(feedShouldHaveSeen(coverage, "2026-11-01T09:59:59.000Z")).toBe(false);
    expect(feedCoverage(toSweepOnly(state, "refused", at("2026-11-01T10:06:00Z")))).toBeUndefined();
  });

  it("stores a feed poll's progress only once the watermark would move by a minute", () => {
    const state = afterSweep(initialFeedState(), at("2026-11-01T10:00:00Z"), ["team"]);
    expect(feedPollWorthStoring(state, at("2026-11-01T10:00:30Z"))).toBe(false);
    expect(feedPollWorthStoring(state, at("2026-11-01T10:01:00Z"))).toBe(true);
  });
});

describe("webhook signatures", () => {
  const body = JSON.stringify({
    event: "MESSAGES.CREATED",
    uuid: "u-1",
    payload: { resource: { conversationId: "c" } },
  });

  it("match over the raw body or over its re-serialised JSON, and say which", () => {
    expect(checkWebhookSignature(Buffer.from(body), signWebhookBody(body, "key"), "key")).toEqual({
      ok: true,
      matched: "raw",
    });
    const pretty = JSON.stringify(JSON.parse(body), null, 2);
    expect(checkWebhookSignature(Buffer.from(pretty), signWebhookBody(body, "key"), "key")).toEqual({
      ok: true,
      matched: "reserialised",
    });
  });

  it("refuse a missing, malformed or mismatching signature", () => {
    expect(checkWebhookSignature(Buffer.from(body), undefined, "key")).toEqual({ ok: false, reason: "missing" });
    expect(checkWebhookSignature(Buffer.from(body), "nonsense", "key")).toEqual({ ok: false, reason: "malformed" });
    expect(checkWebhookSignature(Buffer.from(body), signWebhookBody(body, "other"), "key")).toEqual({
      ok: false,
      reason: "mismatch",
    });
    expect(checkWebhookSignature(Buffer.from(body), signWebhookBody(body, "key", "md5"), "key")).toEqual({
      ok: false,
      reason: "unsupported algorithm",
    });
  });
});
