import YAML from "yaml";
import * as z from "zod";
import { digestIntervalSchema, quietHoursSchema, timeZoneSchema } from "../domain/local-time.ts";
import { bodyModeSchema, channelIdSchema, mentionSchema, projectIdSchema } from "../domain/subscriptions.ts";
import { UsageError } from "../errors.ts";
import type { SubscriptionEntry } from "../usecases/subscriptions-sync.ts";

/**
 * The reviewed file of `subscriptions apply` / `subscriptions export`, in YAML or JSON:
 * `{ subscriptions: [ { project, channel, researcher?, mentions?, thread?, body?, actions?, paused?, quietHours?,
 * timezone?, digest? } ] }`,
 * named like the flags of `subscriptions add`. Every problem is reported with its place in
 * the file (`subscriptions[2].channel: ...`), all at once, before anything is written.
 */

export type FileFormat = "yaml" | "json";

const FIELDS = [
  "project",
  "channel",
  "researcher",
  "mentions",
  "thread",
  "body",
  "actions",
  "paused",
  "quietHours",
  "timezone",
  "digest",
] as const;

const entrySchema = z.strictObject({
  project: projectIdSchema,
  channel: channelIdSchema,
  researcher: z.string().trim().min(1, "must not be empty (leave it out to match every researcher)").optional(),
  mentions: z.array(mentionSchema).default([]),
  thread: z.boolean().default(true),
  body: z.enum(bodyModeSchema.options, { error: "must be full, preview or hidden" }).default("full"),
  actions: z.boolean().default(true),
  paused: z.boolean().default(false),
  quietHours: quietHoursSchema.optional(),
  timezone: timeZoneSchema.optional(),
  digest: digestIntervalSchema.optional(),
});

const fileSchema = z.strictObject({ subscriptions: z.array(entrySchema) }).superRefine((file, context) => {
  const seen = new Map<string, number>();
  file.subscriptions.forEach((entry, index) => {
    const key = `${entry.project}#${entry.channel}`;
    const first = seen.get(key);
    if (first === undefined) {
      seen.set(key, index);
      return;
    }
    context.addIssue({
      code: "custom",
      path: ["subscriptions", index],
      message: `repeats subscriptions[${first}] (project ${entry.project}, channel ${entry.channel}): each project and channel pair appears once`,
    });
  });
});

/** `--format`, else the file's extension (.json is JSON), else YAML. */
export function formatOf(path: string | undefined, explicit: string | undefined): FileFormat {
  if (explicit === "yaml" || explicit === "json") return explicit;
  return path?.toLowerCase().endsWith(".json") ? "json" : "yaml";
}

export function parseSubscriptionFile(text: string, format: FileFormat, source: string): SubscriptionEntry[] {
  const data = format === "json" ? parseJson(text, source) : parseYaml(text, source);
  if (data === null || data === undefined) {
    throw new UsageError(
      `${source} is empty: it holds \`subscriptions:\` and a list (\`subscriptions: []\` removes every subscription); nothing was changed`,
    );
  }
  const parsed = fileSchema.safeParse(data);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `  ${describeIssue(issue, data)}`);
    throw new UsageError(`${source} is not a valid subscriptions file; nothing was changed:\n${problems.join("\n")}`);
  }
  return parsed.data.subscriptions;
}

function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${source} is not valid JSON (${error instanceof Error ? error.message : "unreadable"})`);
  }
}

function parseYaml(text: string, source: string): unknown {
  const document = YAML.parseDocument(text, { uniqueKeys: true });
  const error = document.errors[0];
  if (error) {
    const hint = error.code === "BAD_ALIAS" ? '\n(write the every-project id in quotes: project: "*")' : "";
    throw new UsageError(`${source} is not valid YAML: ${error.message.trim()}${hint}`);
  }
  return document.toJS();
}

/** `["subscriptions", 2, "channel"]` -> `subscriptions[2].channel`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let text = "";
  for (const part of path) {
    if (typeof part === "number") text += `[${part}]`;
    else text += text ? `.${String(part)}` : String(part);
  }
  return text || "(file)";
}

function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let value = data;
  for (const part of path) {
    if (typeof value !== "object" || value === null) return undefined;
    value = (value as Record<PropertyKey, unknown>)[part];
  }
  return value;
}

function describeIssue(issue: z.core.$ZodIssue, data: unknown): string {
  const where = formatPath(issue.path);
  if (issue.code === "unrecognized_keys") {
    const names = issue.keys.map((key) => `"${key}"`).join(", ");
    const allowed = issue.path.length === 0 ? "subscriptions" : FIELDS.join(", ");
    return `${where}: unknown field${issue.keys.length === 1 ? "" : "s"} ${names} (fields: ${allowed})`;
  }
  if (issue.code === "invalid_type") {
    if (valueAt(data, issue.path) === undefined) return `${where}: is required`;
    const expected: Record<string, string> = {
      string: "must be text (quote it in YAML)",
      boolean: "must be true or false",
      array: "must be a list",
      object: "must be a mapping of fields",
    };
    return `${where}: ${expected[issue.expected] ?? issue.message}`;
  }
  return `${where}: ${issue.message}`;
}

function entryForFile(entry: SubscriptionEntry): Record<string, unknown> {
  return {
    project: entry.project,
    channel: entry.channel,
    ...(entry.researcher ? { researcher: entry.researcher } : {}),
    ...(entry.mentions.length > 0 ? { mentions: entry.mentions } : {}),
    thread: entry.thread,
    body: entry.body,
    actions: entry.actions !== false,
    paused: entry.paused,
    ...(entry.quietHours ? { quietHours: entry.quietHours } : {}),
    ...(entry.timezone ? { timezone: entry.timezone } : {}),
    ...(entry.digest ? { digest: entry.digest } : {}),
  };
}

const YAML_HEADER = [
  " Respondent notifier subscriptions: which project alerts which Slack channel, and how.",
  " Review changes, then: respondent-notifier subscriptions apply -f <this file>",
  ' project: a Respondent project id, or "*" for every project; channel: a Slack channel id (C...)',
  " researcher: only this external researcher's conversations; mentions: U..., S..., here or channel",
  " thread: one thread per conversation; body: full, preview or hidden; paused: no alerts while true",
  " actions: the alert's Reply and Mark as read buttons (false: none)",
  ' quietHours: "19:00-08:00" holds alerts, posted as one digest when they end; timezone: e.g. Europe/Berlin; digest: 30m, 1h, ...',
].join("\n");

export function serializeSubscriptionFile(entries: readonly SubscriptionEntry[], format: FileFormat): string {
  const content = { subscriptions: entries.map(entryForFile) };
  if (format === "json") return `${JSON.stringify(content, null, 2)}\n`;
  const document = new YAML.Document(content);
  document.commentBefore = YAML_HEADER;
  return document.toString({ lineWidth: 0 });
}
