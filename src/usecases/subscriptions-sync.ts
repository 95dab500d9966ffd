import { type BodyMode, type Subscription, subscriptionId, subscriptionSchema } from "../domain/subscriptions.ts";
import type { SubscriptionStore } from "../ports.ts";

/**
 * Declarative subscriptions: a reviewed file says which subscriptions should exist, and a sync
 * makes the table match it. A subscription's identity is (project, channel); every other
 * field is an option that can change in place. A changed subscription keeps its start
 * (`createdAt`), so changing its options never re-alerts or skips history; a new one starts
 * when it is applied, like `subscriptions add`.
 */

/** One entry of the file, with the CLI flags' names. */
export interface SubscriptionEntry {
  project: string;
  channel: string;
  researcher?: string | undefined;
  mentions: string[];
  thread: boolean;
  body: BodyMode;
  /** Absent in entries written before the option existed: on. */
  actions?: boolean | undefined;
  paused: boolean;
  /** `HH:MM-HH:MM` in `timezone`: alerts are held and posted as one digest when quiet hours end. */
  quietHours?: string | undefined;
  /** IANA zone of the subscription's times; absent: the notifier's `TZ`. */
  timezone?: string | undefined;
  /** `30m`, `1h`, ...: at most one message per interval. */
  digest?: string | undefined;
}

export type OptionName =
  | "researcher"
  | "mentions"
  | "thread"
  | "body"
  | "actions"
  | "paused"
  | "quietHours"
  | "timezone"
  | "digest";

export interface OptionChange {
  option: OptionName;
  from: string;
  to: string;
}

export interface SyncPlan {
  add: Subscription[];
  change: Array<{ before: Subscription; after: Subscription; options: OptionChange[] }>;
  remove: Subscription[];
  unchanged: Subscription[];
}

export function changeCount(plan: SyncPlan): number {
  return plan.add.length + plan.change.length + plan.remove.length;
}

export function toEntry(subscription: Subscription): SubscriptionEntry {
  return {
    project: subscription.projectId,
    channel: subscription.channelId,
    ...(subscription.externalResearcherId ? { researcher: subscription.externalResearcherId } : {}),
    mentions: [...subscription.mentions],
    thread: subscription.threadPerConversation,
    body: subscription.body,
    actions: subscription.actions !== false,
    paused: subscription.paused,
    ...(subscription.quietHours ? { quietHours: subscription.quietHours } : {}),
    ...(subscription.timezone ? { timezone: subscription.timezone } : {}),
    ...(subscription.digest ? { digest: subscription.digest } : {}),
  };
}

/** The current set in file order: by project, then channel, so exports diff cleanly. */
export function toEntries(subscriptions: readonly Subscription[]): SubscriptionEntry[] {
  return [...subscriptions]
    .sort((a, b) => a.projectId.localeCompare(b.projectId) || a.channelId.localeCompare(b.channelId))
    .map(toEntry);
}

function optionValues(entry: SubscriptionEntry): Record<OptionName, string> {
  return {
    researcher: entry.researcher ?? "(any)",
    mentions: entry.mentions.length > 0 ? entry.mentions.join(",") : "(none)",
    thread: entry.thread ? "on" : "off",
    body: entry.body,
    actions: entry.actions === false ? "off" : "on",
    paused: entry.paused ? "yes" : "no",
    quietHours: entry.quietHours ?? "(none)",
    timezone: entry.timezone ?? "(TZ)",
    digest: entry.digest ?? "(off)",
  };
}

function optionChanges(before: SubscriptionEntry, after: SubscriptionEntry): OptionChange[] {
  const old = optionValues(before);
  const next = optionValues(after);
  return (Object.keys(old) as OptionName[])
    .filter((option) => old[option] !== next[option])
    .map((option) => ({ option, from: old[option], to: next[option] }));
}

function fromEntry(entry: SubscriptionEntry, createdAt: string, updatedAt?: string): Subscription {
  return subscriptionSchema.parse({
    projectId: entry.project,
    channelId: entry.channel,
    ...(entry.researcher ? { externalResearcherId: entry.researcher } : {}),
    mentions: entry.mentions,
    threadPerConversation: entry.thread,
    body: entry.body,
    actions: entry.actions !== false,
    paused: entry.paused,
    ...(entry.quietHours ? { quietHours: entry.quietHours } : {}),
    ...(entry.timezone ? { timezone: entry.timezone } : {}),
    ...(entry.digest ? { digest: entry.digest } : {}),
    createdAt,
    ...(updatedAt ? { updatedAt } : {}),
  });
}

/** What applying `desired` to `current` would do. `desired` must not repeat a (project, channel). */
export function planSync(current: readonly Subscription[], desired: readonly SubscriptionEntry[], now: Date): SyncPlan {
  const stamp = now.toISOString();
  const existing = new Map(current.map((subscription) => [subscriptionId(subscription), subscription]));
  const plan: SyncPlan = { add: [], change: [], remove: [], unchanged: [] };
  const wanted = new Set<string>();
  for (const entry of desired) {
    const id = subscriptionId({ projectId: entry.project, channelId: entry.channel });
    wanted.add(id);
    const before = existing.get(id);
    if (!before) {
      plan.add.push(fromEntry(entry, stamp));
      continue;
    }
    const options = optionChanges(toEntry(before), entry);
    if (options.length === 0) {
      plan.unchanged.push(before);
      continue;
    }
    const after = fromEntry(entry, before.createdAt, stamp);
    // Why the notifier paused it stays known while it stays paused; resuming clears it.
    if (before.paused && after.paused && before.disabledReason) {
      after.disabledReason = before.disabledReason;
      if (before.disabledAt) after.disabledAt = before.disabledAt;
    }
    plan.change.push({ before, after, options });
  }
  plan.remove = current.filter((subscription) => !wanted.has(subscriptionId(subscription)));
  return plan;
}

export interface SyncResult {
  added: number;
  changed: number;
  removed: number;
}

/** Adds, then changes, then removes: a half-applied sync (a crash) never has fewer alerts than both sides. */
export async function applySync(plan: SyncPlan, store: SubscriptionStore): Promise<SyncResult> {
  for (const subscription of plan.add) await store.add(subscription);
  for (const { after } of plan.change) await store.put(after);
  for (const subscription of plan.remove) await store.remove(subscription.projectId, subscription.channelId);
  return { added: plan.add.length, changed: plan.change.length, removed: plan.remove.length };
}
