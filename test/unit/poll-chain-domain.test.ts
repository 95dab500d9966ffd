import { describe, expect, it } from "vitest";
import { chainStaleAfterMs, nextTickDelaySeconds, parseTick, serializeTick } from "../../src/domain/poll-chain.ts";
import { checkPollChain } from "../../src/usecases/doctor.ts";

describe("the poll chain's arithmetic and its tick messages", () => {
  it("delays the next tick by what is left of the interval, never below 0 or above the interval", () => {
    expect(nextTickDelaySeconds(10, 180)).toBe(10);
    expect(nextTickDelaySeconds(10, 2_600)).toBe(7);
    expect(nextTickDelaySeconds(10, 9_700)).toBe(0);
    expect(nextTickDelaySeconds(10, 38_000)).toBe(0);
    expect(nextTickDelaySeconds(30, 0)).toBe(30);
  });

  it("counts a chain dead only after a tick could have polled to the timeout and its successor waited a full interval", () => {
    expect(chainStaleAfterMs(10, 55)).toBe(80_000);
    expect(chainStaleAfterMs(30, 55)).toBe(100_000);
  });

  it("reads back the ticks it writes and says what is wrong with anything else", () => {
    expect(parseTick(serializeTick({ chainId: "c-1", seq: 3 }))).toEqual({
      tick: { kind: "poll-tick", chainId: "c-1", seq: 3 },
    });
    expect(parseTick("{")).toEqual({ problem: "the message body is not JSON" });
    expect(parseTick(JSON.stringify({ kind: "poll-tick", chainId: "c-1", seq: 0 }))).toMatchObject({
      problem: expect.stringMatching(/^not a poll tick: seq /),
    });
    expect(parseTick(JSON.stringify({ kind: "poll-tick", seq: 2 }))).toMatchObject({
      problem: expect.stringMatching(/^not a poll tick: chainId /),
    });
  });
});

describe("doctor's poll chain line", () => {
  const tickedAt = new Date("2026-12-01T10:00:00.000Z");
  const state = { chainId: "0123456789abcdef", seq: 7, tickedAt };
  const at = (seconds: number) => new Date(tickedAt.getTime() + seconds * 1000);

  it("passes while a tick has started within the longest live gap, warns after it, and only notes a long-unused chain", () => {
    expect(checkPollChain(state, at(12))).toEqual({
      status: "pass",
      detail: "polling below a minute: tick 7 of chain 01234567, started 12 s ago (2026-12-01T10:00:00.000Z)",
    });
    expect(checkPollChain(state, at(100)).status).toBe("pass");
    expect(checkPollChain(state, at(101))).toMatchObject({
      status: "warn",
      detail: expect.stringMatching(/^stopped: tick 7 of chain 01234567, started 101 s ago .*watchdog restarts/),
      fix: expect.stringContaining("the poll chain had stopped"),
    });
    expect(checkPollChain(state, at(16 * 60))).toMatchObject({
      status: "note",
      detail: expect.stringMatching(/^not ticking \(tick 7 of chain 01234567, started 16 min ago .*not in use/),
    });
  });
});
