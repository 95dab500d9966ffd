import { stripInvisibleControls } from "../domain/untrusted-text.ts";

export interface TerminalPost {
  channel: string;
  text: string;
  blocks: unknown[];
  threadTs?: string | undefined;
  /** ANSI bold/dim; off when the output is not a terminal or NO_COLOR is set. */
  color?: boolean;
}

const BOLD = "\u001b[1m";
const DIM = "\u001b[2m";
const ITALIC = "\u001b[3m";
const RESET = "\u001b[0m";
const INDENT = "  ";

/**
 * Shows a Slack post roughly as Slack would: the header, sections and their fields, quotes,
 * context lines and link buttons, with mentions as @name, links as "label (url)" and `&lt;`
 * back as `<`. The text is cleaned of control characters first, so a post can never steer
 * the terminal; the only escape sequences are the ones added here when `color` is on.
 */
export function renderPostForTerminal(post: TerminalPost): string {
  const style = styler(post.color ?? false);
  const where = post.threadTs ? `reply in thread ${post.threadTs}` : "new thread";
  const lines = [style(BOLD, `#${clean(post.channel)} · ${clean(where)}`)];
  const body = post.blocks.length > 0 ? post.blocks.flatMap((block) => renderBlock(block, style)) : [];
  if (body.length === 0) body.push(...renderMrkdwn(post.text, style).split("\n"));
  lines.push(...body.map((line) => INDENT + line));
  return lines.join("\n");
}

type Style = (code: string, text: string) => string;

function styler(color: boolean): Style {
  return (code, text) => (color && text ? `${code}${text}${RESET}` : text);
}

function renderBlock(block: unknown, style: Style): string[] {
  if (!isRecord(block)) return [];
  switch (block.type) {
    case "header":
      return [style(BOLD, clean(textOf(block.text)))];
    case "section": {
      const lines: string[] = [];
      if (block.text !== undefined) lines.push(...renderTextObject(block.text, style).split("\n"));
      if (Array.isArray(block.fields)) {
        for (const field of block.fields) lines.push(renderField(renderTextObject(field, style)));
      }
      return lines;
    }
    case "context": {
      const elements = Array.isArray(block.elements) ? block.elements : [];
      const parts = elements
        .filter(isRecord)
        .map((element) => (element.type === "image" ? "[image]" : renderTextObject(element, style)));
      return [style(DIM, parts.join("  "))];
    }
    case "actions": {
      const elements = Array.isArray(block.elements) ? block.elements : [];
      return elements.filter(isRecord).map((element) => {
        const label = `[${clean(textOf(element.text))}]`;
        return typeof element.url === "string" ? `${label} ${clean(element.url)}` : label;
      });
    }
    case "divider":
      return ["─".repeat(40)];
    default:
      return [style(DIM, `[${clean(String(block.type))} block]`)];
  }
}

/** "From\nJane D." reads as "From: Jane D." on one line. */
function renderField(rendered: string): string {
  const [label = "", ...rest] = rendered.split("\n");
  return rest.length > 0 ? `${label}: ${rest.join(" · ")}` : label;
}

function renderTextObject(value: unknown, style: Style): string {
  if (!isRecord(value)) return "";
  const text = textOf(value);
  return value.type === "mrkdwn" ? renderMrkdwn(text, style) : clean(text);
}

function textOf(value: unknown): string {
  return isRecord(value) && typeof value.text === "string" ? value.text : "";
}

function renderMrkdwn(mrkdwn: string, style: Style): string {
  return clean(mrkdwn)
    .split("\n")
    .map((line) => {
      const quoted = /^(>|&gt;) ?/.exec(line);
      const content = quoted ? line.slice(quoted[0].length) : line;
      const rendered = unescapeEntities(emphasis(controlSequences(content), style));
      return quoted ? `│ ${rendered}` : rendered;
    })
    .join("\n");
}

/** `<@U1>`, `<!here>`, `<!subteam^S1|@team>`, `<!date^…|fallback>`, `<url|label>` as a reader sees them. */
function controlSequences(line: string): string {
  return line.replace(/<([^<>]*)>/g, (_whole, inner: string) => {
    const [target = "", label] = splitOnce(inner, "|");
    if (target.startsWith("@")) return `@${label ?? target.slice(1)}`;
    if (target.startsWith("#")) return `#${label ?? target.slice(1)}`;
    if (target.startsWith("!subteam^")) return label ?? `@${target.slice("!subteam^".length)}`;
    if (target.startsWith("!date^")) return label ?? target;
    if (target.startsWith("!")) return `@${target.slice(1)}`;
    return label ? `${label} (${target})` : target;
  });
}

function splitOnce(text: string, separator: string): [string, string | undefined] {
  const index = text.indexOf(separator);
  return index < 0 ? [text, undefined] : [text.slice(0, index), text.slice(index + 1)];
}

function emphasis(line: string, style: Style): string {
  return line
    .replace(
      /(^|[\s(])\*([^*\s](?:[^*]*[^*\s])?)\*(?=$|[\s.,:;!?)])/g,
      (_whole, before: string, text: string) => before + style(BOLD, text),
    )
    .replace(
      /(^|[\s(])_([^_\s](?:[^_]*[^_\s])?)_(?=$|[\s.,:;!?)])/g,
      (_whole, before: string, text: string) => before + style(ITALIC, text),
    );
}

function unescapeEntities(text: string): string {
  const entities: Record<string, string> = { "&lt;": "<", "&gt;": ">", "&amp;": "&" };
  return text.replace(/&(?:lt|gt|amp);/g, (entity) => entities[entity] ?? entity);
}

/** Removes control and bidi characters (ESC included) and keeps line breaks. */
function clean(text: string): string {
  return stripInvisibleControls(text).replace(/\t/g, " ");
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
