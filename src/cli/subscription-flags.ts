import { type Command, Option } from "commander";
import type { z } from "zod";
import { digestIntervalSchema, quietHoursSchema, timeZoneSchema } from "../domain/local-time.ts";
import {
  bodyModeSchema,
  mentionSchema,
  projectIdSchema,
  type Subscription,
  subscriptionSchema,
} from "../domain/subscriptions.ts";
import { UsageError } from "../errors.ts";

/**
 * The options of a new subscription, shared by `subscriptions add` and Slack's
 * `/respondent subscribe`, so both take the same flags with the same validation.
 */
export interface SubscriptionFlags {
  researcher?: string;
  mention?: string[];
  thread: boolean;
  body: string;
  paused?: boolean;
  actions: boolean;
  quietHours?: string;
  timezone?: string;
  digest?: string;
}

/** Validates one flag with its schema; the error names the flag and says what is expected. */
export function flag<T extends z.ZodType>(name: string, schema: T, value: unknown): z.output<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new UsageError(`${name} ${JSON.stringify(value)}: ${parsed.error.issues[0]?.message ?? "is invalid"}`);
  }
  return parsed.data;
}

export function addSubscriptionFlags(command: Command): Command {
  return command
    .option("--researcher <externalResearcherId>", "only conversations of this external researcher")
    .option("--mention <id...>", "users (U...), user groups (S...), here or channel to mention in each alert")
    .option("--no-thread", "post each alert at the top level instead of one thread per conversation")
    .addOption(
      new Option("--body <mode>", "how much of the reply to show").choices(bodyModeSchema.options).default("full"),
    )
    .option("--paused", "create it paused (no alerts until resumed)")
    .option("--no-actions", "no Reply / Mark as read buttons on this channel's alerts")
    .option(
      "--quiet-hours <HH:MM-HH:MM>",
      "hold alerts in these hours (e.g. 19:00-08:00) and post them as one digest when they end",
    )
    .option(
      "--timezone <zone>",
      "IANA time zone of the times, quiet hours and digests (e.g. Europe/Berlin); default TZ",
    )
    .option(
      "--digest <interval>",
      "at most one message per interval (e.g. 30m, 1h) listing the conversations with replies",
    );
}

/** The subscription the flags describe, starting `now` (messages written before it never alert). */
export function subscriptionFromFlags(
  projectId: string,
  channelId: string,
  options: SubscriptionFlags,
  now: Date,
): Subscription {
  return subscriptionSchema.parse({
    projectId: flag("--project", projectIdSchema, projectId),
    channelId,
    ...(options.researcher ? { externalResearcherId: options.researcher } : {}),
    mentions: (options.mention ?? []).map((mention) => flag("--mention", mentionSchema, mention)),
    threadPerConversation: options.thread,
    body: flag("--body", bodyModeSchema, options.body),
    actions: options.actions,
    paused: options.paused === true,
    ...(options.quietHours !== undefined
      ? { quietHours: flag("--quiet-hours", quietHoursSchema, options.quietHours) }
      : {}),
    ...(options.timezone !== undefined ? { timezone: flag("--timezone", timeZoneSchema, options.timezone) } : {}),
    ...(options.digest !== undefined ? { digest: flag("--digest", digestIntervalSchema, options.digest) } : {}),
    createdAt: now.toISOString(),
  });
}
