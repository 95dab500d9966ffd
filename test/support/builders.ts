import { eventIdFor, type NewReplyEvent } from "../../src/domain/events.ts";
import type { Conversation, Message } from "../../src/domain/respondent.ts";
import { type Subscription, subscriptionSchema } from "../../src/domain/subscriptions.ts";
import type { QueuedMessage } from "../../src/ports.ts";

/** Our team's API account: messages it sends are ours, never alerts. */
export const TEAM_USER = { uid: "team-user", firstName: "Research", lastName: "T" };
export const PARTICIPANT = { uid: "participant-1", firstName: "Jane", lastName: "D" };

export function message(
  uid: string,
  createdAt: string,
  from: "participant" | "team" | "unknown",
  body = `body of ${uid}`,
): Message {
  const sender = from === "participant" ? PARTICIPANT : from === "team" ? TEAM_USER : undefined;
  return { uid, createdAt, body, ...(sender ? { sender } : {}) };
}

export function conversation(overrides: Partial<Conversation> & { messages: Message[] }): Conversation {
  const { messages } = overrides;
  const latest = [...messages].sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt)).at(-1);
  return {
    uid: "conv-1",
    createdAt: "2026-01-01T00:00:00.000Z",
    name: "Usability study - Jane",
    deleted: false,
    locked: false,
    metadata: { projectId: "project-a", externalResearcherId: "researcher-1" },
    user: TEAM_USER,
    participants: [
      { ...TEAM_USER, read: true, deleted: false },
      { ...PARTICIPANT, read: false, deleted: false },
    ],
    latestMessage: latest
      ? { uid: latest.uid, createdAt: latest.createdAt, body: latest.body }
      : { uid: "none", createdAt: "2026-01-01T00:00:00.000Z", body: "" },
    messagesCount: messages.length,
    ...overrides,
  };
}

export function subscription(overrides: Partial<Subscription> = {}): Subscription {
  return subscriptionSchema.parse({
    projectId: "project-a",
    channelId: "C0000000001",
    createdAt: "2026-01-01T00:00:00.000Z",
    ...overrides,
  });
}

/** A new-reply event as the poller would queue it, for notifier tests. */
export function replyEvent(
  conversationUid: string,
  messageUid: string,
  channels: string[],
  overrides: Partial<NewReplyEvent> = {},
): NewReplyEvent {
  return {
    version: 1,
    eventId: eventIdFor(conversationUid, messageUid),
    detectedAt: "2026-06-01T12:00:05.000Z",
    conversation: { uid: conversationUid, name: "Diary study - Jane", projectId: "project-a" },
    message: {
      uid: messageUid,
      createdAt: "2026-06-01T12:00:00.000Z",
      body: `reply ${messageUid}`,
      bodyTruncated: false,
    },
    sender: { known: true, uid: "participant-1", firstName: "Jane", lastName: "Doe" },
    targets: channels.map((channelId) => ({
      subscriptionId: `project-a#${channelId}`,
      channelId,
      mentions: [],
      threadPerConversation: true,
      body: "full" as const,
    })),
    ...overrides,
  };
}

/** A queued message carrying `body` (an event, or any text), as SQS or the Lambda's event source hands it over. */
export function queuedMessage(body: NewReplyEvent | string, overrides: Partial<QueuedMessage> = {}): QueuedMessage {
  const event = typeof body === "string" ? undefined : body;
  return {
    messageId: `message-${event?.eventId.slice(0, 12) ?? "raw"}`,
    receiptHandle: `receipt-${event?.eventId.slice(0, 12) ?? "raw"}`,
    groupId: event?.conversation.uid ?? "conv-raw",
    body: typeof body === "string" ? body : JSON.stringify(body),
    receiveCount: 1,
    ...overrides,
  };
}
