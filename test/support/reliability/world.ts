import type { Subscription } from "../../../src/domain/subscriptions.ts";
import { hashString, pick, seededRandom, shuffle } from "./random.ts";

/**
 * The Respondent API as the poller sees it, modelled as a sequence of snapshots: conversations
 * gain participant and researcher messages, new ones open, some are deleted, the listing is
 * re-ordered and re-paged between polls. The snapshot server serves `listing()` over HTTP, and
 * the same model is the oracle: it knows every message, who wrote it and when, and every
 * subscription with its start, so it can say which alerts are due in which channel.
 */

export const PROJECT_IDS = [
  "64b7f0c2e4b0a1b2c3d4e501",
  "64b7f0c2e4b0a1b2c3d4e502",
  "64b7f0c2e4b0a1b2c3d4e503",
] as const;
export const CHANNEL_IDS = ["C0RELIAB001", "C0RELIAB002", "G0RELIAB003"] as const;
export const ALL_PROJECTS = "*";
export const TEAM_USER = { uid: "5f00000000000000000000aa", firstName: "Acme Research", lastName: "T" } as const;
/** Steps start here; the prelude (history older than any subscription) lies before it. */
export const WORLD_START_MS = Date.parse("2026-03-02T09:00:00.000Z");

/** `anonymous`: a message served without `sender`, which the poller must treat as a possible participant. */
export type Author = "participant" | "researcher" | "anonymous";

export type ListingOrder = { kind: "created" } | { kind: "updated-desc" } | { kind: "random"; seed: number };

export type Step =
  | { kind: "open"; project: number; author: Author; advanceMs: number }
  | { kind: "message"; conversation: number; author: Author; advanceMs: number }
  | { kind: "subscribe"; project: number | typeof ALL_PROJECTS; channel: number; advanceMs: number }
  | { kind: "delete"; conversation: number; remove: boolean }
  | { kind: "reorder"; order: ListingOrder }
  | { kind: "pageCap"; cap: number }
  | { kind: "poll" };

export interface History {
  /** Conversations that exist before the first step, each with its authors in order. */
  prelude: Array<{ project: number; authors: Author[] }>;
  steps: Step[];
  pageCap: number;
  includeTotal: boolean;
  /** Each request returns a page's items, and each conversation's messages, in a new order. */
  shuffleWithinPage: boolean;
  /** Drives every random choice of the run (listing order, faults, crash points). */
  seed: number;
}

export interface ModelMessage {
  uid: string;
  createdAtMs: number;
  author: Author;
  body: string;
  /** Position in its conversation: creation order, which is the order alerts must keep. */
  position: number;
}

export interface ModelConversation {
  uid: string;
  projectId: string;
  createdAtMs: number;
  name: string;
  participant: { uid: string; firstName: string; lastName: string };
  messages: ModelMessage[];
  /** Served with `deleted: true`. */
  deleted: boolean;
  /** No longer listed at all. */
  removed: boolean;
}

export interface ModelSubscription {
  projectId: string;
  channelId: string;
  createdAtMs: number;
}

const FIRST_NAMES = ["Jane", "Zoë", "Björn", "Анна", "Yuki", "Priya", "Nguyễn", "Kofi"];
const BODIES = [
  "Yes, Thursday at 3pm works.",
  "Sorry, can we reschedule? 🙏",
  "Merci ! Je suis disponible jeudi 🙂",
  "はい、大丈夫です。",
  "I'm running 5 minutes late!",
  "Done ✅ the diary entry is in.",
];

/** Message bodies start with this tag so that every Slack post names the message it alerts. */
export const messageTag = (uid: string) => `ref ${uid}:`;
export const MESSAGE_TAG_PATTERN = /ref (m\d{6}):/;

export class World {
  nowMs = WORLD_START_MS;
  readonly conversations: ModelConversation[] = [];
  readonly subscriptions: ModelSubscription[] = [];
  order: ListingOrder = { kind: "created" };
  pageCap: number;
  readonly includeTotal: boolean;
  readonly shuffleWithinPage: boolean;
  private readonly random: () => number;
  private readonly byMessageUid = new Map<string, { conversation: ModelConversation; message: ModelMessage }>();
  private nextConversation = 1;
  private nextMessage = 1;

  constructor(history: History) {
    this.pageCap = history.pageCap;
    this.includeTotal = history.includeTotal;
    this.shuffleWithinPage = history.shuffleWithinPage;
    this.random = seededRandom(history.seed ^ 0x2545f491);
    // The prelude is history from before any subscription: one to three days old.
    for (const [index, old] of history.prelude.entries()) {
      const openedAt = WORLD_START_MS - (3 - (index % 3)) * 86_400_000;
      const conversation = this.createConversation(old.project, openedAt);
      for (const [position, author] of old.authors.entries()) {
        this.appendMessage(conversation, author, openedAt + position * 60_000);
      }
    }
  }

  /** Applies one step; returns the subscription to store when the step adds one. */
  apply(step: Step): Subscription | undefined {
    switch (step.kind) {
      case "open": {
        this.nowMs += step.advanceMs;
        const conversation = this.createConversation(step.project, this.nowMs);
        this.appendMessage(conversation, step.author, this.nowMs);
        return undefined;
      }
      case "message": {
        this.nowMs += step.advanceMs;
        const live = this.liveConversations();
        const conversation = live[step.conversation % Math.max(1, live.length)];
        if (conversation) this.appendMessage(conversation, step.author, this.nowMs);
        return undefined;
      }
      case "subscribe": {
        this.nowMs += step.advanceMs;
        const projectId = step.project === ALL_PROJECTS ? ALL_PROJECTS : projectAt(step.project);
        const channelId = CHANNEL_IDS[step.channel % CHANNEL_IDS.length] ?? CHANNEL_IDS[0];
        const exists = this.subscriptions.some((s) => s.projectId === projectId && s.channelId === channelId);
        if (exists) return undefined;
        this.subscriptions.push({ projectId, channelId, createdAtMs: this.nowMs });
        return {
          projectId,
          channelId,
          mentions: [],
          threadPerConversation: true,
          body: "full",
          paused: false,
          createdAt: new Date(this.nowMs).toISOString(),
        };
      }
      case "delete": {
        const live = this.liveConversations();
        const conversation = live[step.conversation % Math.max(1, live.length)];
        if (conversation) {
          conversation.deleted = true;
          conversation.removed = step.remove;
        }
        return undefined;
      }
      case "reorder":
        this.order = step.order;
        return undefined;
      case "pageCap":
        this.pageCap = step.cap;
        return undefined;
      case "poll":
        return undefined;
    }
  }

  liveConversations(): ModelConversation[] {
    return this.conversations.filter((conversation) => !conversation.deleted);
  }

  /** The items of `GET /v1/messaging/conversations` for the filter, in the current listing order, as fresh JSON. */
  listing(projectId: string | undefined): unknown[] {
    const listed = this.conversations.filter(
      (conversation) => !conversation.removed && (projectId === undefined || conversation.projectId === projectId),
    );
    return this.sorted(listed).map((conversation) => this.toJson(conversation));
  }

  /** Same-instant reshuffles of one page, when the history asks for them. */
  shufflePage<T>(items: T[]): T[] {
    return this.shuffleWithinPage ? shuffle(items, this.random) : items;
  }

  lookup(messageUid: string): { conversation: ModelConversation; message: ModelMessage } | undefined {
    return this.byMessageUid.get(messageUid);
  }

  /** The channels a message must alert: participant (or unknown) author, and a matching subscription started by then. */
  dueChannels(conversation: ModelConversation, message: ModelMessage): Set<string> {
    if (message.author === "researcher") return new Set();
    return new Set(
      this.subscriptions
        .filter(
          (subscription) =>
            (subscription.projectId === ALL_PROJECTS || subscription.projectId === conversation.projectId) &&
            subscription.createdAtMs <= message.createdAtMs,
        )
        .map((subscription) => subscription.channelId),
    );
  }

  /** Whether any poll lists this conversation's project at all. */
  isPolled(conversation: ModelConversation): boolean {
    return this.subscriptions.some(
      (subscription) => subscription.projectId === ALL_PROJECTS || subscription.projectId === conversation.projectId,
    );
  }

  latest(conversation: ModelConversation): ModelMessage | undefined {
    return conversation.messages.at(-1);
  }

  private createConversation(project: number, atMs: number): ModelConversation {
    const sequence = this.nextConversation;
    this.nextConversation += 1;
    const firstName = pick(FIRST_NAMES, this.random);
    const conversation: ModelConversation = {
      uid: `c${String(sequence).padStart(6, "0")}`,
      projectId: projectAt(project),
      createdAtMs: atMs,
      name: `Study ${project} - ${firstName} ${String.fromCharCode(65 + (sequence % 26))}.`,
      participant: {
        uid: `p${String(sequence).padStart(6, "0")}`,
        firstName,
        lastName: String.fromCharCode(65 + (sequence % 26)),
      },
      messages: [],
      deleted: false,
      removed: false,
    };
    this.conversations.push(conversation);
    return conversation;
  }

  private appendMessage(conversation: ModelConversation, author: Author, atMs: number): void {
    const uid = `m${String(this.nextMessage).padStart(6, "0")}`;
    this.nextMessage += 1;
    const message: ModelMessage = {
      uid,
      // Every step moves time forward, so a conversation's messages have strictly increasing times.
      createdAtMs: atMs,
      author,
      body: `${messageTag(uid)} ${pick(BODIES, this.random)}`,
      position: conversation.messages.length,
    };
    conversation.messages.push(message);
    this.byMessageUid.set(uid, { conversation, message });
  }

  private sorted(conversations: ModelConversation[]): ModelConversation[] {
    const order = this.order;
    const copy = [...conversations];
    if (order.kind === "updated-desc") {
      return copy.sort((a, b) => (this.latest(b)?.createdAtMs ?? 0) - (this.latest(a)?.createdAtMs ?? 0));
    }
    if (order.kind === "random") {
      return copy.sort((a, b) => hashString(a.uid, order.seed) - hashString(b.uid, order.seed));
    }
    return copy;
  }

  private toJson(conversation: ModelConversation): unknown {
    const participant = { ...conversation.participant };
    const user = { ...TEAM_USER };
    const messages = conversation.messages.map((message) => ({
      uid: message.uid,
      createdAt: new Date(message.createdAtMs).toISOString(),
      body: message.body,
      ...(message.author === "anonymous"
        ? {}
        : { sender: message.author === "participant" ? participant : { ...TEAM_USER } }),
    }));
    const latest = this.latest(conversation);
    return {
      uid: conversation.uid,
      createdAt: new Date(conversation.createdAtMs).toISOString(),
      updatedAt: new Date(latest?.createdAtMs ?? conversation.createdAtMs).toISOString(),
      name: conversation.name,
      deleted: conversation.deleted,
      locked: false,
      read: latest?.author === "researcher",
      metadata: { projectId: conversation.projectId, externalResearcherId: "researcher-1" },
      user,
      participants: [
        { ...user, read: true, deleted: false },
        { ...participant, read: false, deleted: false },
      ],
      messages: this.shufflePage(messages),
      latestMessage: latest
        ? { uid: latest.uid, createdAt: new Date(latest.createdAtMs).toISOString(), body: latest.body }
        : { uid: conversation.uid, createdAt: new Date(conversation.createdAtMs).toISOString(), body: "" },
      messagesCount: conversation.messages.length,
    };
  }
}

function projectAt(index: number): string {
  return PROJECT_IDS[index % PROJECT_IDS.length] ?? PROJECT_IDS[0];
}
