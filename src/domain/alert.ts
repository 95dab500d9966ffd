import type { ActionsBlock, ContextBlock, HeaderBlock, KnownBlock, MrkdwnElement, SectionBlock } from "@slack/web-api";
import type { AlertTarget, NewReplyEvent } from "./events.ts";

/** What the notifier posts: Block Kit plus the plain-text fallback used by notifications. */
export interface SlackMessage {
  text: string;
  blocks: KnownBlock[];
}

export interface AlertContext {
  /** e.g. https://app.respondent.io/messages/{conversationUid}; no link when absent. */
  conversationUrlTemplate?: string | undefined;
  /** An earlier attempt may have posted this alert already (see DeliveryLedger). */
  possiblyRepeated: boolean;
}

/** Slack's own limits (Block Kit reference), in UTF-16 code units, the stricter way to count. */
export const SLACK_LIMITS = {
  headerText: 150,
  sectionText: 3_000,
  buttonUrl: 3_000,
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
export const TRUNCATION_MARKER = "… (truncated)";

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
 * sender 120 + conversation 200 + preview 800 + mentions 20 × 25 + punctuation.
 */
export const MAX_MENTIONS = 20;

const graphemes = new Intl.Segmenter(undefined, { granularity: "grapheme" });

/**
 * Characters that render as nothing or reorder text (zero-width spaces, bidi overrides and
 * isolates, BOM, C0/C1 controls): removed from untrusted text so that what a reader sees is
 * what was escaped. ZWJ/ZWNJ are handled separately (see keepJoiner).
 */
const INVISIBLE_CONTROLS = /(?![\t\n])\p{Cc}|[\u061C\u200B\u200E\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF]/gu;
const JOINERS = /[\u200C\u200D]/g;
/** Variation selectors such as U+FE0F are marks (\p{M}), so "❤️" + ZWJ is joinable. */
const JOINABLE = /^[\p{L}\p{M}\p{Extended_Pictographic}\p{Emoji_Modifier}]$/u;

/**
 * ZWJ (U+200D) builds emoji sequences (👨‍👩‍👧) and ZWJ/ZWNJ shape Persian and Indic scripts,
 * so they stay between two non-ASCII letters, marks or emoji; anywhere else (e.g. inside
 * `<!chan\u200Dnel>`) they are removed like the other invisible characters.
 */
function keepJoiner(text: string, offset: number): boolean {
  const before = codePointBefore(text, offset);
  const after = text.codePointAt(offset + 1);
  return isJoinable(before) && isJoinable(after);
}

function isJoinable(codePoint: number | undefined): boolean {
  return codePoint !== undefined && codePoint > 0x7f && JOINABLE.test(String.fromCodePoint(codePoint));
}

function codePointBefore(text: string, offset: number): number | undefined {
  if (offset === 0) return undefined;
  const last = text.charCodeAt(offset - 1);
  if (last >= 0xdc00 && last <= 0xdfff && offset >= 2) return text.codePointAt(offset - 2);
  return last;
}

/** Removes invisible and direction-changing characters from untrusted text; unifies line breaks. */
export function stripInvisibleControls(text: string): string {
  return text
    .replace(/\r\n?|[\u2028\u2029]/g, "\n")
    .replace(INVISIBLE_CONTROLS, "")
    .replace(JOINERS, (joiner, offset: number, whole: string) => (keepJoiner(whole, offset) ? joiner : ""));
}

/**
 * Untrusted text is read no further than this: far more than any alert shows, and it bounds
 * the work for a 1 MB body. Text cut here is reported so the alert can say so.
 */
const MAX_SCANNED_UNITS = 65_536;

function cleanUntrusted(text: string): { text: string; cut: boolean } {
  if (text.length <= MAX_SCANNED_UNITS) return { text: stripInvisibleControls(text), cut: false };
  const endsInsidePair = /[\uD800-\uDBFF]/.test(text.charAt(MAX_SCANNED_UNITS - 1));
  const scanned = text.slice(0, endsInsidePair ? MAX_SCANNED_UNITS - 1 : MAX_SCANNED_UNITS);
  return { text: stripInvisibleControls(scanned), cut: true };
}

function escapeEntities(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/**
 * Makes untrusted text inert in Slack mrkdwn: `<!channel>`, `<@U123>` and `<url|label>` are
 * shown literally instead of pinging or disguising a link, and `&lt;` stays visible as typed.
 */
export function escapeMrkdwn(text: string): string {
  return escapeEntities(stripInvisibleControls(text));
}

function singleLine(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

/**
 * Real graphemes (a family emoji with skin tones, a flag, an Indic cluster) stay far below
 * this; "Zalgo" text stacks hundreds of combining marks on one letter, which are dropped.
 */
const MAX_GRAPHEME_UNITS = 64;
/**
 * Intl.Segmenter's iterator costs time proportional to the whole string at every step, so a
 * 1 MB body is segmented through small windows: each window's last grapheme may be cut short
 * by the window's end, so it is read again at the start of the next window.
 */
const SEGMENT_WINDOW = 256;
const CLUSTER_CONTINUATION = /^(?:\p{M}|\p{Emoji_Modifier}|\u200D|[\u{E0020}-\u{E007F}])$/u;

function* graphemesOf(text: string): Generator<string> {
  let start = 0;
  while (start < text.length) {
    const end = Math.min(text.length, start + SEGMENT_WINDOW);
    let held: string | undefined;
    let consumed = 0;
    for (const { segment } of graphemes.segment(text.slice(start, end))) {
      if (held !== undefined) {
        yield capGrapheme(held);
        consumed += held.length;
      }
      held = segment;
    }
    if (held === undefined) return;
    if (end === text.length) {
      yield capGrapheme(held);
      return;
    }
    if (consumed === 0) {
      // One cluster longer than the window: keep its start, skip the rest of its marks.
      yield capGrapheme(held);
      consumed = skipClusterContinuation(text, start + held.length) - start;
    }
    start += consumed;
  }
}

function skipClusterContinuation(text: string, from: number): number {
  let index = from;
  for (let codePoint = text.codePointAt(index); codePoint !== undefined; codePoint = text.codePointAt(index)) {
    const char = String.fromCodePoint(codePoint);
    if (!CLUSTER_CONTINUATION.test(char)) break;
    index += char.length;
  }
  return index;
}

function capGrapheme(segment: string): string {
  if (segment.length <= MAX_GRAPHEME_UNITS) return segment;
  let capped = "";
  for (const codePoint of segment) {
    if (capped.length + codePoint.length > MAX_GRAPHEME_UNITS) break;
    capped += codePoint;
  }
  return capped;
}

function* escapedPieces(cleanText: string, quote: boolean): Generator<string> {
  for (const grapheme of graphemesOf(cleanText)) {
    yield quote && grapheme === "\n" ? "\n> " : escapeEntities(grapheme);
  }
}

interface FitOptions {
  /** Longest allowed chunk, marker included. */
  max: number;
  maxChunks?: number;
  /** Starts every chunk (the quote prefix). */
  prefix?: string;
  /** A piece that is dropped when it would open a chunk (the quoted line break). */
  droppableAtChunkStart?: string;
  marker?: string;
  /** The text was already cut upstream: show the marker even when the rest fits. */
  forceMarker?: boolean;
}

/**
 * Lays out already-escaped pieces (whole graphemes or whole escape entities) into at most
 * `maxChunks` chunks of at most `max` characters, cutting only between pieces, so no emoji,
 * surrogate pair or `&amp;` is ever split. Stops reading as soon as the budget is spent, so a
 * 1 MB body costs no more than a short one.
 */
function fitPieces(pieces: Iterable<string>, options: FitOptions): string[] {
  const { max, maxChunks = 1, prefix = "", droppableAtChunkStart, marker = TRUNCATION_MARKER } = options;
  const chunks: string[] = [];
  let current = prefix;
  /** In the last chunk: its content at the last point where the marker still fitted. */
  let cutPoint: string | undefined;

  for (const piece of pieces) {
    const isLastChunk = chunks.length === maxChunks - 1;
    if (isLastChunk) {
      if (current.length + piece.length <= max - marker.length) {
        current += piece;
        continue;
      }
      cutPoint ??= current;
      if (current.length + piece.length <= max) {
        current += piece;
        continue;
      }
      return [...chunks, cutPoint + marker];
    }
    if (current.length + piece.length <= max) {
      current += piece;
      continue;
    }
    chunks.push(current);
    current = prefix;
    if (piece === droppableAtChunkStart) continue;
    if (chunks.length === maxChunks - 1 && current.length + piece.length > max - marker.length) {
      cutPoint = current;
      if (current.length + piece.length > max) return [...chunks, cutPoint + marker];
    }
    current += piece;
  }

  if (!options.forceMarker) return [...chunks, current];
  if (current.length + marker.length <= max) return [...chunks, current + marker];
  if (chunks.length < maxChunks - 1) return [...chunks, current, prefix + marker];
  return [...chunks, (cutPoint ?? prefix) + marker];
}

/** Untrusted text as one escaped mrkdwn string of at most `max` characters. */
function fitMrkdwn(text: string, max: number, marker = TRUNCATION_MARKER): string {
  return fitPieces(escapedPieces(singleLine(cleanUntrusted(text).text), false), { max, marker }).join("");
}

/** Untrusted text for a plain_text element: not parsed by Slack, so cleaned but not escaped. */
function fitPlainText(text: string, max: number, marker: string): string {
  return fitPieces(graphemesOf(singleLine(cleanUntrusted(text).text)), { max, marker }).join("");
}

function firstGraphemes(text: string, count: number): { text: string; truncated: boolean } {
  let taken = "";
  let seen = 0;
  for (const grapheme of graphemesOf(text)) {
    if (seen === count) return { text: taken, truncated: true };
    taken += grapheme;
    seen += 1;
  }
  return { text: taken, truncated: false };
}

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

function conversationLabel(name: string): string {
  return singleLine(cleanUntrusted(name).text) || "(untitled conversation)";
}

/** Slack shows the reader's own time zone; the fallback is for clients that cannot. */
function slackDate(createdAt: string): string {
  const millis = Date.parse(createdAt);
  if (Number.isNaN(millis)) return fitMrkdwn(createdAt, SHORT_FIELD_BUDGET);
  const unix = Math.floor(millis / 1000);
  return `<!date^${unix}^{date_short_pretty} at {time}|${new Date(millis).toISOString()}>`;
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

function notificationText(event: NewReplyEvent, target: AlertTarget, who: string, mentions: string[]): string {
  const conversation = fitMrkdwn(conversationLabel(event.conversation.name), CONVERSATION_TEXT_BUDGET, "…");
  let text = `💬 ${fitMrkdwn(who, SENDER_BUDGET, "…")} replied in “${conversation}”`;
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
  const mentions = target.mentions.flatMap((mention) => mentionMarkup(mention) ?? []).slice(0, MAX_MENTIONS);

  const header: HeaderBlock = {
    type: "header",
    text: {
      type: "plain_text",
      text: fitPlainText(`💬 ${who} replied in “${conversation}”`, SLACK_LIMITS.headerText, "…"),
      emoji: true,
    },
  };

  const project = event.conversation.projectId
    ? fitMrkdwn(event.conversation.projectId, SHORT_FIELD_BUDGET)
    : "_no project_";
  const details: SectionBlock = {
    type: "section",
    ...(mentions.length > 0 ? { text: mrkdwn(`🔔 ${mentions.join(" ")}`) } : {}),
    fields: [
      mrkdwn(`*From*\n${fitMrkdwn(who, SENDER_BUDGET)}`),
      mrkdwn(`*Conversation*\n${fitMrkdwn(conversation, CONVERSATION_FIELD_BUDGET)}`),
      mrkdwn(`*Project*\n${project}`),
      mrkdwn(`*Sent*\n${slackDate(event.message.createdAt)}`),
    ],
  };

  const footnotes = [`Respondent conversation ${fitMrkdwn(event.conversation.uid, SHORT_FIELD_BUDGET)}`];
  if (target.body === "preview") footnotes.push(`preview of the first ${PREVIEW_GRAPHEMES} characters`);
  const footer: ContextBlock = { type: "context", elements: [mrkdwn(footnotes.join(" · "))] };

  const blocks: KnownBlock[] = [header];
  if (context.possiblyRepeated) blocks.push({ type: "context", elements: [mrkdwn(POSSIBLY_REPEATED_NOTE)] });
  blocks.push(details, ...bodySections(event, target), footer);

  const url = conversationUrl(context.conversationUrlTemplate, event);
  if (url) {
    const actions: ActionsBlock = {
      type: "actions",
      elements: [
        {
          type: "button",
          text: { type: "plain_text", text: "Open conversation", emoji: true },
          url,
          action_id: "open_conversation",
        },
      ],
    };
    blocks.push(actions);
  }

  // At most 8 blocks (header, repeat warning, details, MAX_BODY_SECTIONS, footer, actions): far below 50.
  return { text: notificationText(event, target, who, mentions), blocks };
}
