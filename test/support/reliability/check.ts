import { POSSIBLY_REPEATED_NOTE } from "../../../src/domain/alert.ts";
import type { ConversationState } from "../../../src/domain/detection.ts";
import type { RecordedPost } from "../../../src/local/fake-slack.ts";
import { MESSAGE_TAG_PATTERN, type ModelConversation, type ModelMessage, type World } from "./world.ts";

export interface DeliveryVerdict {
  violations: string[];
  /** (message, channel) pairs that had to be alerted. */
  due: number;
  posts: number;
  /** Posts beyond the first of a (message, channel). */
  duplicates: number;
  duplicatesMarked: number;
  /** The only post of its (message, channel), yet marked "may repeat" (an interrupted attempt that never reached Slack). */
  markedSingles: number;
}

export interface DeliveryRules {
  /**
   * Faults that can leave Slack's answer unknown (timeouts, accepted-then-failed, a crash
   * between post and ledger) allow extra posts, but each extra one must carry the marker:
   * at most one unmarked post per (message, channel), ever.
   */
  markedRepeatsAllowed: boolean;
  /** Every due alert of a conversation still listed must have been posted (false mid-history with faults). */
  complete: boolean;
}

export const isMarked = (post: RecordedPost): boolean => JSON.stringify(post.blocks).includes(POSSIBLY_REPEATED_NOTE);

export function messageUidOf(post: RecordedPost): string | undefined {
  return MESSAGE_TAG_PATTERN.exec(post.text)?.[1];
}

function describe(conversation: ModelConversation, message: ModelMessage): string {
  return `${message.author} message ${message.uid} (#${message.position} of ${conversation.uid}, project ${conversation.projectId.slice(-3)}, ${new Date(message.createdAtMs).toISOString()})`;
}

/**
 * Properties 1 and 2 against what the fake Slack recorded:
 * 1. every participant message created after a subscription started is posted in that
 *    subscription's channel exactly once (at most once unmarked), in its conversation's order;
 * 2. nothing else is ever posted: no researcher message, none created before the
 *    subscription, none of a project no subscription covers.
 */
export function checkDeliveries(world: World, posts: readonly RecordedPost[], rules: DeliveryRules): DeliveryVerdict {
  const violations: string[] = [];
  const byPair = new Map<string, RecordedPost[]>();
  const firstPositions = new Map<string, Array<{ uid: string; position: number }>>();

  for (const post of posts) {
    const uid = messageUidOf(post);
    const found = uid ? world.lookup(uid) : undefined;
    if (!uid || !found) {
      violations.push(`a post names no known message: ${post.text.slice(0, 160)}`);
      continue;
    }
    const { conversation, message } = found;
    if (!world.dueChannels(conversation, message).has(post.channel)) {
      const subscriptions = world.subscriptions
        .map((s) => `${s.projectId.slice(-3)}->${s.channelId}@${new Date(s.createdAtMs).toISOString()}`)
        .join(", ");
      violations.push(
        `${describe(conversation, message)} was alerted in ${post.channel}, where it is not due (subscriptions: ${subscriptions || "none"})`,
      );
    }
    const pair = `${uid} ${post.channel}`;
    const earlier = byPair.get(pair);
    if (earlier) earlier.push(post);
    else {
      byPair.set(pair, [post]);
      const stream = `${conversation.uid} ${post.channel}`;
      const firsts = firstPositions.get(stream) ?? [];
      firsts.push({ uid, position: message.position });
      firstPositions.set(stream, firsts);
    }
  }

  let due = 0;
  let duplicates = 0;
  let duplicatesMarked = 0;
  let markedSingles = 0;
  for (const conversation of world.conversations) {
    for (const message of conversation.messages) {
      for (const channel of world.dueChannels(conversation, message)) {
        due += 1;
        const posted = byPair.get(`${message.uid} ${channel}`) ?? [];
        const unmarked = posted.filter((post) => !isMarked(post)).length;
        if (posted.length === 0 && rules.complete && !conversation.deleted) {
          violations.push(`${describe(conversation, message)} was never alerted in ${channel}`);
        }
        if (unmarked > 1) {
          violations.push(
            `${describe(conversation, message)} was posted ${unmarked} times in ${channel} without the "may repeat" marker`,
          );
        }
        if (!rules.markedRepeatsAllowed && posted.length - unmarked > 0) {
          violations.push(
            `${describe(conversation, message)} carried the "may repeat" marker in ${channel} although nothing could have repeated`,
          );
        }
        if (!rules.markedRepeatsAllowed && posted.length > 1) {
          violations.push(`${describe(conversation, message)} was posted ${posted.length} times in ${channel}`);
        }
        duplicates += Math.max(0, posted.length - 1);
        duplicatesMarked += Math.min(Math.max(0, posted.length - 1), posted.length - unmarked);
        if (posted.length === 1 && unmarked === 0) markedSingles += 1;
      }
    }
  }

  for (const [stream, firsts] of firstPositions) {
    for (let index = 1; index < firsts.length; index += 1) {
      const before = firsts[index - 1];
      const after = firsts[index];
      if (before && after && after.position < before.position) {
        violations.push(
          `in ${stream}, ${after.uid} (#${after.position}) was first alerted after ${before.uid} (#${before.position})`,
        );
      }
    }
  }

  return { violations, due, posts: posts.length, duplicates, duplicatesMarked, markedSingles };
}

/**
 * Property 4: the stored state of a conversation never moves backwards (each snapshot is at or
 * after the previous one, in the conversation's message order), and once quiet it stands at the
 * conversation's latest message for every listed conversation some subscription covers.
 */
export function checkStates(
  world: World,
  snapshots: ReadonlyArray<ReadonlyMap<string, ConversationState>>,
  rules: { complete: boolean },
): string[] {
  const violations: string[] = [];
  const positionOf = (uid: string, state: ConversationState): number | undefined => {
    const found = world.lookup(state.lastMessageUid);
    return found && found.conversation.uid === uid ? found.message.position : undefined;
  };
  const previous = new Map<string, number>();
  for (const [index, snapshot] of snapshots.entries()) {
    for (const [uid, state] of snapshot) {
      const position = positionOf(uid, state);
      if (position === undefined) {
        violations.push(`snapshot ${index}: ${uid} stores ${state.lastMessageUid}, not one of its messages`);
        continue;
      }
      const before = previous.get(uid);
      if (before !== undefined && position < before) {
        violations.push(`snapshot ${index}: the state of ${uid} moved back from #${before} to #${position}`);
      }
      previous.set(uid, position);
    }
    for (const uid of previous.keys()) {
      if (!snapshot.has(uid)) violations.push(`snapshot ${index}: the state of ${uid} disappeared`);
    }
  }

  const final = snapshots.at(-1);
  if (rules.complete && final) {
    for (const conversation of world.conversations) {
      if (conversation.deleted || !world.isPolled(conversation)) continue;
      const latest = world.latest(conversation);
      const stored = final.get(conversation.uid);
      if (latest && stored?.lastMessageUid !== latest.uid) {
        violations.push(
          `${conversation.uid} ends at ${stored?.lastMessageUid ?? "no state"}, not at its latest message ${latest.uid}`,
        );
      }
    }
  }
  return violations;
}
