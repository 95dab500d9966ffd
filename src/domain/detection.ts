import { eventIdFor, MAX_EVENT_BODY_CHARS, type NewReplyEvent, truncateCodePoints } from "./events.ts";
import type { Conversation, FeedMessage, Message, MinimalConversation } from "./respondent.ts";
import { type Subscription, subscriptionId, subscriptionMatches } from "./subscriptions.ts";

/** What the poller remembers per conversation: the last message it has handled. */
export interface ConversationState {
  lastMessageUid: string;
  lastMessageCreatedAt: string;
}

/**
 * What the table holds for a conversation: the sweep's state (absent until a sweep or a full
 * read of the conversation settled it) and the participant messages the messages feed has
 * handled after it. The feed never moves the state: it only sees a window of messages, so it
 * cannot tell that nothing between the state and what it saw is missing (see
 * src/usecases/feed-poll.ts).
 */
export interface StoredConversation {
  state: ConversationState | undefined;
  feedHandled: readonly string[];
}

export interface Detection {
  /** Events for participant messages with at least one subscribed channel, oldest first. */
  events: NewReplyEvent[];
  /** New participant messages (routed or not) that were not handled before: what the feed marks. */
  participantMessageUids: string[];
  /** New messages skipped because the messages feed handled them already. */
  handledBefore: number;
  /** The state to store once the events are durably queued; undefined when nothing moved. */
  nextState: ConversationState | undefined;
  /** New messages written by our own side: they only advance the state. */
  ownMessages: number;
  /** Participant messages that no subscription wanted (created before its start, filtered out). */
  unrouted: number;
  /** `latestMessage` was not among `messages`: the state stops at what was seen, to re-check next poll. */
  latestMessageMissing: boolean;
}

const NOTHING: Detection = {
  events: [],
  participantMessageUids: [],
  handledBefore: 0,
  nextState: undefined,
  ownMessages: 0,
  unrouted: 0,
  latestMessageMissing: false,
};

interface MessageKey {
  createdAtMs: number;
  uid: string;
}

/** Messages are ordered by creation time, uid breaking ties, so every poller agrees on "after". */
function compareKeys(a: MessageKey, b: MessageKey): number {
  if (a.createdAtMs !== b.createdAtMs) return a.createdAtMs - b.createdAtMs;
  if (a.uid === b.uid) return 0;
  return a.uid < b.uid ? -1 : 1;
}

function keyOf(message: { uid: string; createdAt: string }): MessageKey {
  return { createdAtMs: Date.parse(message.createdAt), uid: message.uid };
}

export function isUnchanged(conversation: Conversation, stored: ConversationState | undefined): boolean {
  return stored !== undefined && stored.lastMessageUid === conversation.latestMessage.uid;
}

/**
 * The heart of the poller: which messages of a conversation are new since `stored`, which of
 * them are participant replies, and which subscribed channels each one alerts.
 *
 * - Unchanged (latestMessage.uid equals the stored uid) or deleted: nothing.
 * - New messages are those after the stored one in (createdAt, uid) order. That is the same
 *   as "after the stored uid in `messages`" when it is there, and falls back to the stored
 *   createdAt when it is not.
 * - A message alerts a channel only if created after that subscription started: no flood on
 *   first deploy, and none when a channel is added to a busy project.
 */
export function detectNewMessages(input: {
  conversation: Conversation;
  stored: ConversationState | undefined;
  subscriptions: readonly Subscription[];
  detectedAt: Date;
  /**
   * When `subscriptions` were read. Messages created after it wait for the next poll: a
   * subscription added meanwhile (so started after it) may want them, and this poll cannot
   * know it. Messages up to it are safe to settle now: any subscription this poll did not see
   * started after them, so they would never alert it. Costs at most one poll of delay.
   */
  horizon?: Date | undefined;
  /** Message uids already handled (the feed's marks): they move the state but alert nothing. */
  alreadyHandled?: ReadonlySet<string> | undefined;
}): Detection {
  const { conversation, stored, subscriptions } = input;
  if (conversation.deleted || isUnchanged(conversation, stored)) return NOTHING;

  const storedKey = stored ? keyOf({ uid: stored.lastMessageUid, createdAt: stored.lastMessageCreatedAt }) : undefined;
  const horizonMs = input.horizon?.getTime() ?? Number.POSITIVE_INFINITY;
  const newMessages = conversation.messages
    .map((message) => ({ message, key: keyOf(message) }))
    .filter(({ key }) => storedKey === undefined || compareKeys(key, storedKey) > 0)
    .filter(({ key }) => key.createdAtMs <= horizonMs)
    .sort((a, b) => compareKeys(a.key, b.key));

  const latestMessageMissing = !conversation.messages.some((message) => message.uid === conversation.latestMessage.uid);
  const newest = newMessages.at(-1)?.message;
  if (!newest) return { ...NOTHING, latestMessageMissing };

  const scope = {
    projectId: conversation.metadata?.projectId,
    externalResearcherId: conversation.metadata?.externalResearcherId,
  };
  const matching = subscriptions.filter((subscription) => subscriptionMatches(subscription, scope));

  const events: NewReplyEvent[] = [];
  const participantMessageUids: string[] = [];
  let handledBefore = 0;
  let ownMessages = 0;
  let unrouted = 0;
  for (const { message, key } of newMessages) {
    if (input.alreadyHandled?.has(message.uid)) {
      handledBefore += 1;
      continue;
    }
    const sender = senderOf(message, conversation);
    if (sender.ours) {
      ownMessages += 1;
      continue;
    }
    participantMessageUids.push(message.uid);
    const targets = targetsAt(matching, key.createdAtMs);
    if (targets.length === 0) {
      unrouted += 1;
      continue;
    }
    events.push(buildEvent(conversation, message, sender, targets, input.detectedAt));
  }

  return {
    events,
    participantMessageUids,
    handledBefore,
    nextState: { lastMessageUid: newest.uid, lastMessageCreatedAt: newest.createdAt },
    ownMessages,
    unrouted,
    latestMessageMissing,
  };
}

function targetsAt(matching: readonly Subscription[], createdAtMs: number): NewReplyEvent["targets"] {
  return (
    matching
      // "Created before the subscription" never alerts; created at its very instant does.
      .filter((subscription) => Date.parse(subscription.createdAt) <= createdAtMs)
      .map((subscription) => ({
        subscriptionId: subscriptionId(subscription),
        channelId: subscription.channelId,
        mentions: subscription.mentions,
        threadPerConversation: subscription.threadPerConversation,
        body: subscription.body,
        actions: subscription.actions !== false,
        ...(subscription.quietHours ? { quietHours: subscription.quietHours } : {}),
        ...(subscription.timezone ? { timezone: subscription.timezone } : {}),
        ...(subscription.digest ? { digest: subscription.digest } : {}),
      }))
  );
}

export interface FeedDetection {
  /** Events for participant messages with at least one subscribed channel, oldest first. */
  events: NewReplyEvent[];
  /** Participant messages handled now (routed or not): the marks to store once the events are queued. */
  participantMessageUids: string[];
  ownMessages: number;
  /** At or before the sweep's state, or marked by an earlier feed poll: nothing to do. */
  handledBefore: number;
  unrouted: number;
}

/**
 * The feed's half of detection, for the messages of one conversation the feed returned: the
 * same rules and the same event ids as the sweep's `detectNewMessages`. A message at or
 * before the stored state was the sweep's; one the feed marked earlier was handled; a sender in
 * `teamUids` (the `conversation.user` uids the sweep learnt) is our side; anyone else, or a
 * sender that cannot be read, is a participant.
 */
export function detectFeedMessages(input: {
  conversation: MinimalConversation;
  messages: readonly FeedMessage[];
  stored: StoredConversation | undefined;
  subscriptions: readonly Subscription[];
  teamUids: ReadonlySet<string>;
  detectedAt: Date;
}): FeedDetection {
  const { conversation, stored } = input;
  const result: FeedDetection = {
    events: [],
    participantMessageUids: [],
    ownMessages: 0,
    handledBefore: 0,
    unrouted: 0,
  };
  if (conversation.deleted) return result;
  const state = stored?.state;
  const storedKey = state ? keyOf({ uid: state.lastMessageUid, createdAt: state.lastMessageCreatedAt }) : undefined;
  const marks = new Set(stored?.feedHandled ?? []);
  const scope = {
    projectId: conversation.metadata?.projectId,
    externalResearcherId: conversation.metadata?.externalResearcherId,
  };
  const matching = input.subscriptions.filter((subscription) => subscriptionMatches(subscription, scope));
  const ordered = input.messages
    .map((message) => ({ message, key: keyOf(message) }))
    .sort((a, b) => compareKeys(a.key, b.key));
  for (const { message, key } of ordered) {
    if ((storedKey && compareKeys(key, storedKey) <= 0) || marks.has(message.uid)) {
      result.handledBefore += 1;
      continue;
    }
    const senderUid = message.sender?.uid;
    if (senderUid && input.teamUids.has(senderUid)) {
      result.ownMessages += 1;
      continue;
    }
    result.participantMessageUids.push(message.uid);
    const targets = targetsAt(matching, key.createdAtMs);
    if (targets.length === 0) {
      result.unrouted += 1;
      continue;
    }
    const sender: Sender = senderUid
      ? {
          ours: false,
          known: true,
          uid: senderUid,
          firstName: message.sender?.firstName,
          lastName: message.sender?.lastName,
        }
      : { ours: false, known: false };
    result.events.push(buildEvent(conversation, message, sender, targets, input.detectedAt));
  }
  return result;
}

interface Sender {
  ours: boolean;
  known: boolean;
  uid?: string | undefined;
  firstName?: string | undefined;
  lastName?: string | undefined;
}

/** `conversation.user` is our team's API account; anyone else who writes is a participant. */
function senderOf(message: Message, conversation: Conversation): Sender {
  const senderUid = message.sender?.uid;
  if (!senderUid) return { ours: false, known: false };
  const participant = conversation.participants.find((candidate) => candidate.uid === senderUid);
  return {
    ours: senderUid === conversation.user.uid,
    known: true,
    uid: senderUid,
    firstName: message.sender?.firstName ?? stringField(participant, "firstName"),
    lastName: message.sender?.lastName ?? stringField(participant, "lastName"),
  };
}

function stringField(record: Record<string, unknown> | undefined, field: string): string | undefined {
  const value = record?.[field];
  return typeof value === "string" ? value : undefined;
}

function buildEvent(
  conversation: Pick<Conversation, "uid" | "name" | "metadata">,
  message: Message,
  sender: Sender,
  targets: NewReplyEvent["targets"],
  detectedAt: Date,
): NewReplyEvent {
  const body = truncateCodePoints(message.body, MAX_EVENT_BODY_CHARS);
  return {
    version: 1,
    eventId: eventIdFor(conversation.uid, message.uid),
    detectedAt: detectedAt.toISOString(),
    conversation: {
      uid: conversation.uid,
      name: conversation.name,
      ...(conversation.metadata?.projectId ? { projectId: conversation.metadata.projectId } : {}),
      ...(conversation.metadata?.externalResearcherId
        ? { externalResearcherId: conversation.metadata.externalResearcherId }
        : {}),
    },
    message: { uid: message.uid, createdAt: message.createdAt, body: body.text, bodyTruncated: body.truncated },
    sender: {
      known: sender.known,
      ...(sender.uid ? { uid: sender.uid } : {}),
      ...(sender.firstName ? { firstName: sender.firstName } : {}),
      ...(sender.lastName ? { lastName: sender.lastName } : {}),
    },
    targets,
  };
}

/**
 * The feed's marks a move of the state to `next` accounts for: those of messages at or before
 * it, and those of messages no longer in the conversation. Marks of later messages stay, so a
 * mark the feed adds while a sweep runs is never lost.
 */
export function accountedMarks(
  conversation: Conversation,
  marks: readonly string[],
  next: ConversationState,
): string[] {
  if (marks.length === 0) return [];
  const nextKey = keyOf({ uid: next.lastMessageUid, createdAt: next.lastMessageCreatedAt });
  const byUid = new Map(conversation.messages.map((message) => [message.uid, message]));
  return marks.filter((uid) => {
    const message = byUid.get(uid);
    return message === undefined || compareKeys(keyOf(message), nextKey) <= 0;
  });
}
