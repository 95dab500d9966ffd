import { describe, expect, it } from "vitest";
import { planSync, type SubscriptionEntry } from "../../src/usecases/subscriptions-sync.ts";
import { subscription } from "../support/builders.ts";

const NOW = new Date("2026-11-20T10:00:00.000Z");

function entry(overrides: Partial<SubscriptionEntry> = {}): SubscriptionEntry {
  return {
    project: "project-a",
    channel: "C0000000001",
    mentions: [],
    thread: true,
    body: "full",
    paused: false,
    ...overrides,
  };
}

describe("planning a subscriptions sync", () => {
  const pausedByNotifier = subscription({
    paused: true,
    disabledReason: "not_in_channel",
    disabledAt: "2026-11-19T08:00:00.000Z",
  });

  it("keeps why the notifier paused a subscription while the file keeps it paused", () => {
    const plan = planSync([pausedByNotifier], [entry({ paused: true, body: "preview" })], NOW);

    expect(plan.change).toHaveLength(1);
    expect(plan.change[0]?.after).toMatchObject({
      body: "preview",
      paused: true,
      disabledReason: "not_in_channel",
      disabledAt: "2026-11-19T08:00:00.000Z",
      createdAt: pausedByNotifier.createdAt,
      updatedAt: NOW.toISOString(),
    });
  });

  it("clears the notifier's reason when the file resumes the subscription", () => {
    const plan = planSync([pausedByNotifier], [entry({ paused: false })], NOW);

    expect(plan.change[0]?.options).toEqual([{ option: "paused", from: "yes", to: "no" }]);
    expect(plan.change[0]?.after.paused).toBe(false);
    expect(plan.change[0]?.after.disabledReason).toBeUndefined();
  });

  it("treats a subscription whose options all match the file as unchanged, whatever its start", () => {
    const plan = planSync([subscription()], [entry()], NOW);

    expect(plan).toMatchObject({ add: [], change: [], remove: [] });
    expect(plan.unchanged).toHaveLength(1);
  });
});
