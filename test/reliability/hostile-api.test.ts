import { afterAll, describe, expect, inject, it } from "vitest";
import { createDynamoDbClient } from "../../src/adapters/dynamo/client.ts";
import { createSqsClient } from "../../src/adapters/sqs-queue.ts";
import { MAX_EVENT_BODY_CHARS } from "../../src/domain/events.ts";
import {
  conversationItem,
  type MessageSpec,
  minutesAfterStart,
  pollHostileApi,
  refOf,
  subscriptionFor,
} from "../support/reliability/hostile.ts";

const raw = createDynamoDbClient({ tableName: "unused", region: "us-east-1", endpoint: inject("dynamodbEndpoint") });
const rawSqs = createSqsClient({ region: "us-east-1", endpoint: inject("sqsEndpoint") });
const clients = { dynamo: raw, sqs: rawSqs };
afterAll(() => raw.destroy());

const PROJECT_A = "64b7f0c2e4b0a1b2c3d4e5a1";
const PROJECT_B = "64b7f0c2e4b0a1b2c3d4e5b2";
const CHANNEL = "C0HOSTILE01";

/** A conversation with one new participant reply: what "the others are processed" is measured by. */
const healthy = (uid: string, projectId = PROJECT_A) =>
  conversationItem(uid, projectId, [{ uid: `${uid}-m1`, createdAt: minutesAfterStart(5) }]);

const forProject = (items: Record<string, unknown[]>) => (projectId: string | undefined) =>
  structuredClone(items[projectId ?? "*"] ?? []);

describe("hostile and broken answers from the Respondent API, through the real HTTP client", () => {
  it("skips a page whose body is not JSON with an error naming the page, counts it, and still processes the pages before it and the other projects", async () => {
    const outcome = await pollHostileApi(clients, {
      listing: forProject({
        [PROJECT_A]: [healthy("a1"), healthy("a2"), healthy("a3")],
        [PROJECT_B]: [healthy("b1", PROJECT_B)],
      }),
      subscriptions: [subscriptionFor(PROJECT_A, CHANNEL), subscriptionFor(PROJECT_B, CHANNEL)],
      pageCap: 2,
      intercept: (request) =>
        request.projectId === PROJECT_A && request.page === 2
          ? { body: "<html><body>502 Bad Gateway</body></html>", contentType: "text/html" }
          : undefined,
    });

    const [report] = outcome.reports;
    expect(report?.failures).toEqual([expect.objectContaining({ scope: PROJECT_A, retryable: true })]);
    expect(report?.failures[0]?.reason).toMatch(/page 2: the body is not JSON \(text\/html\)/);
    expect(outcome.log.matching(/^error could not list conversations .*page 2: the body is not JSON/)).toHaveLength(1);
    expect(outcome.metrics.get("PollFailures")).toBe(1);
    expect(outcome.posts.map(refOf).sort()).toEqual(["a1-m1", "a2-m1", "b1-m1"]);
  });

  it("skips conversations with wrong types or missing required fields with a warning naming the field, counts them, and alerts the rest of the page", async () => {
    const wrongTypes = { ...healthy("bad-types"), name: 42, deleted: "no" };
    const { latestMessage: _latest, ...missingLatest } = healthy("no-latest");
    const { user: _user, ...missingUser } = healthy("no-user");
    const badMessage = healthy("bad-message") as { messages: Array<Record<string, unknown>> };
    badMessage.messages = [{ body: "a message without uid or createdAt" }];
    const outcome = await pollHostileApi(clients, {
      listing: forProject({
        [PROJECT_A]: [
          healthy("ok-1"),
          wrongTypes,
          missingLatest,
          missingUser,
          badMessage,
          "not an object",
          healthy("ok-2"),
        ],
      }),
      subscriptions: [subscriptionFor(PROJECT_A, CHANNEL)],
    });

    const [report] = outcome.reports;
    expect(report?.malformedConversations).toBe(5);
    expect(outcome.metrics.get("ConversationsMalformed")).toBe(5);
    const warnings = outcome.log.matching(/^warn skipped a malformed conversation/);
    expect(warnings).toHaveLength(5);
    expect(warnings.find((line) => !line.includes("conversationUid"))).toMatch(/\(root\): .*expected object/);
    expect(warnings.find((line) => line.includes('"bad-types"'))).toMatch(
      /name: .*expected string.*deleted: .*expected boolean/s,
    );
    expect(warnings.find((line) => line.includes('"no-latest"'))).toMatch(/latestMessage/);
    expect(warnings.find((line) => line.includes('"no-user"'))).toMatch(/user/);
    expect(warnings.find((line) => line.includes('"bad-message"'))).toMatch(
      /messages\.0\.uid.*messages\.0\.createdAt|messages\.0\.createdAt.*messages\.0\.uid/,
    );
    expect(report?.failures).toEqual([]);
    expect(outcome.posts.map(refOf).sort()).toEqual(["ok-1-m1", "ok-2-m1"]);
  });

  it("treats a page without `results` as an unusable answer, says why, and carries on with the next project", async () => {
    const outcome = await pollHostileApi(clients, {
      listing: forProject({ [PROJECT_A]: [healthy("a1")], [PROJECT_B]: [healthy("b1", PROJECT_B)] }),
      subscriptions: [subscriptionFor(PROJECT_A, CHANNEL), subscriptionFor(PROJECT_B, CHANNEL)],
      intercept: (request) =>
        request.projectId === PROJECT_A ? { body: JSON.stringify({ page: 1, pageSize: 100, data: [] }) } : undefined,
    });

    expect(outcome.reports[0]?.failures[0]?.reason).toMatch(
      /page 1: the body is not a page of conversations \(results: /,
    );
    expect(outcome.log.matching(/^error could not list conversations/)).toHaveLength(1);
    expect(outcome.metrics.get("PollFailures")).toBe(1);
    expect(outcome.posts.map(refOf)).toEqual(["b1-m1"]);
  });

  it("processes a huge page (a server that ignores the page size cap) in full, alerting only its new replies", async () => {
    const old = (index: number) =>
      conversationItem(`old-${index}`, PROJECT_A, [{ uid: `old-${index}-m1`, createdAt: "2026-02-01T00:00:00.000Z" }]);
    const items = Array.from({ length: 1_000 }, (_, index) =>
      index % 333 === 7 ? healthy(`new-${index}`) : old(index),
    );
    const outcome = await pollHostileApi(clients, {
      listing: forProject({ [PROJECT_A]: items }),
      subscriptions: [subscriptionFor(PROJECT_A, CHANNEL)],
      pageCap: 1_000,
    });

    const [report] = outcome.reports;
    expect(report?.conversationsScanned).toBe(1_000);
    expect(outcome.metrics.get("ConversationsScanned")).toBe(1_000);
    expect(report?.failures).toEqual([]);
    // Different conversations are delivered at the same time: their order among each other is not kept.
    expect(outcome.posts.map(refOf).sort()).toEqual(["new-340-m1", "new-673-m1", "new-7-m1"]);
  }, 60_000);

  it("alerts only the new replies of a conversation with 10,000 messages, in order, and nothing on the next poll", async () => {
    const messages: MessageSpec[] = Array.from({ length: 9_998 }, (_, index) => ({
      uid: `h${index}`,
      createdAt: new Date(Date.parse("2026-01-01T00:00:00.000Z") + index * 60_000).toISOString(),
      from: index % 2 === 0 ? "participant" : "team",
    }));
    messages.push({ uid: "new-1", createdAt: minutesAfterStart(1) }, { uid: "new-2", createdAt: minutesAfterStart(2) });
    const outcome = await pollHostileApi(clients, {
      listing: forProject({ [PROJECT_A]: [conversationItem("busy", PROJECT_A, messages)] }),
      subscriptions: [subscriptionFor(PROJECT_A, CHANNEL)],
      polls: 2,
    });

    expect(outcome.reports.map((report) => report.newReplies)).toEqual([2, 0]);
    expect(outcome.metrics.get("NewReplies")).toBe(2);
    expect(outcome.posts.map(refOf)).toEqual(["new-1", "new-2"]);
    expect(Math.max(...outcome.pollMs)).toBeLessThan(5_000);
  }, 30_000);

  it("alerts a 1 MB reply cut to a bounded size with a visible marker, within Slack's limits", async () => {
    const huge = `ref big-1: ${"Long answer 😀 with émojis and text. ".repeat(28_000)}`;
    expect(huge.length).toBeGreaterThan(1_000_000);
    const outcome = await pollHostileApi(clients, {
      listing: forProject({
        [PROJECT_A]: [
          conversationItem("big", PROJECT_A, [{ uid: "big-1", createdAt: minutesAfterStart(1), body: huge }]),
          healthy("a2"),
        ],
      }),
      subscriptions: [subscriptionFor(PROJECT_A, CHANNEL)],
    });

    const [event] = outcome.queued;
    expect(event?.message.bodyTruncated).toBe(true);
    expect(Array.from(event?.message.body ?? "")).toHaveLength(MAX_EVENT_BODY_CHARS);
    expect(JSON.stringify(event).length).toBeLessThan(40_000);
    expect(outcome.posts.map(refOf).sort()).toEqual(["a2-m1", "big-1"]);
    const post = outcome.posts.find((each) => refOf(each) === "big-1");
    expect(JSON.stringify(post?.blocks)).toContain("… (truncated)");
    // No emoji is cut in half anywhere (a lone surrogate would be a broken character).
    expect(JSON.stringify(post)).not.toMatch(/\\ud[89ab][0-9a-f]{2}(?!\\ud[c-f])/i);
  }, 30_000);

  it("keeps unicode, emoji sequences and right-to-left text intact from the API to Slack", async () => {
    const text = "ref u-1: Zoë 👨‍👩‍👧 🇯🇵 日本語です مرحبا בעברית Приве́т e\u0301";
    const outcome = await pollHostileApi(clients, {
      listing: forProject({
        [PROJECT_A]: [
          conversationItem("uni", PROJECT_A, [{ uid: "u-1", createdAt: minutesAfterStart(1), body: text }], {
            firstName: "Zoë",
            lastName: "Ñúñez",
          }),
        ],
      }),
      subscriptions: [subscriptionFor(PROJECT_A, CHANNEL)],
    });

    const [post] = outcome.posts;
    expect(post?.text).toContain(text);
    expect(JSON.stringify(post?.blocks)).toContain(JSON.stringify(text).slice(1, -1));
    expect(post?.text).toContain("Zoë Ñ.");
  });

  it("handles a conversation listed on two pages (and a message listed twice) once, with a warning and a metric", async () => {
    const twice = conversationItem("twice", PROJECT_A, [
      { uid: "t-1", createdAt: minutesAfterStart(1) },
      { uid: "t-1", createdAt: minutesAfterStart(1) },
    ]);
    const outcome = await pollHostileApi(clients, {
      listing: forProject({ [PROJECT_A]: [twice, healthy("a2"), twice, healthy("a4")] }),
      subscriptions: [subscriptionFor(PROJECT_A, CHANNEL)],
      pageCap: 2,
    });

    expect(outcome.reports[0]?.duplicateConversations).toBe(1);
    expect(outcome.metrics.get("DuplicateConversations")).toBe(1);
    expect(outcome.log.matching(/^warn conversation listed twice in one poll; handled once .*"twice"/)).toHaveLength(1);
    expect(outcome.posts.map(refOf).sort()).toEqual(["a2-m1", "a4-m1", "t-1"]);
  });

  it("stops cleanly at the real end when the server overstates totalResults, asking for pages beyond the end only as far as the first empty one", async () => {
    const items = [healthy("a1"), healthy("a2"), healthy("a3")];
    const outcome = await pollHostileApi(clients, {
      listing: forProject({ [PROJECT_A]: items }),
      subscriptions: [subscriptionFor(PROJECT_A, CHANNEL)],
      pageCap: 1,
      intercept: (request) => {
        const item = items[request.page - 1];
        const body = { totalResults: 50, page: request.page, pageSize: 1, results: item ? [item] : [] };
        return { body: JSON.stringify(body) };
      },
    });

    expect(outcome.reports[0]?.failures).toEqual([]);
    expect(outcome.posts.map(refOf).sort()).toEqual(["a1-m1", "a2-m1", "a3-m1"]);
    // Pages 1-3 exist; page 4 is empty and ends the walk; at most one more was already in flight.
    expect(Math.max(...outcome.requests.map((request) => request.page))).toBeLessThanOrEqual(5);
  });

  it("refuses a server that answers a page beyond the end with page 1 again, instead of walking forever", async () => {
    const outcome = await pollHostileApi(clients, {
      listing: forProject({ [PROJECT_A]: [healthy("a1")] }),
      subscriptions: [subscriptionFor(PROJECT_A, CHANNEL)],
      pageCap: 1,
      includeTotal: false,
      intercept: (request) =>
        request.page > 1 ? { body: JSON.stringify({ page: 1, pageSize: 1, results: [healthy("a1")] }) } : undefined,
    });

    expect(outcome.reports[0]?.failures[0]?.reason).toMatch(/page 2: the response says it is page 1/);
    expect(outcome.metrics.get("PollFailures")).toBe(1);
    expect(outcome.log.matching(/^error could not list conversations/)).toHaveLength(1);
    expect(outcome.posts.map(refOf)).toEqual(["a1-m1"]);
    expect(outcome.requests.length).toBeLessThan(5);
  });
});
