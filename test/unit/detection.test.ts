import { describe, expect, it } from "vitest";
import { detectNewMessages } from "../../src/domain/detection.ts";
import { eventIdFor, MAX_EVENT_BODY_CHARS } from "../../src/domain/events.ts";
import { conversation, message, subscription } from "../support/builders.ts";

const detectedAt = new Date("2026-06-01T00:00:00.000Z");
const T = (minute: number) => new Date(Date.UTC(2026, 4, 1, 12, minute)).toISOString();

function detect(
  input: Partial<Parameters<typeof detectNewMessages>[0]> &
    Pick<Parameters<typeof detectNewMessages>[0], "conversation">,
) {
  return detectNewMessages({ stored: undefined, subscriptions: [subscription()], detectedAt, ...input });
}

describe("change detection", () => {
  it("reports nothing when latestMessage.uid equals the stored uid", () => {
    const conv = conversation({ messages: [message("m1", T(1), "participant")] });
    const result = detect({ conversation: conv, stored: { lastMessageUid: "m1", lastMessageCreatedAt: T(1) } });
    expect(result.events).toEqual([]);
    expect(result.nextState).toBeUndefined();
  });

  it("alerts only the participant messages after the stored one, oldest first", () => {
    const conv = conversation({
      messages: [
        message("m3", T(3), "participant"),
        message("m1", T(1), "participant"),
        message("m2", T(2), "team"),
        message("m4", T(4), "participant"),
      ],
    });
    const result = detect({ conversation: conv, stored: { lastMessageUid: "m1", lastMessageCreatedAt: T(1) } });
    expect(result.events.map((event) => event.message.uid)).toEqual(["m3", "m4"]);
    expect(result.ownMessages).toBe(1);
    expect(result.nextState).toEqual({ lastMessageUid: "m4", lastMessageCreatedAt: T(4) });
  });

  it("breaks createdAt ties by uid so every poller agrees on what is after the stored message", () => {
    const conv = conversation({
      messages: [
        message("b", T(5), "participant"),
        message("a", T(5), "participant"),
        message("c", T(5), "participant"),
      ],
    });
    const result = detect({ conversation: conv, stored: { lastMessageUid: "a", lastMessageCreatedAt: T(5) } });
    expect(result.events.map((event) => event.message.uid)).toEqual(["b", "c"]);
  });

  it("falls back to the stored createdAt when the stored uid is no longer among the messages", () => {
    const conv = conversation({
      messages: [
        message("m1", T(1), "participant"),
        message("m5", T(5), "participant"),
        message("m6", T(6), "participant"),
      ],
    });
    const result = detect({ conversation: conv, stored: { lastMessageUid: "gone", lastMessageCreatedAt: T(4) } });
    expect(result.events.map((event) => event.message.uid)).toEqual(["m5", "m6"]);
  });

  it("treats messages from conversation.user as our own: the state advances, no event", () => {
    const conv = conversation({ messages: [message("m1", T(1), "participant"), message("m2", T(2), "team")] });
    const result = detect({ conversation: conv, stored: { lastMessageUid: "m1", lastMessageCreatedAt: T(1) } });
    expect(result.events).toEqual([]);
    expect(result.ownMessages).toBe(1);
    expect(result.nextState?.lastMessageUid).toBe("m2");
  });

  it("alerts a message whose sender cannot be determined, marked as unknown", () => {
    const conv = conversation({ messages: [message("m1", T(1), "unknown")] });
    const result = detect({ conversation: conv });
    expect(result.events).toHaveLength(1);
    expect(result.events[0]?.sender).toEqual({ known: false });
  });

  it("names the participant from the message sender", () => {
    const result = detect({ conversation: conversation({ messages: [message("m1", T(1), "participant")] }) });
    expect(result.events[0]?.sender).toEqual({ known: true, uid: "participant-1", firstName: "Jane", lastName: "D" });
  });

  it("ignores deleted conversations entirely", () => {
    const conv = conversation({ deleted: true, messages: [message("m1", T(1), "participant")] });
    const result = detect({ conversation: conv });
    expect(result).toMatchObject({ events: [], nextState: undefined });
  });

  it("never alerts messages created before the subscription started, but records them as seen", () => {
    const conv = conversation({
      messages: [message("old", T(1), "participant"), message("new", T(10), "participant")],
    });
    const result = detect({ conversation: conv, subscriptions: [subscription({ createdAt: T(5) })] });
    expect(result.events.map((event) => event.message.uid)).toEqual(["new"]);
    expect(result.unrouted).toBe(1);
    expect(result.nextState?.lastMessageUid).toBe("new");
  });

  it("alerts a message created at the very instant the subscription started", () => {
    const conv = conversation({ messages: [message("same", T(5), "participant")] });
    const result = detect({ conversation: conv, subscriptions: [subscription({ createdAt: T(5) })] });
    expect(result.events.map((event) => event.message.uid)).toEqual(["same"]);
  });

  it("leaves messages created after the subscriptions were read for the next poll", () => {
    const conv = conversation({ messages: [message("m1", T(1), "participant"), message("m3", T(3), "participant")] });
    const now = detect({ conversation: conv, horizon: new Date(T(2)) });
    expect(now.events.map((event) => event.message.uid)).toEqual(["m1"]);
    expect(now.nextState?.lastMessageUid).toBe("m1");

    const next = detect({ conversation: conv, stored: now.nextState, horizon: new Date(T(4)) });
    expect(next.events.map((event) => event.message.uid)).toEqual(["m3"]);
  });

  it("advances the state of a first-seen conversation with only old messages, without alerting", () => {
    const conv = conversation({ messages: [message("old", T(1), "participant")] });
    const result = detect({ conversation: conv, subscriptions: [subscription({ createdAt: T(5) })] });
    expect(result.events).toEqual([]);
    expect(result.nextState?.lastMessageUid).toBe("old");
  });

  it("targets each matching channel whose subscription started before the message", () => {
    const subs = [
      subscription({ channelId: "C0000000001", createdAt: T(0) }),
      subscription({ channelId: "C0000000002", createdAt: T(3), body: "hidden", mentions: ["U12345678"] }),
      subscription({ projectId: "*", channelId: "C0000000003", createdAt: T(0), threadPerConversation: false }),
      subscription({ projectId: "project-b", channelId: "C0000000004", createdAt: T(0) }),
      subscription({ channelId: "C0000000005", createdAt: T(0), paused: true }),
      subscription({ channelId: "C0000000006", createdAt: T(0), externalResearcherId: "someone-else" }),
    ];
    const conv = conversation({ messages: [message("m2", T(2), "participant"), message("m4", T(4), "participant")] });
    const result = detect({ conversation: conv, subscriptions: subs });
    const channelsOf = (index: number) => result.events[index]?.targets.map((target) => target.channelId);
    expect(channelsOf(0)).toEqual(["C0000000001", "C0000000003"]);
    expect(channelsOf(1)).toEqual(["C0000000001", "C0000000002", "C0000000003"]);
    expect(result.events[1]?.targets[1]).toMatchObject({ body: "hidden", mentions: ["U12345678"] });
    expect(result.events[1]?.targets[2]).toMatchObject({ threadPerConversation: false });
  });

  it("matches a researcher filter against the conversation metadata", () => {
    const subs = [subscription({ externalResearcherId: "researcher-1" })];
    const result = detect({
      conversation: conversation({ messages: [message("m1", T(1), "participant")] }),
      subscriptions: subs,
    });
    expect(result.events).toHaveLength(1);
  });

  it("gives each event a stable id from the conversation and message uids", () => {
    const conv = conversation({ messages: [message("m1", T(1), "participant")] });
    const first = detect({ conversation: conv });
    const second = detect({ conversation: conv, detectedAt: new Date() });
    expect(first.events[0]?.eventId).toBe(eventIdFor("conv-1", "m1"));
    expect(second.events[0]?.eventId).toBe(first.events[0]?.eventId);
    expect(eventIdFor("conv-1", "m1")).not.toBe(eventIdFor("conv-1m", "1"));
  });

  it("carries conversation, project and researcher in the event", () => {
    const result = detect({ conversation: conversation({ messages: [message("m1", T(1), "participant")] }) });
    expect(result.events[0]).toMatchObject({
      version: 1,
      conversation: {
        uid: "conv-1",
        name: "Usability study - Jane",
        projectId: "project-a",
        externalResearcherId: "researcher-1",
      },
      message: { uid: "m1", createdAt: T(1), bodyTruncated: false },
    });
  });

  it("caps a huge body in the event without splitting an emoji, and says so", () => {
    const body = `${"😀".repeat(MAX_EVENT_BODY_CHARS)}tail`;
    const result = detect({ conversation: conversation({ messages: [message("m1", T(1), "participant", body)] }) });
    const event = result.events[0];
    expect(event?.message.bodyTruncated).toBe(true);
    expect(Array.from(event?.message.body ?? "")).toHaveLength(MAX_EVENT_BODY_CHARS);
    expect(event?.message.body.endsWith("😀")).toBe(true);
  });

  it("does not advance past what it saw when latestMessage is missing from messages", () => {
    const conv = conversation({ messages: [message("m1", T(1), "participant")] });
    conv.latestMessage = { uid: "m9", createdAt: T(9), body: "not listed yet" };
    const result = detect({ conversation: conv, stored: { lastMessageUid: "m1", lastMessageCreatedAt: T(1) } });
    expect(result.latestMessageMissing).toBe(true);
    expect(result.nextState).toBeUndefined();
    expect(result.events).toEqual([]);
  });

  it("never moves the state backwards when only older messages are listed", () => {
    const conv = conversation({ messages: [message("m1", T(1), "participant"), message("m2", T(2), "participant")] });
    conv.latestMessage = { uid: "m2-edited", createdAt: T(2), body: "" };
    const result = detect({ conversation: conv, stored: { lastMessageUid: "m3", lastMessageCreatedAt: T(3) } });
    expect(result.nextState).toBeUndefined();
    expect(result.events).toEqual([]);
  });
});
