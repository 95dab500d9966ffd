import { describe, expect, it } from "vitest";
import { type NewReplyEvent, serializeEvent } from "../../src/domain/events.ts";

/**
 * The code points of `body` that SQS refuses (it accepts #x9 | #xA | #xD | #x20 to #xD7FF |
 * #xE000 to #xFFFD | #x10000 to #x10FFFF) or, with `emulator`, that fauxqs 2.4 refuses (the
 * same without the characters above U+FFFF).
 */
function refused(body: string, options: { emulator: boolean }): number[] {
  const accepted = (point: number) =>
    point === 0x9 ||
    point === 0xa ||
    point === 0xd ||
    (point >= 0x20 && point <= 0xd7ff) ||
    (point >= 0xe000 && point <= 0xfffd) ||
    (!options.emulator && point >= 0x10000 && point <= 0x10ffff);
  return Array.from(body, (character) => character.codePointAt(0) ?? 0).filter((point) => !accepted(point));
}

function eventWithBody(body: string): NewReplyEvent {
  return {
    version: 1,
    eventId: "0".repeat(64),
    detectedAt: "2026-12-01T00:00:00.000Z",
    conversation: { uid: "c1", name: "Zoë 🙂" },
    message: { uid: "m1", createdAt: "2026-12-01T00:00:00.000Z", body, bodyTruncated: false },
    sender: { known: true },
    targets: [
      { subscriptionId: "s1", channelId: "C0123456789", mentions: [], threadPerConversation: true, body: "full" },
    ],
  };
}

describe("serializeEvent", () => {
  it("writes emoji, noncharacters, control characters and lone surrogates so that SQS and its emulator accept the body", () => {
    const body = serializeEvent(eventWithBody("Thanks 🙏 👨‍👩‍👧 \uFFFE\uFFFF \u0007 \uD800 é ok"));

    expect(refused(body, { emulator: false })).toEqual([]);
    expect(refused(body, { emulator: true })).toEqual([]);
  });

  it("reads back as the same event", () => {
    const event = eventWithBody("Thanks 🙏 👨‍👩‍👧 \uFFFE\uFFFF \u0007 é はい");

    expect(JSON.parse(serializeEvent(event))).toEqual(event);
  });
});
