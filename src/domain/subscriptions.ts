import * as z from "zod";
import { digestIntervalSchema, quietHoursSchema, timeZoneSchema } from "./local-time.ts";

/** `*` subscribes to every project. Project ids are Mongo ObjectIds in Respondent. */
export const ALL_PROJECTS = "*";

export const projectIdSchema = z
  .string()
  .regex(
    /^(\*|[A-Za-z0-9_-]{1,64})$/,
    "must be a Respondent project id (e.g. 64b7f0c2e4b0a1b2c3d4e5f6) or * for every project",
  );

/** Public channels start with C, private ones with C or G (legacy). Names are not accepted: they change. */
export const channelIdSchema = z
  .string()
  .regex(
    /^[CG][A-Z0-9]{8,}$/,
    "must be a Slack channel id like C0123456789 (channel details > About > Channel ID), not a #name",
  );

/** A user (U/W), a user group (S) or the special mentions here/channel. */
export const mentionSchema = z
  .string()
  .regex(
    /^([UWS][A-Z0-9]{8,}|here|channel)$/,
    "must be a Slack user id (U...), a user group id (S...), 'here' or 'channel'",
  );

export const bodyModeSchema = z.enum(["full", "preview", "hidden"]);
export type BodyMode = z.infer<typeof bodyModeSchema>;

export const subscriptionSchema = z.strictObject({
  projectId: projectIdSchema,
  channelId: channelIdSchema,
  externalResearcherId: z.string().min(1).optional(),
  mentions: z.array(mentionSchema).default([]),
  threadPerConversation: z.boolean().default(true),
  body: bodyModeSchema.default("full"),
  /** The alert's Reply and Mark as read buttons; absent: on (`--no-actions` stores false). */
  actions: z.boolean().optional(),
  paused: z.boolean().default(false),
  /** `HH:MM-HH:MM` on the local wall clock of `timezone`: alerts are held and posted as one digest when it ends. */
  quietHours: quietHoursSchema.optional(),
  /** IANA zone of the alert's times, the day of "3rd reply today", quiet hours and digest intervals; absent: the process's `TZ`. */
  timezone: timeZoneSchema.optional(),
  /** `30m`, `1h`, ...: at most one message per interval, listing the conversations that had replies. */
  digest: digestIntervalSchema.optional(),
  /** Why the notifier paused it (a channel that cannot take posts); cleared on resume. */
  disabledReason: z.string().optional(),
  disabledAt: z.iso.datetime().optional(),
  /** Creation time, and the subscription's start: messages created before it never alert. */
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime().optional(),
});

export type Subscription = z.infer<typeof subscriptionSchema>;

export function subscriptionId(subscription: Pick<Subscription, "projectId" | "channelId">): string {
  return `${subscription.projectId}#${subscription.channelId}`;
}

export interface ConversationScope {
  projectId?: string | undefined;
  externalResearcherId?: string | undefined;
}

export function subscriptionMatches(subscription: Subscription, scope: ConversationScope): boolean {
  if (subscription.paused) return false;
  if (subscription.projectId !== ALL_PROJECTS && subscription.projectId !== scope.projectId) return false;
  if (
    subscription.externalResearcherId !== undefined &&
    subscription.externalResearcherId !== scope.externalResearcherId
  ) {
    return false;
  }
  return true;
}

/**
 * Which `projectId` filters the poller lists with: every conversation once when `*` is
 * subscribed, otherwise each subscribed project once. Paused subscriptions are not polled.
 */
export function pollScopes(subscriptions: readonly Subscription[]): Array<string | undefined> {
  const active = subscriptions.filter((subscription) => !subscription.paused);
  if (active.some((subscription) => subscription.projectId === ALL_PROJECTS)) return [undefined];
  return [...new Set(active.map((subscription) => subscription.projectId))].sort();
}
