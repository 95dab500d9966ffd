import type { ContextBlock, HeaderBlock, KnownBlock, SectionBlock } from "@slack/web-api";
import {
  conversationLabel,
  DIGEST_EVENT_TYPE,
  mentionsOf,
  POSSIBLY_REPEATED_NOTE,
  type ProjectNaming,
  participantLabel,
  replyPreview,
  SLACK_LIMITS,
  type SlackMessage,
} from "./alert.ts";
import type { AlertTarget, NewReplyEvent } from "./events.ts";
import { formatLocalTime } from "./local-time.ts";
import { fitMrkdwn, fitPlainText } from "./untrusted-text.ts";

/** One conversation of a digest: its latest held reply, and how many it had. */
export interface DigestConversation {
  latest: NewReplyEvent;
  replies: number;
  project?: ProjectNaming | undefined;
}

export interface DigestMessageInput {
  digestId: string;
  /** The digest's ledger and metadata id (digestEventId). */
  eventId: string;
  target: AlertTarget;
  /** A reply was held for quiet hours: the digest says they are over. */
  quiet: boolean;
  /** When its first reply was held. */
  since: Date;
  conversations: readonly DigestConversation[];
  timeZone: string;
  /** As for alerts: an earlier attempt may have posted it, and the channel could not be read back. */
  possiblyRepeated: boolean;
}

/** Conversations listed one per section; the rest are counted (50 blocks at most in a message). */
export const MAX_DIGEST_CONVERSATIONS = 40;
const NAME_BUDGET = 120;
const CONVERSATION_BUDGET = 200;
const PROJECT_BUDGET = 100;
const PREVIEW_BUDGET = 400;
const TEXT_NAMES = 5;

function plural(count: number, one: string, many: string): string {
  return `${count} ${count === 1 ? one : many}`;
}

/**
 * The digest: one message listing each conversation that had replies, with its latest reply and
 * the count, in the order their first replies came. Participant text is untrusted, cleaned and
 * escaped as in alerts; the subscription's mentions ping once, here.
 */
export function formatDigest(input: DigestMessageInput): SlackMessage {
  const { conversations, target, timeZone } = input;
  const total = conversations.reduce((sum, conversation) => sum + conversation.replies, 0);
  const counts = `${plural(total, "reply", "replies")} in ${plural(conversations.length, "conversation", "conversations")}`;
  const title = input.quiet ? `☀️ Quiet hours are over: ${counts}` : `📬 Digest: ${counts}`;
  const mentions = mentionsOf(target);

  const blocks: KnownBlock[] = [];
  const header: HeaderBlock = {
    type: "header",
    text: { type: "plain_text", text: fitPlainText(title, SLACK_LIMITS.headerText, "…"), emoji: true },
  };
  blocks.push(header);
  if (input.possiblyRepeated) blocks.push(context(POSSIBLY_REPEATED_NOTE));
  if (mentions.length > 0) blocks.push(section(`🔔 ${mentions.join(" ")}`));
  blocks.push(context(`Since ${formatLocalTime(input.since, timeZone)}`));

  for (const conversation of conversations.slice(0, MAX_DIGEST_CONVERSATIONS)) {
    blocks.push(section(conversationLine(conversation, target, timeZone)));
  }
  const more = conversations.length - MAX_DIGEST_CONVERSATIONS;
  if (more > 0) blocks.push(section(`_…and ${plural(more, "more conversation", "more conversations")}_`));
  if (target.threadPerConversation) {
    blocks.push(context("Each reply is posted in its conversation's thread."));
  }

  const names = conversations.slice(0, TEXT_NAMES).map((conversation) => participantLabel(conversation.latest.sender));
  const others = conversations.length > TEXT_NAMES ? ", …" : "";
  let text = `${title}: ${fitMrkdwn(names.join(", "), 600, "…")}${others}`;
  if (mentions.length > 0) text += ` ${mentions.join(" ")}`;

  return {
    text,
    blocks,
    metadata: {
      event_type: DIGEST_EVENT_TYPE,
      event_payload: { event_id: input.eventId, digest_id: input.digestId },
    },
  };
}

function conversationLine(conversation: DigestConversation, target: AlertTarget, timeZone: string): string {
  const { latest } = conversation;
  const who = fitMrkdwn(participantLabel(latest.sender), NAME_BUDGET, "…");
  const where = fitMrkdwn(conversationLabel(latest.conversation.name), CONVERSATION_BUDGET, "…");
  const project = conversation.project?.name
    ? ` · _${fitMrkdwn(conversation.project.name, PROJECT_BUDGET, "…")}_`
    : latest.conversation.projectId
      ? ` · project ${fitMrkdwn(latest.conversation.projectId, PROJECT_BUDGET, "…")}`
      : "";
  const millis = Date.parse(latest.message.createdAt);
  const when = Number.isNaN(millis) ? "" : `, latest ${formatLocalTime(new Date(millis), timeZone)}`;
  let line = `• *${who}* in “${where}”${project} — ${plural(conversation.replies, "reply", "replies")}${when}`;
  const preview = replyPreview(latest, target, PREVIEW_BUDGET);
  if (preview) line += `\n> ${preview}`;
  return line.slice(0, SLACK_LIMITS.sectionText);
}

function section(text: string): SectionBlock {
  return { type: "section", text: { type: "mrkdwn", text } };
}

function context(text: string): ContextBlock {
  return { type: "context", elements: [{ type: "mrkdwn", text }] };
}
