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
