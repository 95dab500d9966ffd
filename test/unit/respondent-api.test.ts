import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { CountingMetrics } from "../../src/adapters/observability.ts";
import { RespondentApiClient, type RespondentApiClientOptions } from "../../src/adapters/respondent-api.ts";
import {
  RespondentAuthError,
  RespondentBadResponseError,
  RespondentRequestRejectedError,
  RespondentUnavailableError,
} from "../../src/errors.ts";
import {
  type RespondentSimulator,
  type RespondentSimulatorOptions,
  startRespondentSimulator,
} from "../../src/local/simulator.ts";
import type { ConversationPageResult, ListConversationsFilter, Log } from "../../src/ports.ts";

const running: RespondentSimulator[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((simulator) => simulator.close()));
});

async function simulator(options: RespondentSimulatorOptions = {}): Promise<RespondentSimulator> {
  const started = await startRespondentSimulator(options);
  running.push(started);
  return started;
}

function recordingLog(): { log: Log; lines: string[] } {
  const lines: string[] = [];
  const record = (level: string) => (message: string, attributes?: Record<string, unknown>) => {
    lines.push(`${level} ${message} ${JSON.stringify(attributes ?? {})}`);
  };
  return {
    lines,
    log: { debug: record("debug"), info: record("info"), warn: record("warn"), error: record("error") },
  };
}

function clientFor(sim: RespondentSimulator, overrides: Partial<RespondentApiClientOptions> = {}) {
  const sleeps: number[] = [];
  const { log, lines } = recordingLog();
  const metrics = new CountingMetrics();
  const client = new RespondentApiClient({
    baseUrl: sim.url,
    pageSize: 100,
    maxConcurrency: 4,
    timeoutMs: 2_000,
    maxRetries: 3,
    credentials: async () => ({ apiKey: sim.apiKey, apiSecret: sim.apiSecret }),
    log,
    metrics,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
    ...overrides,
  });
  return { client, sleeps, lines, metrics };
}

/** Resolves once `condition` holds (checked on every turn of the event loop); fails after `timeoutMs`. */
async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

async function collect(client: RespondentApiClient, filter: ListConversationsFilter = {}) {
  const pages: ConversationPageResult[] = [];
  for await (const page of client.listConversations(filter)) pages.push(page);
  return pages;
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Error) return error;
    throw new Error(`rejected with a non-Error: ${String(error)}`);
  }
  throw new Error("expected a rejection");
}

const uidsOf = (pages: ConversationPageResult[]) => pages.flatMap((page) => page.conversations.map((c) => c.uid));
const pagesRequested = (sim: RespondentSimulator) => sim.requests.map((request) => request.page);

describe("RespondentApiClient: page walking", () => {
  it("walks exactly the pages the server's capped page size implies and sees every conversation once", async () => {
    const sim = await simulator({ conversations: 50, pageSizeCap: 7 });
    const { client } = clientFor(sim, { pageSize: 100 });

    const pages = await collect(client);

    expect(sim.requests).toHaveLength(8);
    expect(sim.requests[0]?.pageSize).toBe(100);
    expect(pages.map((page) => page.appliedPageSize)).toEqual(Array(8).fill(7));
    expect(pages.map((page) => page.totalResults)).toEqual(Array(8).fill(50));
    expect(uidsOf(pages).sort()).toEqual([...sim.conversationUids].sort());
  });

  it("counts PagesFetched and logs each page at debug with its page, applied size, total and count", async () => {
    const sim = await simulator({ conversations: 10, pageSizeCap: 7 });
    const { client, metrics, lines } = clientFor(sim);

    await collect(client);

    expect(metrics.get("PagesFetched")).toBe(2);
    const debugLines = lines.filter((line) => line.startsWith("debug"));
    expect(debugLines).toHaveLength(2);
    expect(debugLines[1]).toContain('"page":2,"appliedPageSize":7,"totalResults":10,"count":3');
  });

  it("makes a single request when there are no conversations", async () => {
    const sim = await simulator({ conversations: 0 });
    const { client } = clientFor(sim);

    const pages = await collect(client);

    expect(sim.requests).toHaveLength(1);
    expect(pages).toHaveLength(1);
    expect(pages[0]?.totalResults).toBe(0);
    expect(pages[0]?.conversations).toEqual([]);
  });

  it("requests no empty page when totalResults ends exactly on a page boundary", async () => {
    const sim = await simulator({ conversations: 49, pageSizeCap: 7 });
    const { client } = clientFor(sim);

    const pages = await collect(client);

    expect(pagesRequested(sim).sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(uidsOf(pages)).toHaveLength(49);
  });

  it("without totalResults walks one page at a time until a page is shorter than the applied size", async () => {
    const sim = await simulator({ conversations: 50, pageSizeCap: 7, omitTotalResults: true });
    const { client } = clientFor(sim, { maxConcurrency: 4 });

    const pages = await collect(client);

    expect(pagesRequested(sim)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(sim.maxConcurrentRequests).toBe(1);
    expect(pages.every((page) => page.totalResults === undefined)).toBe(true);
    expect(new Set(uidsOf(pages)).size).toBe(50);
  });

  it("without totalResults needs one empty page to learn that a full last page was the last", async () => {
    const sim = await simulator({ conversations: 49, pageSizeCap: 7, omitTotalResults: true });
    const { client } = clientFor(sim);

    const pages = await collect(client);

    expect(pagesRequested(sim)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(pages.at(-1)?.conversations).toEqual([]);
  });

  it("stops at the first empty page even when totalResults promised more", async () => {
    const sim = await simulator({ conversations: 50, pageSizeCap: 7 });
    const { client } = clientFor(sim, { maxConcurrency: 1 });

    const pages: ConversationPageResult[] = [];
    for await (const page of client.listConversations({})) {
      pages.push(page);
      if (page.page === 1) {
        for (const uid of sim.conversationUids.slice(0, 40)) sim.deleteConversation(uid, { remove: true });
      }
    }

    expect(pagesRequested(sim)).toEqual([1, 2, 3]);
    expect(pages.map((page) => page.page)).toEqual([1, 2, 3]);
  });

  it("yields pages strictly in page order while later pages answer first", async () => {
    const sim = await simulator({
      conversations: 60,
      pageSizeCap: 5,
      latencyMs: (request) => Math.max(0, 24 - (request.page ?? 0) * 2),
    });
    const { client } = clientFor(sim, { maxConcurrency: 4 });

    const pages = await collect(client);

    expect(pages.map((page) => page.page)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(sim.maxConcurrentRequests).toBeGreaterThan(1);
    expect(sim.maxConcurrentRequests).toBeLessThanOrEqual(4);
    expect(new Set(uidsOf(pages)).size).toBe(60);
  });

  it("keeps at most maxConcurrency pages ahead of a consumer that is slow", async () => {
    // Each request, as the API receives it, is measured against the pages the consumer has taken.
    let taken = 0;
    let furthestAhead = 0;
    const sim = await simulator({
      conversations: 100,
      pageSizeCap: 5,
      latencyMs: (request) => {
        furthestAhead = Math.max(furthestAhead, (request.page ?? 1) - taken);
        return 0;
      },
    });
    const { client } = clientFor(sim, { maxConcurrency: 3 });

    const iterator = client.listConversations({})[Symbol.asyncIterator]();
    await iterator.next();
    taken = 1;
    await until(() => sim.requests.length === 1 + 3);
    await iterator.next();
    taken = 2;
    await until(() => sim.requests.length === 2 + 3);
    let remaining = 0;
    while (!(await iterator.next()).done) {
      taken += 1;
      remaining += 1;
    }

    expect(furthestAhead).toBe(3);
    expect(remaining).toBe(18);
    expect(sim.requests).toHaveLength(20);
  });

  it("stops fetching when the consumer stops early", async () => {
    const sim = await simulator({ conversations: 100, pageSizeCap: 5, latencyMs: 5 });
    const { client } = clientFor(sim, { maxConcurrency: 2 });

    for await (const page of client.listConversations({})) {
      if (page.page === 2) break;
    }
    await new Promise((resolve) => setTimeout(resolve, 30));

    expect(sim.requests.length).toBeLessThanOrEqual(2 + 2);
  });

  it("passes the projectId and externalResearcherId filters to the API", async () => {
    const sim = await simulator({ conversations: 30, projects: 3 });
    const { client } = clientFor(sim);
    const projectId = sim.projectIds[1];

    const byProject = await collect(client, { projectId });
    const byResearcher = await collect(client, { externalResearcherId: "researcher-2" });

    expect(sim.requests[0]?.projectId).toBe(projectId);
    expect(sim.requests[1]?.externalResearcherId).toBe("researcher-2");
    const projectConversations = byProject.flatMap((page) => page.conversations);
    expect(projectConversations.length).toBeGreaterThan(0);
    expect(projectConversations.every((c) => c.metadata?.projectId === projectId)).toBe(true);
    const researcherConversations = byResearcher.flatMap((page) => page.conversations);
    expect(researcherConversations.length).toBeGreaterThan(0);
    expect(researcherConversations.every((c) => c.metadata?.externalResearcherId === "researcher-2")).toBe(true);
  });

  it("asks for the credentials on every listing, so a rotated secret is used by the next poll", async () => {
    const sim = await simulator({ conversations: 3 });
    const secrets = ["secret-before-rotation", sim.apiSecret];
    const { client } = clientFor(sim, {
      credentials: async () => ({ apiKey: sim.apiKey, apiSecret: secrets.shift() ?? "exhausted" }),
    });

    const first = await failure(collect(client));
    const second = await collect(client);

    expect(first).toBeInstanceOf(RespondentAuthError);
    expect(uidsOf(second)).toHaveLength(3);
  });
});

describe("RespondentApiClient: one budget of requests in flight", () => {
  it("keeps at most maxConcurrency requests in flight across listings that run at once", async () => {
    const sim = await simulator({ conversations: 90, projects: 3, pageSizeCap: 5, latencyMs: 10 });
    const { client } = clientFor(sim, { maxConcurrency: 3 });

    const listings = await Promise.all(sim.projectIds.map((projectId) => collect(client, { projectId })));

    expect(sim.maxConcurrentRequests).toBe(3);
    expect(new Set(listings.flatMap(uidsOf)).size).toBe(90);
    for (const pages of listings) expect(pages.map((page) => page.page)).toEqual(pages.map((_, index) => index + 1));
  });

  it("gives back the place of a request that waited for a slot when its listing stops early", async () => {
    const sim = await simulator({ conversations: 60, projects: 2, pageSizeCap: 5, latencyMs: 10 });
    const { client } = clientFor(sim, { maxConcurrency: 1 });
    const [first, second] = sim.projectIds;
    const stopAfterPage1 = async () => {
      for await (const page of client.listConversations({ projectId: second })) if (page.page === 1) break;
    };

    const [whole] = await Promise.all([collect(client, { projectId: first }), stopAfterPage1()]);
    const afterwards = await collect(client, { projectId: second });

    expect(whole.length).toBeGreaterThan(2);
    expect(uidsOf(afterwards).length).toBeGreaterThan(5);
    expect(sim.maxConcurrentRequests).toBe(1);
  }, 10_000);
});

describe("RespondentApiClient: validation", () => {
  it("skips a malformed conversation, reports it with its uid and page, and returns the others", async () => {
    const sim = await simulator({ conversations: 10 });
    const broken = sim.conversationUids[3] ?? "";
    sim.setRawConversation(broken, { uid: broken, name: "no other fields" });
    const injected = sim.injectMalformed();
    const { client } = clientFor(sim);

    const pages = await collect(client);

    const malformed = pages.flatMap((page) => page.malformed);
    expect(malformed.map((item) => item.uid).sort()).toEqual([broken, injected].sort());
    expect(malformed.every((item) => item.page === 1)).toBe(true);
    expect(malformed.find((item) => item.uid === injected)?.problems).toMatch(/name|latestMessage/);
    expect(uidsOf(pages)).toHaveLength(9);
    expect(uidsOf(pages)).not.toContain(broken);
  });

  it("reports an item that is not an object without a uid", async () => {
    const sim = await simulator({ conversations: 2 });
    sim.setRawConversation(sim.conversationUids[0] ?? "", "not a conversation");
    const { client } = clientFor(sim);

    const pages = await collect(client);

    expect(pages[0]?.malformed).toEqual([{ uid: undefined, page: 1, problems: expect.any(String) }]);
    expect(uidsOf(pages)).toHaveLength(1);
  });

  it("retries a body that is not JSON and returns the page once a valid one arrives", async () => {
    const sim = await simulator({ conversations: 3 });
    sim.failNext(1, { kind: "non-json" });
    const { client, sleeps } = clientFor(sim);

    const pages = await collect(client);

    expect(uidsOf(pages)).toHaveLength(3);
    expect(sim.requests).toHaveLength(2);
    expect(sleeps).toHaveLength(1);
  });

  it("throws RespondentBadResponseError naming the page when the body is never JSON", async () => {
    const sim = await simulator({ conversations: 3 });
    sim.failNext(4, { kind: "non-json" });
    const { client } = clientFor(sim, { maxRetries: 3 });

    const error = await failure(collect(client));

    expect(error).toBeInstanceOf(RespondentBadResponseError);
    expect(error.message).toContain("page 1: the body is not JSON (text/html)");
    expect(sim.requests).toHaveLength(4);
  });

  it("throws RespondentBadResponseError saying what is missing when the envelope breaks the contract", async () => {
    const sim = await simulator({ conversations: 3 });
    sim.failNext(2, { status: 200, body: '{"page":1,"pageSize":20}' });
    const { client } = clientFor(sim, { maxRetries: 1 });

    const error = await failure(collect(client));

    expect(error).toBeInstanceOf(RespondentBadResponseError);
    expect(error.message).toMatch(/page 1: .*results/);
  });
});

describe("RespondentApiClient: retries and failures", () => {
  it("waits the Retry-After seconds of a 429 before retrying", async () => {
    const sim = await simulator({ conversations: 3 });
    sim.failNext(1, { status: 429, retryAfter: "3" });
    const { client, sleeps } = clientFor(sim);

    const pages = await collect(client);

    expect(sleeps).toEqual([3_000]);
    expect(uidsOf(pages)).toHaveLength(3);
  });

  it("waits until the HTTP-date of a 429's Retry-After", async () => {
    const sim = await simulator({ conversations: 3 });
    sim.failNext(1, { status: 429, retryAfter: new Date(Date.now() + 5_000).toUTCString() });
    const { client, sleeps } = clientFor(sim);

    await collect(client);

    expect(sleeps).toHaveLength(1);
    expect(sleeps[0]).toBeGreaterThan(3_000);
    expect(sleeps[0]).toBeLessThanOrEqual(5_000);
  });

  it("cuts a Retry-After longer than maxRetryAfterSeconds to that maximum", async () => {
    const sim = await simulator({ conversations: 3 });
    sim.failNext(1, { status: 429, retryAfter: "600" });
    const { client, sleeps } = clientFor(sim, { maxRetryAfterSeconds: 30 });

    await collect(client);

    expect(sleeps).toEqual([30_000]);
  });

  it("backs off exponentially with full jitter when a 429 has no Retry-After", async () => {
    const sim = await simulator({ conversations: 3 });
    sim.failNext(3, { status: 429 });
    const { client, sleeps } = clientFor(sim, { random: () => 0.5, maxRetries: 3 });

    await collect(client);

    expect(sleeps).toEqual([125, 250, 500]);
  });

  it("never waits longer than the backoff cap", async () => {
    const sim = await simulator({ conversations: 3 });
    sim.failNext(8, { status: 500 });
    const { client, sleeps } = clientFor(sim, { random: () => 0.999, maxRetries: 8 });

    await collect(client);

    expect(Math.max(...sleeps)).toBeLessThan(8_000);
    expect(Math.max(...sleeps)).toBeGreaterThan(7_900);
  });

  it("retries a 5xx and returns the page once the server recovers", async () => {
    const sim = await simulator({ conversations: 3 });
    sim.failNext(1, { status: 502 });
    sim.failNext(1, { status: 500 });
    const { client } = clientFor(sim);

    const pages = await collect(client);

    expect(uidsOf(pages)).toHaveLength(3);
    expect(sim.requests.map((request) => request.status)).toEqual([502, 500, 200]);
  });

  it("gives up with RespondentUnavailableError after maxRetries when the 503s do not stop", async () => {
    const sim = await simulator({ conversations: 3 });
    sim.failNext(10, { status: 503 });
    const { client } = clientFor(sim, { maxRetries: 4 });

    const error = await failure(collect(client));

    expect(error).toBeInstanceOf(RespondentUnavailableError);
    expect(error.message).toMatch(/^Respondent API unavailable: 503 after 5 attempts/);
    expect((error as RespondentUnavailableError).retryable).toBe(true);
    expect(sim.requests).toHaveLength(5);
  });

  it("yields the pages before a page that fails, then throws", async () => {
    const sim = await simulator({ conversations: 30, pageSizeCap: 5 });
    sim.failNext(10, { status: 500 }, { page: 3 });
    const { client } = clientFor(sim, { maxRetries: 1 });

    const seen: number[] = [];
    const error = await failure(
      (async () => {
        for await (const page of client.listConversations({})) seen.push(page.page);
      })(),
    );

    expect(seen).toEqual([1, 2]);
    expect(error.message).toContain("500 after 2 attempts (page 3)");
  });

  it("rejects bad credentials with RespondentAuthError at once, naming RESPONDENT_API_KEY", async () => {
    const sim = await simulator({ conversations: 3 });
    const { client, sleeps } = clientFor(sim, {
      credentials: async () => ({ apiKey: "wrong-key", apiSecret: "wrong-secret" }),
    });

    const error = await failure(collect(client));

    expect(error).toBeInstanceOf(RespondentAuthError);
    expect((error as RespondentAuthError).status).toBe(401);
    expect(error.message).toContain("RESPONDENT_API_KEY");
    expect(sim.requests).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it("treats a 403 as rejected credentials too", async () => {
    const sim = await simulator({ conversations: 3 });
    sim.failNext(1, { status: 403 });
    const { client } = clientFor(sim);

    const error = await failure(collect(client));

    expect(error).toBeInstanceOf(RespondentAuthError);
    expect(sim.requests).toHaveLength(1);
  });

  it("answers a 404 with RespondentRequestRejectedError pointing at RESPONDENT_API_URL, without retry", async () => {
    const sim = await simulator({ conversations: 3 });
    const { client } = clientFor(sim, { baseUrl: `${sim.url}/not-the-api/` });

    const error = await failure(collect(client));

    expect(error).toBeInstanceOf(RespondentRequestRejectedError);
    expect(error.message).toContain("(404)");
    expect(error.message).toContain("RESPONDENT_API_URL");
    expect(sim.requests).toHaveLength(1);
  });

  it("answers a 400 with RespondentRequestRejectedError about the filter values, without retry", async () => {
    const sim = await simulator({ conversations: 3 });
    const { client } = clientFor(sim);

    const error = await failure(collect(client, { projectId: "not-an-object-id" }));

    expect(error).toBeInstanceOf(RespondentRequestRejectedError);
    expect(error.message).toContain("projectId / externalResearcherId");
    expect(sim.requests).toHaveLength(1);
  });

  it("abandons a request that never answers after timeoutMs and retries it", async () => {
    const sim = await simulator({ conversations: 3 });
    sim.failNext(1, { kind: "hang" });
    const { client } = clientFor(sim, { timeoutMs: 100 });

    const pages = await collect(client);

    expect(uidsOf(pages)).toHaveLength(3);
    expect(sim.requests).toHaveLength(2);
  });

  it("reports the timeout once every attempt has hung", async () => {
    const sim = await simulator({ conversations: 3 });
    sim.failNext(2, { kind: "hang" });
    const { client } = clientFor(sim, { timeoutMs: 100, maxRetries: 1 });

    const error = await failure(collect(client));

    expect(error).toBeInstanceOf(RespondentUnavailableError);
    expect(error.message).toBe("Respondent API unavailable: timed out after 100 ms (page 1, 2 attempts)");
  });

  it("reports a server it cannot reach with the address and the network error code", async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    const sim = await simulator({ conversations: 0 });
    const { client } = clientFor(sim, { baseUrl: `http://127.0.0.1:${port}`, maxRetries: 1 });

    const error = await failure(collect(client));

    expect(error).toBeInstanceOf(RespondentUnavailableError);
    expect(error.message).toBe(
      `Respondent API unavailable: cannot reach http://127.0.0.1:${port}: ECONNREFUSED (page 1, 2 attempts)`,
    );
  });
});

describe("RespondentApiClient: secrets", () => {
  it("never writes the API key or secret into an error message or a log line", async () => {
    const apiKey = "key-SENTINEL-7f3a9c";
    const apiSecret = "secret-SENTINEL-91be";
    const sim = await simulator({ conversations: 3, apiKey, apiSecret });
    const { log, lines } = recordingLog();
    const make = (overrides: Partial<RespondentApiClientOptions> = {}) =>
      clientFor(sim, { credentials: async () => ({ apiKey, apiSecret }), log, maxRetries: 1, ...overrides }).client;
    const messages: string[] = [];

    sim.failNext(2, { status: 500, body: `upstream saw x-api-key: ${apiKey} and secret ${apiSecret}` });
    messages.push((await failure(collect(make()))).message);
    sim.failNext(2, { status: 200, body: `<html>${apiSecret}</html>` });
    messages.push((await failure(collect(make()))).message);
    sim.failNext(2, { kind: "hang" });
    messages.push((await failure(collect(make({ timeoutMs: 50 })))).message);
    messages.push(
      (await failure(collect(make({ credentials: async () => ({ apiKey, apiSecret: "wrong-SENTINEL-secret" }) }))))
        .message,
    );
    await collect(make());

    const everything = [...messages, ...lines].join("\n");
    expect(lines.filter((line) => line.startsWith("warn"))).toHaveLength(3);
    expect(everything).toContain("[redacted]");
    expect(everything).not.toMatch(/SENTINEL/);
  });
});
