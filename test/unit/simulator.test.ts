import { afterEach, describe, expect, it } from "vitest";
import { conversationPageSchema, conversationSchema } from "../../src/domain/respondent.ts";
import {
  type RespondentSimulator,
  type RespondentSimulatorOptions,
  type SimulatorActivity,
  startRespondentSimulator,
} from "../../src/local/simulator.ts";

const running: RespondentSimulator[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((simulator) => simulator.close()));
});

async function simulator(options: RespondentSimulatorOptions = {}): Promise<RespondentSimulator> {
  const started = await startRespondentSimulator(options);
  running.push(started);
  return started;
}

type Json = Record<string, unknown> & { results: Array<Record<string, unknown>> };

async function get(
  sim: RespondentSimulator,
  query: Record<string, string> = {},
  headers: Record<string, string> = { "x-api-key": sim.apiKey, "x-api-secret": sim.apiSecret },
  path = "/v1/messaging/conversations",
): Promise<{ status: number; body: Json; headers: Headers }> {
  const response = await fetch(`${sim.url}${path}?${new URLSearchParams(query)}`, { headers });
  const text = await response.text();
  return { status: response.status, body: JSON.parse(text) as Json, headers: response.headers };
}

async function conversationByUid(sim: RespondentSimulator, uid: string) {
  const { body } = await get(sim, { pageSize: "50" });
  const found = body.results.find((item) => item.uid === uid);
  if (!found) throw new Error(`conversation ${uid} not served`);
  return conversationSchema.parse(found);
}

/** The required fields of conversations.openapi.yaml, per schema. */
const REQUIRED = {
  conversation: [
    "createdAt",
    "uid",
    "name",
    "deleted",
    "locked",
    "read",
    "user",
    "participants",
    "messages",
    "latestMessage",
    "messagesCount",
  ],
  messagingUser: ["uid", "firstName", "lastName"],
  participant: ["uid", "firstName", "lastName", "read", "deleted"],
  message: ["createdAt", "uid", "body", "sender"],
  latestMessage: ["createdAt", "uid", "body"],
};

describe("Respondent simulator: the contract", () => {
  it("serves every field the contract requires, in camelCase, with latestMessage carrying no sender", async () => {
    const sim = await simulator({ conversations: 5, messagesPerConversation: 4 });

    const { status, body } = await get(sim);

    expect(status).toBe(200);
    expect(conversationPageSchema.safeParse(body).success).toBe(true);
    expect(body.results).toHaveLength(5);
    for (const item of body.results) {
      expect(Object.keys(item)).toEqual(expect.arrayContaining(REQUIRED.conversation));
      expect(conversationSchema.safeParse(item).success).toBe(true);
      const conversation = conversationSchema.parse(item);
      expect(Object.keys(conversation.user)).toEqual(expect.arrayContaining(REQUIRED.messagingUser));
      for (const participant of conversation.participants) {
        expect(Object.keys(participant)).toEqual(expect.arrayContaining(REQUIRED.participant));
      }
      expect(conversation.messages).toHaveLength(4);
      for (const message of conversation.messages) {
        expect(Object.keys(message)).toEqual(expect.arrayContaining(REQUIRED.message));
      }
      expect(Object.keys(conversation.latestMessage)).toEqual(expect.arrayContaining(REQUIRED.latestMessage));
      expect(conversation.latestMessage).not.toHaveProperty("sender");
      expect(conversation.uid).toMatch(/^[0-9a-f]{24}$/);
      expect(conversation.metadata?.projectId).toMatch(/^[0-9a-f]{24}$/);
    }
  });

  it("makes our API account the user of every conversation and one of its two participants", async () => {
    const sim = await simulator({ conversations: 4 });

    const { body } = await get(sim);

    for (const item of body.results) {
      const conversation = conversationSchema.parse(item);
      expect(conversation.user).toEqual(sim.teamUser);
      expect(conversation.participants.map((participant) => participant.uid)).toContain(sim.teamUser.uid);
      expect(conversation.participants).toHaveLength(2);
      const senders = new Set(conversation.messages.map((message) => message.sender?.uid));
      const participantUid = conversation.participants.find((p) => p.uid !== sim.teamUser.uid)?.uid;
      expect([...senders].every((uid) => uid === sim.teamUser.uid || uid === participantUid)).toBe(true);
    }
  });

  it("sends totalResults only when includeCount=true", async () => {
    const sim = await simulator({ conversations: 5 });

    const counted = await get(sim, { includeCount: "true" });
    const plain = await get(sim);
    const explicitFalse = await get(sim, { includeCount: "false" });

    expect(counted.body.totalResults).toBe(5);
    expect(plain.body).not.toHaveProperty("totalResults");
    expect(explicitFalse.body).not.toHaveProperty("totalResults");
  });

  it("applies the smaller of the requested page size and its cap, and the contract's default of 20", async () => {
    const sim = await simulator({ conversations: 60, pageSizeCap: 50 });

    const byDefault = await get(sim);
    const capped = await get(sim, { pageSize: "100" });
    const small = await get(sim, { pageSize: "7", page: "2" });

    expect([byDefault.body.pageSize, byDefault.body.results.length]).toEqual([20, 20]);
    expect([capped.body.pageSize, capped.body.results.length]).toEqual([50, 50]);
    expect([small.body.page, small.body.pageSize, small.body.results.length]).toEqual([2, 7, 7]);
  });

  it("returns an empty results array for a page beyond the end", async () => {
    const sim = await simulator({ conversations: 5 });

    const { status, body } = await get(sim, { page: "3", pageSize: "5", includeCount: "true" });

    expect(status).toBe(200);
    expect(body).toEqual({ totalResults: 5, page: 3, pageSize: 5, results: [] });
  });

  it("answers 401 when x-api-key or x-api-secret is missing or wrong", async () => {
    const sim = await simulator({ apiKey: "k-123456", apiSecret: "s-123456" });

    const missing = await get(sim, {}, {});
    const wrongSecret = await get(sim, {}, { "x-api-key": "k-123456", "x-api-secret": "nope" });
    const right = await get(sim, {}, { "x-api-key": "k-123456", "x-api-secret": "s-123456" });

    expect(missing.status).toBe(401);
    expect(wrongSecret.status).toBe(401);
    expect(right.status).toBe(200);
  });

  it("answers 400 for a projectId that is not an ObjectId and 404 for any other path", async () => {
    const sim = await simulator();

    const badFilter = await get(sim, { projectId: "project-a" });
    const otherPath = await get(sim, {}, undefined, "/v1/conversations");

    expect(badFilter.status).toBe(400);
    expect(badFilter.body.message).toEqual(["projectId must be a mongodb id"]);
    expect(otherPath.status).toBe(404);
  });

  it("filters by projectId and by externalResearcherId, counting only the matches", async () => {
    const sim = await simulator({ conversations: 30, projects: 3 });
    const projectId = sim.projectIds[2] ?? "";

    const byProject = await get(sim, { projectId, pageSize: "50", includeCount: "true" });
    const byResearcher = await get(sim, { externalResearcherId: "researcher-1", pageSize: "50" });

    const projects = byProject.body.results.map((item) => conversationSchema.parse(item).metadata?.projectId);
    expect(projects.length).toBeGreaterThan(0);
    expect(byProject.body.totalResults).toBe(projects.length);
    expect(new Set(projects)).toEqual(new Set([projectId]));
    const researchers = byResearcher.body.results.map(
      (item) => conversationSchema.parse(item).metadata?.externalResearcherId,
    );
    expect(researchers.length).toBeGreaterThan(0);
    expect(new Set(researchers)).toEqual(new Set(["researcher-1"]));
  });

  it("records each request's page, size, filters and answer, without headers", async () => {
    const sim = await simulator();

    await get(sim, { page: "2", pageSize: "5", includeCount: "true", externalResearcherId: "researcher-2" });

    expect(sim.requests).toEqual([
      expect.objectContaining({
        page: 2,
        pageSize: 5,
        includeCount: true,
        projectId: undefined,
        externalResearcherId: "researcher-2",
        status: 200,
      }),
    ]);
    expect(JSON.stringify(sim.requests)).not.toContain(sim.apiSecret);
  });
});

describe("Respondent simulator: data", () => {
  it("builds the same conversations from the same seed, and other ones from another seed", async () => {
    const first = await simulator({ seed: 7 });
    const second = await simulator({ seed: 7 });
    const other = await simulator({ seed: 8 });

    const [a, b, c] = await Promise.all([get(first), get(second), get(other)]);

    expect(b.body).toEqual(a.body);
    expect(c.body).not.toEqual(a.body);
  });

  it("keeps history before the clock and identical across restarts at different times", async () => {
    const early = await simulator({ now: () => new Date("2026-03-01T00:00:00Z") });
    const later = await simulator({ now: () => new Date("2026-09-01T00:00:00Z") });

    const [a, b] = await Promise.all([get(early), get(later)]);

    expect(b.body).toEqual(a.body);
    const latestTimes = a.body.results.map((item) =>
      Date.parse(conversationSchema.parse(item).latestMessage.createdAt),
    );
    expect(Math.max(...latestTimes)).toBeLessThan(Date.parse("2026-03-01T00:00:00Z"));
  });

  it("with shuffled order keeps each page's members but changes their order between requests", async () => {
    const sim = await simulator({ conversations: 40, order: "shuffled" });
    const orders: string[][] = [];

    for (let i = 0; i < 5; i += 1) {
      const { body } = await get(sim, { page: "2", pageSize: "10" });
      orders.push(body.results.map((item) => String(item.uid)));
    }

    const stableOrder = sim.conversationUids.slice(10, 20);
    for (const order of orders) expect([...order].sort()).toEqual([...stableOrder].sort());
    expect(new Set(orders.map((order) => order.join())).size).toBeGreaterThan(1);
  });

  it("addMessage moves latestMessage and messagesCount, and our side's messages are sent by the team user", async () => {
    const clock = { now: new Date("2026-05-01T10:00:00.000Z") };
    const sim = await simulator({ conversations: 1, messagesPerConversation: 2, now: () => clock.now });
    const uid = sim.conversationUids[0] ?? "";

    const reply = sim.addMessage(uid, { from: "participant", body: "Yes, Thursday works 🙂" });
    clock.now = new Date("2026-05-01T10:05:00.000Z");
    const answer = sim.addMessage(uid, { from: "researcher" });
    const conversation = await conversationByUid(sim, uid);

    expect(conversation.messagesCount).toBe(4);
    expect(conversation.latestMessage).toEqual({
      uid: answer,
      createdAt: "2026-05-01T10:05:00.000Z",
      body: expect.any(String),
    });
    const replyMessage = conversation.messages.find((message) => message.uid === reply);
    expect(replyMessage?.body).toBe("Yes, Thursday works 🙂");
    expect(replyMessage?.createdAt).toBe("2026-05-01T10:00:00.000Z");
    expect(replyMessage?.sender?.uid).not.toBe(sim.teamUser.uid);
    expect(conversation.messages.find((message) => message.uid === answer)?.sender?.uid).toBe(sim.teamUser.uid);
  });

  it("gives messages created in the same instant uids that sort in creation order", async () => {
    const frozen = new Date("2026-05-01T10:00:00.000Z");
    const sim = await simulator({ conversations: 1, now: () => frozen });
    const uid = sim.conversationUids[0] ?? "";

    const uids = [1, 2, 3].map(() => sim.addMessage(uid, { from: "participant" }));

    expect([...uids].sort()).toEqual(uids);
    expect((await conversationByUid(sim, uid)).latestMessage.uid).toBe(uids[2]);
  });

  it("serves a message added with senderOmitted without any sender", async () => {
    const sim = await simulator({ conversations: 1 });
    const uid = sim.conversationUids[0] ?? "";

    const messageUid = sim.addMessage(uid, { from: "participant", senderOmitted: true });
    const { body } = await get(sim);

    const messages = body.results[0]?.messages as Array<Record<string, unknown>>;
    expect(messages.find((message) => message.uid === messageUid)).not.toHaveProperty("sender");
  });

  it("addConversation opens a conversation in the given project with one message from our side", async () => {
    const sim = await simulator({ conversations: 0 });
    const projectId = sim.projectIds[1] ?? "";

    const uid = sim.addConversation({ projectId, participant: { firstName: "Mei", lastName: "L" } });
    const conversation = await conversationByUid(sim, uid);

    expect(sim.conversationUids).toEqual([uid]);
    expect(conversation.metadata?.projectId).toBe(projectId);
    expect(conversation.name).toContain("Mei L.");
    expect(conversation.messages).toHaveLength(1);
    expect(conversation.messages[0]?.sender?.uid).toBe(sim.teamUser.uid);
  });

  it("deleteConversation marks a conversation deleted, and with remove drops it from the listing", async () => {
    const sim = await simulator({ conversations: 3 });
    const [flagged, removed] = sim.conversationUids;

    sim.deleteConversation(flagged ?? "");
    sim.deleteConversation(removed ?? "", { remove: true });
    const { body } = await get(sim, { includeCount: "true" });

    expect(body.totalResults).toBe(2);
    expect(body.results.find((item) => item.uid === flagged)?.deleted).toBe(true);
    expect(body.results.map((item) => item.uid)).not.toContain(removed);
  });

  it("serves raw and malformed items in place of valid conversations", async () => {
    const sim = await simulator({ conversations: 2 });
    const raw = sim.conversationUids[0] ?? "";

    sim.setRawConversation(raw, { uid: raw, anything: true });
    const malformed = sim.injectMalformed();
    const { body } = await get(sim);

    expect(body.results[0]).toEqual({ uid: raw, anything: true });
    const injected = body.results.find((item) => item.uid === malformed);
    expect(injected).toBeDefined();
    expect(conversationSchema.safeParse(injected).success).toBe(false);
    expect(conversationSchema.safeParse(body.results[1]).success).toBe(true);
  });

  it("holds 50,000 conversations of 4 messages in well under 150 MB and still serves pages", async () => {
    const before = process.memoryUsage().heapUsed;
    const sim = await simulator({ conversations: 50_000, messagesPerConversation: 4, projects: 20 });
    const grownMb = (process.memoryUsage().heapUsed - before) / 1_000_000;

    const { body } = await get(sim, { page: "1000", pageSize: "50", includeCount: "true" });

    expect(grownMb).toBeLessThan(100);
    expect(body.totalResults).toBe(50_000);
    expect(body.results).toHaveLength(50);
  });
});

describe("Respondent simulator: faults and activity", () => {
  it("answers the next requests with the queued status, Retry-After and body, then recovers", async () => {
    const sim = await simulator();
    sim.failNext(2, { status: 429, retryAfter: "2", body: "slow down" });

    const first = await fetch(`${sim.url}/v1/messaging/conversations`);
    const second = await fetch(`${sim.url}/v1/messaging/conversations`);
    const third = await get(sim);

    expect([first.status, first.headers.get("retry-after"), await first.text()]).toEqual([429, "2", "slow down"]);
    expect(second.status).toBe(429);
    await second.text();
    expect(third.status).toBe(200);
  });

  it("applies a fault only to the requested page when asked", async () => {
    const sim = await simulator({ conversations: 10 });
    sim.failNext(1, { status: 503 }, { page: 2 });

    const page1 = await get(sim, { page: "1", pageSize: "5" });
    const page2 = await get(sim, { page: "2", pageSize: "5" });
    const page2Again = await get(sim, { page: "2", pageSize: "5" });

    expect([page1.status, page2.status, page2Again.status]).toEqual([200, 503, 200]);
  });

  it("serves an HTML body for a non-json fault", async () => {
    const sim = await simulator();
    sim.failNext(1, { kind: "non-json" });

    const response = await fetch(`${sim.url}/v1/messaging/conversations`);

    expect(response.headers.get("content-type")).toBe("text/html");
    expect(await response.text()).toMatch(/^<html>/);
  });

  it("never answers a hang fault, and close() still ends at once", async () => {
    const sim = await simulator();
    sim.failNext(1, { kind: "hang" });

    const outcome = await fetch(`${sim.url}/v1/messaging/conversations`, { signal: AbortSignal.timeout(100) }).then(
      () => "answered",
      (error: Error) => error.name,
    );
    const startedClosing = Date.now();
    await sim.close();

    expect(outcome).toBe("TimeoutError");
    expect(sim.requests[0]?.status).toBeUndefined();
    expect(Date.now() - startedClosing).toBeLessThan(1_000);
  });

  it("simulateReplies gives distinct conversations one participant reply each at the clock's time", async () => {
    const now = new Date("2026-06-01T12:00:00.000Z");
    const sim = await simulator({ conversations: 6, now: () => now });

    const replied = sim.simulateReplies(3);
    const { body } = await get(sim);

    const conversations = body.results.map((item) => conversationSchema.parse(item));
    const fresh = conversations.filter((c) => c.latestMessage.createdAt === now.toISOString());
    expect(replied).toBe(3);
    expect(fresh).toHaveLength(3);
    for (const conversation of fresh) {
      const latest = conversation.messages.find((message) => message.uid === conversation.latestMessage.uid);
      expect(latest?.sender?.uid).not.toBe(sim.teamUser.uid);
    }
  });

  it("auto replies keep participants and our side writing and open conversations until stopped", async () => {
    const sim = await simulator({ conversations: 3 });
    const activity: SimulatorActivity[] = [];

    const stop = sim.startAutoReplies({ everyMs: 1, newConversationChance: 0.2, onActivity: (a) => activity.push(a) });
    const deadline = Date.now() + 2_000;
    const seen = () => new Set(activity.map((a) => (a.kind === "message" ? a.from : a.kind)));
    while (seen().size < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    stop();
    const countAtStop = activity.length;
    await new Promise((resolve) => setTimeout(resolve, 20));

    expect(seen()).toEqual(new Set(["participant", "researcher", "conversation"]));
    expect(activity.length).toBe(countAtStop);
    const { body } = await get(sim, { includeCount: "true" });
    expect(body.totalResults).toBe(3 + activity.filter((a) => a.kind === "conversation").length);
  });
});
