import { createHash } from "node:crypto";
import * as z from "zod";
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
export function serializeEvent(event: NewReplyEvent): string {
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
