import { createHash } from "node:crypto";
import * as z from "zod";
import { digestIntervalSchema, quietHoursSchema, timeZoneSchema } from "./local-time.ts";
import { bodyModeSchema, channelIdSchema, mentionSchema } from "./subscriptions.ts";

/**
 * Participant text is capped in the event: Slack shows at most 3,000 characters of a section
 * anyway, and a queue message must stay far below SQS's size limit even for a 1 MB reply.
 */
export const MAX_EVENT_BODY_CHARS = 4_000;

export const alertTargetSchema = z.strictObject({
  subscriptionId: z.string(),
  channelId: channelIdSchema,
  mentions: z.array(mentionSchema),
  threadPerConversation: z.boolean(),
  body: bodyModeSchema,
  /** Reply / Mark as read buttons; absent (events queued before the option existed): on. */
  actions: z.boolean().optional(),
  /** The subscription's quiet hours, zone and digest interval, present only when it has them. */
  quietHours: quietHoursSchema.optional(),
  timezone: timeZoneSchema.optional(),
  digest: digestIntervalSchema.optional(),
});

/** Version 1 of the poller -> notifier message. Add fields compatibly; bump `version` otherwise. */
export const newReplyEventSchema = z.strictObject({
  version: z.literal(1),
  eventId: z.string().regex(/^[0-9a-f]{64}$/),
  detectedAt: z.iso.datetime(),
  conversation: z.strictObject({
    uid: z.string().min(1),
    name: z.string(),
    projectId: z.string().optional(),
    externalResearcherId: z.string().optional(),
  }),
  message: z.strictObject({
    uid: z.string().min(1),
    createdAt: z.string(),
    body: z.string(),
    bodyTruncated: z.boolean(),
  }),
  sender: z.strictObject({
    /** false when the API did not say who wrote it: alerted anyway, marked as such. */
    known: z.boolean(),
    uid: z.string().optional(),
    firstName: z.string().optional(),
    lastName: z.string().optional(),
  }),
  targets: z.array(alertTargetSchema).min(1),
});

export type NewReplyEvent = z.infer<typeof newReplyEventSchema>;
export type AlertTarget = z.infer<typeof alertTargetSchema>;

/**
 * The event as a queue message body: JSON with every character outside printable ASCII written
 * as a \u escape. SQS refuses bodies holding characters outside XML's set (U+FFFE, U+FFFF, lone
 * surrogates; the local emulator also every emoji), and participants write anything: refused,
 * the event could never be queued and its conversation would never advance. JSON.parse gives
 * back exactly the same text.
 */
export function serializeEvent(event: NewReplyEvent | DigestDue): string {
  return JSON.stringify(event).replace(
    /[\u007f-\uffff]/g,
    (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** Stable across polls, pollers and retries: the same message always yields the same id. */
export function eventIdFor(conversationUid: string, messageUid: string): string {
  return createHash("sha256").update(`${conversationUid}\n${messageUid}`).digest("hex");
}

/** Cuts at a code point boundary so emoji and non-Latin text are never split in half. */
export function truncateCodePoints(text: string, maxChars: number): { text: string; truncated: boolean } {
  if (text.length <= maxChars) return { text, truncated: false };
  const codePoints = Array.from(text);
  if (codePoints.length <= maxChars) return { text, truncated: false };
  return { text: codePoints.slice(0, maxChars).join(""), truncated: true };
}

/**
 * The second kind of queue message: "this digest is due". The poller's tick finds due digests
 * and queues one each; the notifier posts it exactly once, like an alert (ledger + read-back).
 */
export const digestDueSchema = z.strictObject({
  version: z.literal(1),
  kind: z.literal("digest"),
  digestId: z.string().min(1).max(400),
  subscriptionId: z.string().min(1),
  channelId: channelIdSchema,
  dueAt: z.iso.datetime(),
});

export type DigestDue = z.infer<typeof digestDueSchema>;

/** Every message of the notifier's queue: a new reply, or a due digest. */
export type QueueMessageBody = { kind: "reply"; event: NewReplyEvent } | { kind: "digest"; digest: DigestDue };

/** Which message a parsed JSON body is, or the problem that makes it neither. */
export function parseQueueMessageBody(json: unknown): QueueMessageBody | { problem: string } {
  if (typeof json === "object" && json !== null && (json as { kind?: unknown }).kind === "digest") {
    const digest = digestDueSchema.safeParse(json);
    if (digest.success) return { kind: "digest", digest: digest.data };
    return { problem: `not a valid due-digest message, version 1${issueOf(digest.error)}` };
  }
  const event = newReplyEventSchema.safeParse(json);
  if (event.success) return { kind: "reply", event: event.data };
  return { problem: `not a valid new-reply event, version 1${issueOf(event.error)}` };
}

function issueOf(error: z.ZodError): string {
  const issue = error.issues[0];
  return issue ? ` (${issue.path.join(".") || "body"}: ${issue.message})` : "";
}

/** A digest's ledger id and message-metadata id: stable, like an event's. */
export function digestEventId(digestId: string): string {
  return createHash("sha256").update(`digest\n${digestId}`).digest("hex");
}

/** The digest of one subscription due at one instant. */
export function digestIdFor(subscriptionId: string, dueAt: Date): string {
  return `${subscriptionId}@${dueAt.toISOString()}`;
}
