/**
 * Text we did not write (participants' names and replies, conversation names, error
 * messages), made safe to show: invisible and direction-changing characters removed,
 * `&`, `<` and `>` escaped for Slack mrkdwn, and cut to a length between graphemes, so no
 * emoji, surrogate pair or escape entity is ever split, with a visible marker. Pure
 * functions; what goes where in an alert is src/domain/alert.ts.
 */

export const TRUNCATION_MARKER = "… (truncated)";

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
 * the work for a 1 MB body. Text cut here is reported so that the caller can say so.
 */
const MAX_SCANNED_UNITS = 65_536;

/** Untrusted text without its invisible characters, read up to MAX_SCANNED_UNITS; `cut` when it was longer. */
export function cleanUntrusted(text: string): { text: string; cut: boolean } {
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

/** Every run of whitespace, line breaks included, as one space; trimmed. */
export function singleLine(text: string): string {
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

/** The graphemes of cleaned text, each escaped for mrkdwn; with `quote`, a line break continues the quote. */
export function* escapedPieces(cleanText: string, quote: boolean): Generator<string> {
  for (const grapheme of graphemesOf(cleanText)) {
    yield quote && grapheme === "\n" ? "\n> " : escapeEntities(grapheme);
  }
}

export interface FitOptions {
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
export function fitPieces(pieces: Iterable<string>, options: FitOptions): string[] {
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
export function fitMrkdwn(text: string, max: number, marker = TRUNCATION_MARKER): string {
  return fitPieces(escapedPieces(singleLine(cleanUntrusted(text).text), false), { max, marker }).join("");
}

/** Untrusted text for a plain_text element: not parsed by Slack, so cleaned but not escaped. */
export function fitPlainText(text: string, max: number, marker: string): string {
  return fitPieces(graphemesOf(singleLine(cleanUntrusted(text).text)), { max, marker }).join("");
}

/** The first `count` graphemes of `text`; `truncated` when it has more. */
export function firstGraphemes(text: string, count: number): { text: string; truncated: boolean } {
  let taken = "";
  let seen = 0;
  for (const grapheme of graphemesOf(text)) {
    if (seen === count) return { text: taken, truncated: true };
    taken += grapheme;
    seen += 1;
  }
  return { text: taken, truncated: false };
}
