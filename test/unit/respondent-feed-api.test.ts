import { afterEach, describe, expect, it } from "vitest";
import { RespondentApiClient } from "../../src/adapters/respondent-api.ts";
import { RespondentRequestRejectedError } from "../../src/errors.ts";
import {
  type RespondentSimulator,
  type RespondentSimulatorOptions,
  startRespondentSimulator,
} from "../../src/local/simulator.ts";
import type { Log, MessagePageResult } from "../../src/ports.ts";

const running: RespondentSimulator[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((simulator) => simulator.close()));
});

async function simulator(options: RespondentSimulatorOptions = {}): Promise<RespondentSimulator> {
  const started = await startRespondentSimulator(options);
  running.push(started);
  return started;
}

const quiet: Log = { debug() {}, info() {}, warn() {}, error() {} };

function clientFor(sim: RespondentSimulator, pageSize = 100) {
  return new RespondentApiClient({
    baseUrl: sim.url,
    pageSize,
    maxConcurrency: 4,
    timeoutMs: 2_000,
    maxRetries: 2,
    credentials: async () => ({ apiKey: sim.apiKey, apiSecret: sim.apiSecret }),
    log: quiet,
    sleep: async () => {},
    random: () => 0.5,
  });
}

async function collect(pages: AsyncIterable<MessagePageResult>): Promise<MessagePageResult[]> {
  const all: MessagePageResult[] = [];
  for await (const page of pages) all.push(page);
  return all;
}

describe("the messages feed through the client", () => {
  it("reads every page of a window, both senders, oldest first, filtered by project, with ISO 8601 since/until", async () => {
    const start = new Date("2026-11-01T10:00:00.000Z");
    let now = start.getTime();
    const sim = await simulator({ pageSizeCap: 5, now: () => new Date(now) });
    const project = sim.projectIds[0] ?? "";
    const conversation = sim.addConversation({ projectId: project });
    const written: string[] = [];
    for (let index = 0; index < 12; index += 1) {
      now += 1_000;
      written.push(sim.addMessage(conversation, { from: index % 3 === 0 ? "researcher" : "participant" }));
    }
    const other = sim.addConversation({ projectId: sim.projectIds[1] ?? "" });
    sim.addMessage(other, { from: "participant" });

    const pages = await collect(
      clientFor(sim, 100).listMessages({
        projectId: project,
        since: new Date(start.getTime() + 1),
        until: new Date(now),
      }),
    );

    expect(pages.map((page) => page.messages.length)).toEqual([5, 5, 2]);
    expect(pages.flatMap((page) => page.messages.map((message) => message.uid))).toEqual(written);
    const senders = new Set(pages.flatMap((page) => page.messages.map((message) => message.sender?.uid)));
    expect(senders.has(sim.teamUser.uid)).toBe(true);
    expect(senders.size).toBe(2);
    const feedRequest = sim.requests.find((request) => request.path === "/v1/messaging/messages");
    expect(feedRequest?.query.since).toBe(new Date(start.getTime() + 1).toISOString());
    expect(feedRequest?.query.projectId).toBe(project);
  });

  it("turns a refused since into RespondentRequestRejectedError with the API's words", async () => {
    const sim = await simulator({ feedSince: "refuse" });
    const error = await collect(clientFor(sim).listMessages({ since: new Date(0), until: new Date() })).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(RespondentRequestRejectedError);
    expect(String((error as Error).message)).toMatch(/since must be a unix timestamp/);
  });

  it("reads one conversation by uid, and answers undefined for one that does not exist", async () => {
    const sim = await simulator();
    const uid = sim.conversationUids[0] ?? "";
    const client = clientFor(sim);
    const conversation = await client.getConversation(uid);
    expect(conversation?.uid).toBe(uid);
    expect(conversation?.messages.length).toBeGreaterThan(0);
    expect(await client.getConversation("000000000000000000000000")).toBeUndefined();
  });

  it("registers, reads and removes the organisation's webhook", async () => {
    const sim = await simulator();
    const client = clientFor(sim);
    expect(await client.getWebhook()).toBeUndefined();
    const created = await client.createWebhook("https://example.com/respondent/webhook");
    expect(created.privateKey).toBeTruthy();
    expect((await client.getWebhook())?.id).toBe(created.id);
    await client.deleteWebhook(created.id);
    expect(await client.getWebhook()).toBeUndefined();
  });
});
