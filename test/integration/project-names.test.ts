import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { composeNotifier, composePoller, projectNames, subscriptionStore } from "../../src/app/compose.ts";
import { subscriptionSchema } from "../../src/domain/subscriptions.ts";
import { type FakeSlack, startFakeSlack } from "../../src/local/fake-slack.ts";
import { type RespondentSimulator, startRespondentSimulator } from "../../src/local/simulator.ts";
import type { Clock } from "../../src/ports.ts";
import { notify } from "../../src/usecases/notify.ts";
import { poll } from "../../src/usecases/poll.ts";
import { PROJECT_LOOKUP_RETRY_MS, PROJECT_NAME_MAX_AGE_MS } from "../../src/usecases/project-names.ts";
import { replyEvent } from "../support/builders.ts";
import { createTestPlatform, type TestPlatform, takeQueuedEvents } from "../support/platform.ts";

const TOKEN = "xoxb-project-names";
const CHANNEL = "C0NAMES0001";
const DAY_MS = PROJECT_NAME_MAX_AGE_MS;

/** Every text Slack shows of a post: the notification text, section fields and context lines. */
function shownText(post: { text: string; blocks: unknown[] }): string {
  return [post.text, JSON.stringify(post.blocks)].join("\n");
}

describe("project names in alerts: looked up by the poller, cached in the table, never holding an alert", () => {
  let simulator: RespondentSimulator;
  let slack: FakeSlack;
  let platform: TestPlatform;
  let now: Date;
  const clock: Clock = { now: () => now };
  let project: string;

  beforeAll(async () => {
    slack = await startFakeSlack({ token: TOKEN, channels: [CHANNEL] });
  });
  afterAll(async () => {
    await slack.close();
  });

  beforeEach(async () => {
    now = new Date("2026-12-01T06:43:29.318Z");
    slack.reset();
    // A simulator of its own: no other test's replies or lookups.
    simulator = await startRespondentSimulator({ conversations: 4 });
    project = simulator.projectIds[0] ?? "";
    simulator.renameProject(project, { internalName: "Checkout usability study", title: "Paid study: checkout" });
    platform = await createTestPlatform({
      prefix: "names",
      respondent: {
        url: simulator.url,
        apiKey: simulator.apiKey,
        apiSecret: simulator.apiSecret,
        // A slow lookup gives up quickly: the alert goes without the name.
        settings: { projectLookupTimeoutMs: 300 },
      },
      slack: { url: slack.url, token: TOKEN },
      clock,
    });
    await subscriptionStore(platform).put(
      // Every project: a name is looked up when a reply in it first comes (a subscribed project is looked up at once).
      subscriptionSchema.parse({ projectId: "*", channelId: CHANNEL, createdAt: "2026-11-01T00:00:00.000Z" }),
    );
    // The first poll takes the history in without alerting it.
    await poll(composePoller(platform).poll);
    return async () => {
      await platform.close();
      await simulator.close();
    };
  });

  const lookupsOf = (id: string) => simulator.projectRequests.filter((request) => request.projectId === id).length;

  /** One new reply in the project, polled, queued and delivered as the pipeline does. */
  async function replyAndDeliver(): Promise<string> {
    simulator.addConversation({
      projectId: project,
      createdAt: now,
      firstMessage: { from: "participant", body: "Thursday works" },
    });
    const report = await poll(composePoller(platform).poll);
    expect(report.eventsQueued).toBe(1);
    const notifier = composeNotifier(platform);
    for (const event of await takeQueuedEvents(platform)) await notify(event, notifier);
    const post = slack.posts.at(-1);
    if (!post) throw new Error("nothing was posted");
    expect(post.text).toContain("replied in");
    return shownText(post);
  }

  it("found: the alert names the project (internal name, the participants' title below) with its id in the footer", async () => {
    const shown = await replyAndDeliver();

    expect(shown).toContain("*Project*\\nCheckout usability study\\n_Paid study: checkout_");
    expect(shown).toContain(`project ${project}`);
    expect(shown).toContain("(Checkout usability study)");
  });

  it("asks the API once a day at most: later alerts read the cache", async () => {
    await replyAndDeliver();
    const asked = lookupsOf(project);
    now = new Date(now.getTime() + 60_000);
    await replyAndDeliver();
    await replyAndDeliver();

    expect(asked).toBeGreaterThanOrEqual(1);
    expect(lookupsOf(project)).toBe(asked);
  });

  it("renamed: the new name shows once the cached one is a day old", async () => {
    expect(await replyAndDeliver()).toContain("*Project*\\nCheckout usability study");
    simulator.renameProject(project, { internalName: "Checkout study, wave 2" });

    now = new Date(now.getTime() + 60 * 60_000);
    expect(await replyAndDeliver()).toContain("*Project*\\nCheckout usability study");

    now = new Date(now.getTime() + DAY_MS);
    expect(await replyAndDeliver()).toContain("*Project*\\nCheckout study, wave 2");
  });

  it("500: the alert goes out with the id, and the next one has the name", async () => {
    simulator.failNextProjectLookups(1, { status: 500 });

    const first = await replyAndDeliver();
    expect(first).toContain(`*Project*\\n${project}`);
    expect(first).not.toContain("*Project*\\nCheckout");

    now = new Date(now.getTime() + PROJECT_LOOKUP_RETRY_MS + 1_000);
    expect(await replyAndDeliver()).toContain("*Project*\\nCheckout usability study");
  });

  it("slow: a lookup that does not answer in time is given up, the alert goes with the id, the next has the name", async () => {
    simulator.failNextProjectLookups(1, { kind: "hang" });

    const first = await replyAndDeliver();
    expect(first).toContain(`*Project*\\n${project}`);

    now = new Date(now.getTime() + PROJECT_LOOKUP_RETRY_MS + 1_000);
    expect(await replyAndDeliver()).toContain("*Project*\\nCheckout usability study");
  });

  it("404: a project the API does not know shows its id, and is asked again only after a day", async () => {
    const unknown = "0123456789abcdef01234567";
    const names = projectNames(platform);

    await names.ensure([unknown]);
    await names.ensure([unknown]);
    expect(lookupsOf(unknown)).toBe(1);
    expect(simulator.projectRequests.find((request) => request.projectId === unknown)?.status).toBe(404);

    const notifier = composeNotifier(platform);
    const event = replyEvent("conv-unknown", "m1", [CHANNEL]);
    await notify({ ...event, conversation: { ...event.conversation, projectId: unknown } }, notifier);
    expect(shownText(slack.posts.at(-1) ?? { text: "", blocks: [] })).toContain(`*Project*\\n${unknown}`);

    // Another process (a new Lambda container) reads the 404 from the cache instead of asking.
    await projectNames(platform).ensure([unknown]);
    expect(lookupsOf(unknown)).toBe(1);

    now = new Date(now.getTime() + DAY_MS + 1_000);
    await projectNames(platform).ensure([unknown]);
    expect(lookupsOf(unknown)).toBe(2);
  });

  it("a listing reads names without writing the cache", async () => {
    const labels = await projectNames(platform, { writes: false }).labels([project]);
    expect(labels.get(project)?.name).toBe("Checkout usability study");

    // Nothing was cached: a process that may not ask finds no name.
    const cacheOnly = projectNames({ ...platform, respondent: undefined });
    expect((await cacheOnly.cachedLabel(project)).name).toBeUndefined();
  });

  it("a subscribed project's name is looked up by the next poll, before any reply", async () => {
    await subscriptionStore(platform).put(
      subscriptionSchema.parse({ projectId: project, channelId: "C0NAMES0002", createdAt: now.toISOString() }),
    );
    await poll(composePoller(platform).poll);

    const cacheOnly = projectNames({ ...platform, respondent: undefined });
    expect((await cacheOnly.cachedLabel(project)).name).toBe("Checkout usability study");
  });
});
