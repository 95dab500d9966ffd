import * as z from "zod";

/**
 * Schemas for the Respondent Partner API (../shared/respondent/conversations.openapi.yaml).
 * Objects are loose: unknown extra fields are allowed and ignored. A message's `sender` is
 * parsed leniently on purpose: a reply whose sender we cannot read is still a possible
 * participant reply, and dropping it would be worse than alerting with "unknown sender".
 */
const isoDate = z.string().refine((value) => !Number.isNaN(Date.parse(value)), "not a date");

export const messagingUserSchema = z.looseObject({
  uid: z.string().min(1),
  foreignId: z.string().optional(),
  firstName: z.string(),
  lastName: z.string(),
});

export const messageSchema = z.looseObject({
  uid: z.string().min(1),
  createdAt: isoDate,
  updatedAt: z.string().optional(),
  body: z.string(),
  sender: z
    .looseObject({
      uid: z.string().optional(),
      firstName: z.string().optional(),
      lastName: z.string().optional(),
    })
    .nullish(),
});

export const conversationSchema = z.looseObject({
  uid: z.string().min(1),
  createdAt: z.string(),
  updatedAt: z.string().optional(),
  name: z.string(),
  deleted: z.boolean(),
  locked: z.boolean().optional(),
  metadata: z
    .looseObject({
      projectId: z.string().optional(),
      externalResearcherId: z.string().optional(),
    })
    .nullish(),
  user: messagingUserSchema,
  participants: z.array(z.looseObject({ uid: z.string() })),
  messages: z.array(messageSchema),
  latestMessage: z.looseObject({
    uid: z.string().min(1),
    createdAt: isoDate,
    body: z.string().optional(),
  }),
  messagesCount: z.number().optional(),
});

/** The envelope of a page. `results` is an array of unknowns so each item is judged alone. */
export const conversationPageSchema = z.looseObject({
  page: z.number(),
  pageSize: z.number().int().positive(),
  totalResults: z.number().int().nonnegative().optional(),
  results: z.array(z.unknown()),
});

export type Conversation = z.infer<typeof conversationSchema>;
export type Message = z.infer<typeof messageSchema>;
export type ConversationPage = z.infer<typeof conversationPageSchema>;

/** A conversation that failed validation: reported and skipped, never fatal to the poll. */
export interface MalformedConversation {
  uid: string | undefined;
  page: number;
  problems: string;
}

export function summarizeIssues(error: z.ZodError, limit = 3): string {
  const issues = error.issues.slice(0, limit).map((issue) => {
    const path = issue.path.length > 0 ? issue.path.join(".") : "(root)";
    return `${path}: ${issue.message}`;
  });
  const more = error.issues.length > limit ? ` (+${error.issues.length - limit} more)` : "";
  return issues.join("; ") + more;
}

/**
 * One message of the messages feed (`GET /v1/messaging/messages`, partner-api.openapi.yaml):
 * the message, its sender, and a `MinimalConversation` (no `user`, no `messages`). Loose like
 * the rest: unknown fields pass; the sender stays lenient for the same reason as above.
 */
export const minimalConversationSchema = z.looseObject({
  uid: z.string().min(1),
  createdAt: z.string().optional(),
  name: z.string(),
  deleted: z.boolean().optional(),
  metadata: conversationSchema.shape.metadata,
  participants: z.array(z.looseObject({ uid: z.string(), firstName: z.string().optional() })).optional(),
});

export const feedMessageSchema = messageSchema.extend({ conversation: minimalConversationSchema });

export type MinimalConversation = z.infer<typeof minimalConversationSchema>;
export type FeedMessage = z.infer<typeof feedMessageSchema>;

/** The organisation's one webhook (`WebhookDto`): `privateKey` is the key its payloads are signed with. */
export const webhookSchema = z.looseObject({
  id: z.string().min(1),
  url: z.string(),
  privateKey: z.string().optional(),
  teamId: z.string().optional(),
  organizationId: z.string().optional(),
});

export type Webhook = z.infer<typeof webhookSchema>;

/**
 * A webhook delivery's envelope (NOTES.md: `{ event, uuid, created, payload: { resource } }`).
 * Only what the notifier relies on is required; the resource is read as a hint, never alerted.
 */
export const webhookEnvelopeSchema = z.looseObject({
  event: z.string().min(1),
  uuid: z.string().min(1).max(200),
  created: z.unknown().optional(),
  payload: z.looseObject({ resource: z.unknown() }),
});

/** The part of a `MESSAGES.CREATED` resource that names what to look at (the rest is ignored). */
export const messagesCreatedResourceSchema = z.looseObject({
  conversationId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "must be a conversation id"),
  messageId: z.string().optional(),
  projectId: z.string().optional(),
});

export type WebhookEnvelope = z.infer<typeof webhookEnvelopeSchema>;
