import type {
  ActionsBlock,
  Button,
  ContextBlock,
  HeaderBlock,
  KnownBlock,
  MrkdwnElement,
  SectionBlock,
} from "@slack/web-api";
import type { AlertTarget, NewReplyEvent } from "./events.ts";
import { formatLocalTime, ordinal } from "./local-time.ts";
import {
  cleanUntrusted,
  escapedPieces,
  firstGraphemes,
  fitMrkdwn,
  fitPieces,
  fitPlainText,
  singleLine,
} from "./untrusted-text.ts";

/** What the notifier posts: Block Kit plus the plain-text fallback used by notifications. */
export interface SlackMessage {
  text: string;
  blocks: KnownBlock[];
  /** Slack message metadata: lets a retry find out whether this very alert is in the channel already. */
  metadata?: AlertMetadata | undefined;
}

/** The `event_type` of every alert's message metadata. */
export const ALERT_EVENT_TYPE = "respondent_reply";
/** The `event_type` of a digest's message metadata (src/domain/digest-message.ts). */
export const DIGEST_EVENT_TYPE = "respondent_digest";

export interface AlertMetadata {
  event_type: typeof ALERT_EVENT_TYPE | typeof DIGEST_EVENT_TYPE;
  event_payload: { event_id: string; conversation_uid?: string; digest_id?: string };
}

export function alertMetadata(event: NewReplyEvent): AlertMetadata {
  return {
    event_type: ALERT_EVENT_TYPE,
    event_payload: { event_id: event.eventId, conversation_uid: event.conversation.uid },
  };
}

export interface AlertContext {
  /** e.g. https://app.respondent.io/messages/{conversationUid}; no link when absent. */
  conversationUrlTemplate?: string | undefined;
  /**
   * An earlier attempt may have posted this alert already and the channel could not be read
   * back to find out (see notify.ts): the alert says so.
   */
  possiblyRepeated: boolean;
  /** The project's names from the cache (src/usecases/project-names.ts); absent: the alert shows its id. */
  project?: ProjectNaming | undefined;
  /** The zone of the readable times: the subscription's, else the process's `TZ`. Default UTC. */
  timeZone?: string | undefined;
  /** This reply's place among the conversation's replies alerted in this channel on its local day. */
  replyOfDay?: number | undefined;
}

/** What is known of a project's names: `publicInternalName` (or `publicTitle` in its place) and the title. */
export interface ProjectNaming {
  name?: string | undefined;
  title?: string | undefined;
}

/** The action_id of the alert's Reply button: it opens a modal whose text is sent to the participant. */
export const REPLY_ACTION_ID = "respondent_reply";
/** The action_id of the alert's Mark as read button. */
export const MARK_READ_ACTION_ID = "respondent_mark_read";
/** The action_id of the alert's Mute button: no more alerts of this conversation in this channel. */
export const MUTE_ACTION_ID = "respondent_mute";
export const ALERT_ACTIONS_BLOCK_ID = "respondent_actions";

/**
 * What the alert's buttons carry: the conversation and the message it alerted. Not trusted on its
 * own: the Slack endpoint recomputes the event id from both and acts only if the ledger recorded
 * that event as posted in the very channel and message the click came from.
 */
export interface AlertButtonValue {
  conversationUid: string;
  messageUid: string;
}

export function alertButtonValue(event: NewReplyEvent): string {
  return JSON.stringify({ c: event.conversation.uid, m: event.message.uid });
}

export function parseAlertButtonValue(value: string | undefined): AlertButtonValue | undefined {
  if (!value || value.length > 500) return undefined;
  try {
    const parsed: unknown = JSON.parse(value);
    if (typeof parsed !== "object" || parsed === null) return undefined;
    const { c, m } = parsed as { c?: unknown; m?: unknown };
    if (typeof c !== "string" || typeof m !== "string" || !c || !m) return undefined;
    return { conversationUid: c, messageUid: m };
  } catch {
    return undefined;
  }
}

function alertActionButtons(event: NewReplyEvent): Button[] {
  const value = alertButtonValue(event);
  // Uids the API sends are short; one past Slack's limit would make Slack refuse the whole alert.
  if (value.length > SLACK_LIMITS.buttonValue) return [];
  return [
    {
      type: "button",
      text: { type: "plain_text", text: "↩️ Reply", emoji: true },
      style: "primary",
      action_id: REPLY_ACTION_ID,
      value,
    },
    {
      type: "button",
      text: { type: "plain_text", text: "✓ Mark as read", emoji: true },
      action_id: MARK_READ_ACTION_ID,
      value,
    },
    {
      type: "button",
      text: { type: "plain_text", text: "🔕 Mute", emoji: true },
      action_id: MUTE_ACTION_ID,
      value,
    },
  ];
}

/** Slack's own limits (Block Kit reference), in UTF-16 code units, the stricter way to count. */
export const SLACK_LIMITS = {
  headerText: 150,
  sectionText: 3_000,
  buttonUrl: 3_000,
  buttonValue: 2_000,
} as const;

/** Our cap on `text`: it is the phone notification, which shows only the start anyway. */
export const MAX_NOTIFICATION_TEXT = 3_000;
/** How much of the body "preview" mode and the notification show. */
export const PREVIEW_GRAPHEMES = 150;
/**
 * "full" spreads the body over a few quote sections so a reply of the event's maximum length
 * (4,000 characters) fits; the total stays well below the ~13k characters Slack accepts.
 */
export const MAX_BODY_SECTIONS = 3;

export const POSSIBLY_REPEATED_NOTE =
  "⚠️ This alert may repeat an earlier one: delivery was interrupted before it was confirmed";
export const HIDDEN_BODY_NOTE =
  "🔒 _The message is hidden by this channel's privacy setting. Open the conversation in Respondent to read it._";
export const UNKNOWN_SENDER = "Unknown sender (possibly a participant)";

// Per-field budgets keep the whole message small whatever the untrusted input measures.
const SENDER_BUDGET = 120;
const CONVERSATION_FIELD_BUDGET = 600;
const CONVERSATION_TEXT_BUDGET = 200;
const SHORT_FIELD_BUDGET = 200;
const PREVIEW_TEXT_BUDGET = 800;
/**
 * With these budgets `text` stays below MAX_NOTIFICATION_TEXT by construction:
 * sender 120 + conversation 200 + project 100 + time 30 + preview 800 + mentions 20 × 25 + punctuation.
 */
export const MAX_MENTIONS = 20;

/** "Jane D.": first name and last initial only, as Respondent shows participants. */
export function participantLabel(sender: NewReplyEvent["sender"]): string {
  if (!sender.known) return UNKNOWN_SENDER;
  const firstName = singleLine(cleanUntrusted(sender.firstName ?? "").text);
  const lastName = singleLine(cleanUntrusted(sender.lastName ?? "").text);
  const lastInitial = lastName ? `${firstGraphemes(lastName, 1).text}.` : "";
  if (firstName && lastInitial) return `${firstName} ${lastInitial}`;
  if (firstName) return firstName;
  if (lastInitial) return `Participant ${lastInitial}`;
  return "A participant";
}

export function conversationLabel(name: string): string {
  return singleLine(cleanUntrusted(name).text) || "(untitled conversation)";
}

/**
 * Slack shows the reader's own time zone; the fallback (clients that cannot, the terminal) is a
 * readable time in the subscription's zone, e.g. `Tue 1 Dec, 07:43 CET`.
 */
export function slackDate(createdAt: string, timeZone: string): string {
  const millis = Date.parse(createdAt);
  if (Number.isNaN(millis)) return fitMrkdwn(createdAt, SHORT_FIELD_BUDGET);
  const unix = Math.floor(millis / 1000);
  return `<!date^${unix}^{date_short_pretty} at {time}|${formatLocalTime(new Date(millis), timeZone)}>`;
}

/** The readable local time of a message, for plain text (notifications); undefined when it is not a date. */
export function readableTime(createdAt: string, timeZone: string): string | undefined {
  const millis = Date.parse(createdAt);
  return Number.isNaN(millis) ? undefined : formatLocalTime(new Date(millis), timeZone);
}

const PROJECT_NAME_BUDGET = 100;

/** The project as the alert's field shows it: its name, the participants' title below, or else its id. */
function projectField(event: NewReplyEvent, project: ProjectNaming | undefined): string {
  const id = event.conversation.projectId;
  if (!id) return "_no project_";
  if (!project?.name) return fitMrkdwn(id, SHORT_FIELD_BUDGET);
  const name = fitMrkdwn(project.name, PROJECT_NAME_BUDGET, "…");
  const title = project.title ? `\n_${fitMrkdwn(project.title, PROJECT_NAME_BUDGET, "…")}_` : "";
  return `${name}${title}`;
}

const USER_MENTION = /^[UW][A-Z0-9]{8,}$/;
const GROUP_MENTION = /^S[A-Z0-9]{8,}$/;

/** Mentions come from subscriptions (validated); anything else is dropped rather than passed through. */
function mentionMarkup(mention: string): string | undefined {
  if (USER_MENTION.test(mention)) return `<@${mention}>`;
  if (GROUP_MENTION.test(mention)) return `<!subteam^${mention}>`;
  if (mention === "here") return "<!here>";
  if (mention === "channel") return "<!channel>";
  return undefined;
}

/** The target's mentions as Slack markup, at most MAX_MENTIONS. */
export function mentionsOf(target: AlertTarget): string[] {
  return target.mentions.flatMap((mention) => mentionMarkup(mention) ?? []).slice(0, MAX_MENTIONS);
}

/** The start of the reply on one line, escaped, with "…" when cut; undefined when hidden or empty. */
export function replyPreview(event: NewReplyEvent, target: AlertTarget, max: number): string | undefined {
  if (target.body === "hidden") return undefined;
  const body = cleanBody(event);
  if (!body.text) return undefined;
  return previewOf({ ...body, text: singleLine(body.text) }, { max, quote: false }).join("");
}

function conversationUrl(template: string | undefined, event: NewReplyEvent): string | undefined {
  if (!template) return undefined;
  const url = template
    .replaceAll("{conversationUid}", encodeURIComponent(event.conversation.uid))
    .replaceAll("{projectId}", encodeURIComponent(event.conversation.projectId ?? ""));
  if (url.length > SLACK_LIMITS.buttonUrl || !/^https?:\/\//i.test(url)) return undefined;
  return url;
}

interface CleanBody {
  text: string;
  /** Cut before it reached us (the poller's cap) or by our scan limit. */
  cutUpstream: boolean;
}

function cleanBody(event: NewReplyEvent): CleanBody {
  const cleaned = cleanUntrusted(event.message.body);
  return { text: cleaned.text.trim(), cutUpstream: cleaned.cut || event.message.bodyTruncated };
}

/** The first PREVIEW_GRAPHEMES graphemes, escaped, ending in "…" when anything was left out. */
function previewOf(body: CleanBody, options: { max: number; quote: boolean }): string[] {
  const preview = firstGraphemes(body.text, PREVIEW_GRAPHEMES);
  return fitPieces(escapedPieces(preview.text.trimEnd(), options.quote), {
    max: options.max,
    ...(options.quote ? { prefix: "> " } : {}),
    marker: "…",
    forceMarker: preview.truncated || body.cutUpstream,
  });
}

function bodySections(event: NewReplyEvent, target: AlertTarget): SectionBlock[] {
  if (target.body === "hidden") return [mrkdwnSection(HIDDEN_BODY_NOTE)];
  const body = cleanBody(event);
  if (!body.text) return [mrkdwnSection("_(empty message)_")];
  if (target.body === "preview") {
    return previewOf(body, { max: SLACK_LIMITS.sectionText, quote: true }).map(mrkdwnSection);
  }
  const sections = fitPieces(escapedPieces(body.text, true), {
    max: SLACK_LIMITS.sectionText,
    maxChunks: MAX_BODY_SECTIONS,
    prefix: "> ",
    droppableAtChunkStart: "\n> ",
    forceMarker: body.cutUpstream,
  });
  return sections.map(mrkdwnSection);
}

function mrkdwnSection(text: string): SectionBlock {
  return { type: "section", text: { type: "mrkdwn", text } };
}

function mrkdwn(text: string): MrkdwnElement {
  return { type: "mrkdwn", text };
}

function notificationText(
  event: NewReplyEvent,
  target: AlertTarget,
  who: string,
  mentions: string[],
  context: AlertContext,
): string {
  const conversation = fitMrkdwn(conversationLabel(event.conversation.name), CONVERSATION_TEXT_BUDGET, "…");
  let text = `💬 ${fitMrkdwn(who, SENDER_BUDGET, "…")} replied in “${conversation}”`;
  if (context.project?.name) text += ` (${fitMrkdwn(context.project.name, PROJECT_NAME_BUDGET, "…")})`;
  const when = readableTime(event.message.createdAt, context.timeZone ?? "UTC");
  if (when) text += ` · ${when}`;
  const body = cleanBody(event);
  if (target.body !== "hidden" && body.text) {
    const oneLine = { ...body, text: singleLine(body.text) };
    text += `: ${previewOf(oneLine, { max: PREVIEW_TEXT_BUDGET, quote: false }).join("")}`;
  }
  // Phones notify from `text` alone, so the mentions go here too (the ping is sent once).
  if (mentions.length > 0) text += ` ${mentions.join(" ")}`;
  return text;
}

/**
 * The alert for one new participant reply in one channel. Everything that comes from
 * Respondent (names, conversation name, project id, message body) is untrusted: it is
 * cleaned of invisible characters and escaped in every mrkdwn string, and cut to Slack's
 * limits between graphemes with a visible marker.
 */
export function formatAlert(event: NewReplyEvent, target: AlertTarget, context: AlertContext): SlackMessage {
  const who = participantLabel(event.sender);
  const conversation = conversationLabel(event.conversation.name);
  const mentions = mentionsOf(target);

  const header: HeaderBlock = {
    type: "header",
    text: {
      type: "plain_text",
      text: fitPlainText(`💬 ${who} replied in “${conversation}”`, SLACK_LIMITS.headerText, "…"),
      emoji: true,
    },
  };

  const project = projectField(event, context.project);
  const timeZone = context.timeZone ?? "UTC";
  const details: SectionBlock = {
    type: "section",
    ...(mentions.length > 0 ? { text: mrkdwn(`🔔 ${mentions.join(" ")}`) } : {}),
    fields: [
      mrkdwn(`*From*\n${fitMrkdwn(who, SENDER_BUDGET)}`),
      mrkdwn(`*Conversation*\n${fitMrkdwn(conversation, CONVERSATION_FIELD_BUDGET)}`),
      mrkdwn(`*Project*\n${project}`),
      mrkdwn(`*Sent*\n${slackDate(event.message.createdAt, timeZone)}`),
    ],
  };

  const footnotes: string[] = [];
  if (context.replyOfDay !== undefined) footnotes.push(`${ordinal(context.replyOfDay)} reply today`);
  footnotes.push(`Respondent conversation ${fitMrkdwn(event.conversation.uid, SHORT_FIELD_BUDGET)}`);
  if (context.project?.name && event.conversation.projectId) {
    footnotes.push(`project ${fitMrkdwn(event.conversation.projectId, SHORT_FIELD_BUDGET)}`);
  }
  if (target.body === "preview") footnotes.push(`preview of the first ${PREVIEW_GRAPHEMES} characters`);
  const footer: ContextBlock = { type: "context", elements: [mrkdwn(footnotes.join(" · "))] };

  const blocks: KnownBlock[] = [header];
  if (context.possiblyRepeated) blocks.push({ type: "context", elements: [mrkdwn(POSSIBLY_REPEATED_NOTE)] });
  blocks.push(details, ...bodySections(event, target), footer);

  const buttons: Button[] = target.actions === false ? [] : alertActionButtons(event);
  const url = conversationUrl(context.conversationUrlTemplate, event);
  if (url) {
    buttons.push({
      type: "button",
      text: { type: "plain_text", text: "Open conversation", emoji: true },
      url,
      action_id: "open_conversation",
    });
  }
  if (buttons.length > 0) {
    const actions: ActionsBlock = { type: "actions", block_id: ALERT_ACTIONS_BLOCK_ID, elements: buttons };
    blocks.push(actions);
  }

  // At most 8 blocks (header, repeat warning, details, MAX_BODY_SECTIONS, footer, actions): far below 50.
  return { text: notificationText(event, target, who, mentions, context), blocks, metadata: alertMetadata(event) };
}
