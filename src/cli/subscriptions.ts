import { join } from "node:path";
import { type Command, Option } from "commander";
import type { z } from "zod";
import { createDynamoDbClient } from "../adapters/dynamo/client.ts";
import { DynamoSubscriptionStore } from "../adapters/dynamo/subscription-store.ts";
import { ensureTable } from "../adapters/dynamo/table.ts";
import {
  bodyModeSchema,
  channelIdSchema,
  mentionSchema,
  projectIdSchema,
  type Subscription,
  subscriptionSchema,
} from "../domain/subscriptions.ts";
import { UsageError } from "../errors.ts";
import { startDynamoDbLocal } from "../local/dynamodb-local.ts";
import { repoRoot } from "../local/runtime.ts";
import type { CliContext } from "./main.ts";

/** Validates one flag with its schema; the error names the flag and says what is expected. */
function flag<T extends z.ZodType>(name: string, schema: T, value: unknown): z.output<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new UsageError(`${name} ${JSON.stringify(value)}: ${parsed.error.issues[0]?.message ?? "is invalid"}`);
  }
  return parsed.data;
}

export async function withSubscriptionStore<T>(
  context: CliContext,
  work: (store: DynamoSubscriptionStore) => Promise<T>,
): Promise<T> {
  const config = context.config();
  let table = config.table;
  let stopDynamo: (() => Promise<void>) | undefined;
  if (!table.endpoint) {
    const dynamo = await startDynamoDbLocal({ dataDir: join(repoRoot(), ".data", "dynamodb") });
    stopDynamo = () => dynamo.stop();
    table = { ...table, endpoint: dynamo.endpoint };
  }
  const client = createDynamoDbClient(table);
  try {
    await ensureTable(client, table.tableName, { log: context.log });
    return await work(new DynamoSubscriptionStore(client, table.tableName, { log: context.log }));
  } finally {
    client.destroy();
    await stopDynamo?.();
  }
}

export function formatSubscription(subscription: Subscription): string {
  const options = [
    subscription.externalResearcherId ? `researcher=${subscription.externalResearcherId}` : undefined,
    subscription.mentions.length > 0 ? `mentions=${subscription.mentions.join(",")}` : undefined,
    `thread=${subscription.threadPerConversation ? "on" : "off"}`,
    `body=${subscription.body}`,
    subscription.paused ? "PAUSED" : undefined,
    `since ${subscription.createdAt}`,
  ].filter(Boolean);
  return `${subscription.projectId.padEnd(24)}  ->  ${subscription.channelId}  ${options.join("  ")}`;
}

export function registerSubscriptionCommands(program: Command, context: () => CliContext): void {
  const subscriptions = program
    .command("subscriptions")
    .description("which Respondent project alerts which Slack channel, and how");

  subscriptions
    .command("add")
    .description("subscribe a Slack channel to a project (or * for every project); alerts start from now")
    .requiredOption("--project <id>", "Respondent project id, or * for every project")
    .requiredOption("--channel <id>", "Slack channel id, e.g. C0123456789")
    .option("--researcher <externalResearcherId>", "only conversations of this external researcher")
    .option("--mention <id...>", "users (U...), user groups (S...), here or channel to mention in each alert")
    .option("--no-thread", "post each alert at the top level instead of one thread per conversation")
    .addOption(
      new Option("--body <mode>", "how much of the reply to show").choices(bodyModeSchema.options).default("full"),
    )
    .option("--paused", "create it paused (no alerts until resumed)")
    .action(
      async (options: {
        project: string;
        channel: string;
        researcher?: string;
        mention?: string[];
        thread: boolean;
        body: string;
        paused?: boolean;
      }) => {
        const ctx = context();
        const subscription = subscriptionSchema.parse({
          projectId: flag("--project", projectIdSchema, options.project),
          channelId: flag("--channel", channelIdSchema, options.channel),
          ...(options.researcher ? { externalResearcherId: options.researcher } : {}),
          mentions: (options.mention ?? []).map((mention) => flag("--mention", mentionSchema, mention)),
          threadPerConversation: options.thread,
          body: flag("--body", bodyModeSchema, options.body),
          paused: options.paused === true,
          createdAt: new Date().toISOString(),
        });
        await withSubscriptionStore(ctx, (store) => store.add(subscription));
        ctx.out(`added: ${formatSubscription(subscription)}`);
        ctx.out("messages written from now on will alert; earlier ones never do.");
      },
    );

  subscriptions
    .command("list")
    .description("show every subscription")
    .option("--json", "print JSON (one array) for scripts")
    .action(async (options: { json?: boolean }) => {
      const ctx = context();
      const all = await withSubscriptionStore(ctx, (store) => store.list());
      if (options.json) {
        ctx.out(JSON.stringify(all, null, 2));
        return;
      }
      if (all.length === 0) {
        ctx.out("no subscriptions. Add one: respondent-notifier subscriptions add --project <id|*> --channel <C...>");
        return;
      }
      for (const subscription of all) ctx.out(formatSubscription(subscription));
    });

  subscriptions
    .command("remove")
    .description("stop alerting a channel for a project")
    .requiredOption("--project <id>", "Respondent project id, or *")
    .requiredOption("--channel <id>", "Slack channel id")
    .action(async (options: { project: string; channel: string }) => {
      const ctx = context();
      const projectId = flag("--project", projectIdSchema, options.project);
      const channelId = flag("--channel", channelIdSchema, options.channel);
      const removed = await withSubscriptionStore(ctx, (store) => store.remove(projectId, channelId));
      if (!removed) {
        throw new UsageError(
          `no subscription for project ${projectId} -> channel ${channelId} (see \`subscriptions list\`)`,
        );
      }
      ctx.out(`removed: ${projectId} -> ${channelId}`);
    });
}
