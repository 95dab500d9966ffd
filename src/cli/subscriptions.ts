import { readFile, writeFile } from "node:fs/promises";
import { type Command, Option } from "commander";
import { projectNames, subscriptionPauses, subscriptionStore } from "../app/compose.ts";
import { channelIdSchema, projectIdSchema, type Subscription } from "../domain/subscriptions.ts";
import { stripInvisibleControls } from "../domain/untrusted-text.ts";
import { describeError, UsageError } from "../errors.ts";
import type { SubscriptionStore } from "../ports.ts";
import type { ProjectLabel } from "../usecases/project-names.ts";
import { applySync, changeCount, planSync, type SyncPlan, toEntries, toEntry } from "../usecases/subscriptions-sync.ts";
import { type CliContext, withPlatform } from "./context.ts";
import { addSubscriptionFlags, flag, type SubscriptionFlags, subscriptionFromFlags } from "./subscription-flags.ts";
import { formatOf, parseSubscriptionFile, serializeSubscriptionFile } from "./subscriptions-file.ts";

/** A subscription is identified by its project and channel: both flags, validated. */
function subscriptionIdentity(options: { project: string; channel: string }): { projectId: string; channelId: string } {
  return {
    projectId: flag("--project", projectIdSchema, options.project),
    channelId: flag("--channel", channelIdSchema, options.channel),
  };
}

function noSuchSubscription(projectId: string, channelId: string): UsageError {
  return new UsageError(
    `no subscription for project ${projectId} -> channel ${channelId} (see \`subscriptions list\`)`,
  );
}

export async function withSubscriptionStore<T>(
  context: CliContext,
  work: (store: SubscriptionStore) => Promise<T>,
): Promise<T> {
  return withPlatform(context, { needs: {} }, (platform) => work(subscriptionStore(platform)));
}

export function formatSubscription(subscription: Subscription, project?: ProjectLabel): string {
  const options = [
    subscription.externalResearcherId ? `researcher=${subscription.externalResearcherId}` : undefined,
    subscription.mentions.length > 0 ? `mentions=${subscription.mentions.join(",")}` : undefined,
    `thread=${subscription.threadPerConversation ? "on" : "off"}`,
    `body=${subscription.body}`,
    subscription.actions === false ? "actions=off" : undefined,
    subscription.quietHours ? `quiet-hours=${subscription.quietHours}` : undefined,
    subscription.timezone ? `timezone=${subscription.timezone}` : undefined,
    subscription.digest ? `digest=${subscription.digest}` : undefined,
    subscription.paused
      ? `PAUSED${subscription.disabledReason ? ` (since ${subscription.disabledAt ?? "?"}: ${subscription.disabledReason})` : ""}`
      : undefined,
    `since ${subscription.createdAt}`,
  ].filter(Boolean);
  const name = project?.name ? `  "${stripInvisibleControls(project.name)}"` : "";
  return `${subscription.projectId.padEnd(24)}  ->  ${subscription.channelId}  ${options.join("  ")}${name}`;
}

export function registerSubscriptionCommands(program: Command, context: () => CliContext): void {
  const subscriptions = program
    .command("subscriptions")
    .description("which Respondent project alerts which Slack channel, and how");

  addSubscriptionFlags(
    subscriptions
      .command("add")
      .description("subscribe a Slack channel to a project (or * for every project); alerts start from now")
      .requiredOption("--project <id>", "Respondent project id, or * for every project")
      .requiredOption("--channel <id>", "Slack channel id, e.g. C0123456789"),
  ).action(async (options: SubscriptionFlags & { project: string; channel: string }) => {
    const ctx = context();
    const subscription = subscriptionFromFlags(
      options.project,
      flag("--channel", channelIdSchema, options.channel),
      options,
      new Date(),
    );
    await withSubscriptionStore(ctx, (store) => store.add(subscription));
    ctx.out(`added: ${formatSubscription(subscription)}`);
    ctx.out("messages written from now on will alert; earlier ones never do.");
  });

  subscriptions
    .command("list")
    .description("show every subscription")
    .option("--json", "print JSON (one array) for scripts")
    .action(async (options: { json?: boolean }) => {
      const ctx = context();
      // The names come from the cache the poller keeps (src/usecases/project-names.ts): no API call here.
      const { all, labels } = await withPlatform(ctx, { needs: {} }, async (platform) => {
        const all = await subscriptionStore(platform).list();
        const labels = await projectNames(platform, { lookUp: false, writes: false }).labels(
          all.map((subscription) => subscription.projectId),
        );
        return { all, labels };
      });
      if (options.json) {
        const named = all.map((subscription) => {
          const name = labels.get(subscription.projectId)?.name;
          return name ? { ...subscription, projectName: name } : subscription;
        });
        ctx.out(JSON.stringify(named, null, 2));
        return;
      }
      if (all.length === 0) {
        ctx.out("no subscriptions. Add one: respondent-notifier subscriptions add --project <id|*> --channel <C...>");
        return;
      }
      for (const subscription of all) ctx.out(formatSubscription(subscription, labels.get(subscription.projectId)));
    });

  subscriptions
    .command("resume")
    .description("resume a paused subscription (e.g. after inviting the app to a channel it was paused for)")
    .requiredOption("--project <id>", "Respondent project id, or *")
    .requiredOption("--channel <id>", "Slack channel id")
    .action(async (options: { project: string; channel: string }) => {
      const ctx = context();
      const { projectId, channelId } = subscriptionIdentity(options);
      const outcome = await withPlatform(ctx, { needs: {} }, (platform) =>
        subscriptionPauses(platform).resume(projectId, channelId, new Date()),
      );
      if (outcome === "not_found") throw noSuchSubscription(projectId, channelId);
      ctx.out(
        outcome === "resumed"
          ? `resumed: ${projectId} -> ${channelId}; alerts flow again from the next poll`
          : `${projectId} -> ${channelId} was not paused; nothing changed`,
      );
    });

  subscriptions
    .command("remove")
    .description("stop alerting a channel for a project")
    .requiredOption("--project <id>", "Respondent project id, or *")
    .requiredOption("--channel <id>", "Slack channel id")
    .action(async (options: { project: string; channel: string }) => {
      const ctx = context();
      const { projectId, channelId } = subscriptionIdentity(options);
      const removed = await withSubscriptionStore(ctx, (store) => store.remove(projectId, channelId));
      if (!removed) throw noSuchSubscription(projectId, channelId);
      ctx.out(`removed: ${projectId} -> ${channelId}`);
    });

  subscriptions
    .command("apply")
    .description("make the stored subscriptions match a reviewed YAML or JSON file; shows the changes first")
    .requiredOption(
      "-f, --file <path>",
      "the subscriptions file (.yaml, .yml or .json), as written by `subscriptions export`",
    )
    .option("--yes", "apply without asking (needed when not on a terminal)")
    .option("--dry-run", "show the changes only")
    .action(async (options: { file: string; yes?: boolean; dryRun?: boolean }) => {
      const ctx = context();
      const entries = parseSubscriptionFile(
        await readText(options.file),
        formatOf(options.file, undefined),
        options.file,
      );
      await withSubscriptionStore(ctx, async (store) => {
        const plan = planSync(await store.list(), entries, new Date());
        const changes = changeCount(plan);
        if (changes === 0) {
          ctx.out(
            `no changes: the stored subscriptions match ${options.file} (${plan.unchanged.length} subscriptions)`,
          );
          return;
        }
        for (const line of describePlan(plan)) ctx.out(line);
        if (options.dryRun) {
          ctx.out("dry run: nothing applied");
          return;
        }
        if (!options.yes) {
          if (!ctx.io.stdinIsTTY) {
            throw new UsageError("not applied: confirm on a terminal, or pass --yes to apply without asking");
          }
          const confirmed = await ctx.io.confirm(`Apply these ${changes} change${changes === 1 ? "" : "s"}? [y/N] `);
          if (!confirmed) {
            ctx.out("not applied");
            return;
          }
        }
        const result = await applySync(plan, store);
        ctx.out(`applied: ${result.added} added, ${result.changed} changed, ${result.removed} removed`);
      });
    });

  subscriptions
    .command("export")
    .description("write the stored subscriptions in the file format of `subscriptions apply`")
    .option("-o, --output <path>", "write to this file instead of stdout")
    .addOption(
      new Option("--format <format>", "file format (default: from the file name, else yaml)").choices(["yaml", "json"]),
    )
    .action(async (options: { output?: string; format?: string }) => {
      const ctx = context();
      const all = await withSubscriptionStore(ctx, (store) => store.list());
      const text = serializeSubscriptionFile(toEntries(all), formatOf(options.output, options.format));
      if (!options.output) {
        ctx.out(text.replace(/\n$/, ""));
        return;
      }
      try {
        await writeFile(options.output, text);
      } catch (error) {
        throw new UsageError(`cannot write ${options.output}: ${describeError(error)}`);
      }
      ctx.out(`wrote ${all.length} subscription${all.length === 1 ? "" : "s"} to ${options.output}`);
    });
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new UsageError(`cannot read ${path}${typeof code === "string" ? ` (${code})` : ""}`);
  }
}

function target(subscription: Subscription): string {
  return `${subscription.projectId} -> ${subscription.channelId}`;
}

function options(subscription: Subscription): string {
  const entry = toEntry(subscription);
  return [
    entry.researcher ? `researcher=${entry.researcher}` : undefined,
    entry.mentions.length > 0 ? `mentions=${entry.mentions.join(",")}` : undefined,
    `thread=${entry.thread ? "on" : "off"}`,
    `body=${entry.body}`,
    entry.actions === false ? "actions=off" : undefined,
    entry.paused ? "paused" : undefined,
    entry.quietHours ? `quiet-hours=${entry.quietHours}` : undefined,
    entry.timezone ? `timezone=${entry.timezone}` : undefined,
    entry.digest ? `digest=${entry.digest}` : undefined,
  ]
    .filter(Boolean)
    .join(" ");
}

/** `+ add`, `~ change option: old -> new`, `- remove`, then a count and what happens to each start. */
export function describePlan(plan: SyncPlan): string[] {
  const lines: string[] = [];
  for (const subscription of plan.add) {
    lines.push(
      `+ add     ${target(subscription)}  ${options(subscription)}  (starts now: earlier messages never alert)`,
    );
  }
  for (const { before, options: changed } of plan.change) {
    const what = changed.map((change) => `${change.option}: ${change.from} -> ${change.to}`).join("; ");
    const resumes = before.disabledReason && changed.some((change) => change.option === "paused");
    const why = resumes ? `; paused by the notifier: ${before.disabledReason}` : "";
    lines.push(`~ change  ${target(before)}  ${what}  (keeps its start, ${before.createdAt}${why})`);
  }
  for (const subscription of plan.remove) {
    lines.push(`- remove  ${target(subscription)}  (no more alerts there for this project)`);
  }
  const counts = [
    `${plan.add.length} to add`,
    `${plan.change.length} to change`,
    `${plan.remove.length} to remove`,
    `${plan.unchanged.length} unchanged`,
  ];
  const changes = changeCount(plan);
  lines.push(`${changes} change${changes === 1 ? "" : "s"}: ${counts.join(", ")}`);
  return lines;
}
