import { describe, expect, it } from "vitest";
import { chainStaleAfterMs, nextTickDelaySeconds, parseTick, serializeTick } from "../../src/domain/poll-chain.ts";

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
