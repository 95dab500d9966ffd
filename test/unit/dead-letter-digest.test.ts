import { describe, expect, it } from "vitest";
import { type DigestDue, serializeEvent } from "../../src/domain/events.ts";
import { readDeadLetter } from "../../src/usecases/dead-letters.ts";

const record = {
  id: "m-1",
  at: "2026-12-02T07:10:00.000Z",
  atMeaning: "queued" as const,
  receiveCount: 12,
  lastError: undefined,
};

describe("a dead-lettered due digest", () => {
  it("is read as a digest, not as a broken event", () => {
    const digest: DigestDue = {
      version: 1,
      kind: "digest",
      digestId: "p#C0DIGEST001@2026-12-02T07:00:00.000Z",
      subscriptionId: "p#C0DIGEST001",
      channelId: "C0DIGEST001",
      dueAt: "2026-12-02T07:00:00.000Z",
    };
    const view = readDeadLetter({ ...record, body: serializeEvent(digest) });
    expect(view.digest).toEqual(digest);
    expect(view.problem).toBeUndefined();
    expect(readDeadLetter({ ...record, body: '{"kind":"digest"}' }).problem).toContain("not a valid new-reply event");
  });
});
