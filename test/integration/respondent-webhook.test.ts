import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { composeNotifier, deliveryQueue, respondentWebhook, subscriptionStore } from "../../src/app/compose.ts";
import { subscriptionSchema } from "../../src/domain/subscriptions.ts";
import { signWebhookBody, WEBHOOK_SIGNATURE_HEADER } from "../../src/domain/webhook-signature.ts";
import { RESPONDENT_WEBHOOK_PATH } from "../../src/http/respondent-webhook.ts";
import { type HttpServer, serveRoutes } from "../../src/http/server.ts";
import { type FakeSlack, startFakeSlack } from "../../src/local/fake-slack.ts";
import { type RespondentSimulator, startRespondentSimulator } from "../../src/local/simulator.ts";
import type { Log } from "../../src/ports.ts";
import { drainQueue } from "../../src/usecases/deliver.ts";
import { createTestPlatform, type TestPlatform, takeQueuedEvents } from "../support/platform.ts";

const TOKEN = "xoxb-webhook-route-test";
const CHANNEL = "C0WEBHOOK01";

describe("POST /respondent/webhook served by serveRoutes, with the simulator delivering to it", () => {
  let simulator: RespondentSimulator;
  let slack: FakeSlack;
  let platform: TestPlatform;
  let server: HttpServer;
  let secret: string | undefined;
  let logLines: string[];
  /** While set, the route's clock stands still: every hint then falls in one read window. */
  let frozen: Date | undefined;
  const log: Log = {
    debug() {},
    info: (message, attributes) => logLines.push(`info ${message} ${JSON.stringify(attributes ?? {})}`),
    warn: (message, attributes) => logLines.push(`warn ${message} ${JSON.stringify(attributes ?? {})}`),
    error: (message, attributes) => logLines.push(`error ${message} ${JSON.stringify(attributes ?? {})}`),
  };
  const conversationReads = (uid: string) =>
    simulator.requests.filter((request) => request.path === `/v1/messaging/conversations/${uid}`).length;
  const settle = async () => {
    await simulator.webhooksSettled();
    await server.idle();
  };
  const post = (body: string, signature?: string) =>
    fetch(`${server.url}${RESPONDENT_WEBHOOK_PATH}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(signature ? { [WEBHOOK_SIGNATURE_HEADER]: signature } : {}) },
      body,
    });
  const envelope = (conversationId: string, uuid: string) =>
    JSON.stringify({
      event: "MESSAGES.CREATED",
      uuid,
      created: new Date().toISOString(),
      payload: { resource: { conversationId, messageId: "x", messageBody: "fake", senderType: "PARTICIPANT" } },
    });

  beforeAll(async () => {
    simulator = await startRespondentSimulator({ conversations: 5 });
    slack = await startFakeSlack({ token: TOKEN, channels: [CHANNEL] });
  });
  afterAll(async () => {
    await simulator.close();
    await slack.close();
  });

  beforeEach(async () => {
    logLines = [];
    frozen = undefined;
    platform = await createTestPlatform({
      clock: { now: () => frozen ?? new Date() },
      prefix: "webhook",
      respondent: { url: simulator.url, apiKey: simulator.apiKey, apiSecret: simulator.apiSecret },
      slack: { url: slack.url, token: TOKEN },
      log,
    });
    await subscriptionStore(platform).add(
      subscriptionSchema.parse({ projectId: "*", channelId: CHANNEL, createdAt: new Date().toISOString() }),
    );
    // A short read window keeps the debounce test quick.
    const route = respondentWebhook(platform, { secret: async () => secret, readWindowMs: 400 });
    server = await serveRoutes({ port: 0, routes: [route], log });
    secret = simulator.registerWebhook(`${server.url}${RESPONDENT_WEBHOOK_PATH}`).privateKey;
    slack.reset();
    return async () => {
      await server.close();
      await platform.close();
    };
  });

  it("a signed hint for a new reply queues its event, which the notifier posts once; a repeated delivery reads nothing", async () => {
    const conversationUid = simulator.addConversation({ projectId: simulator.projectIds[0] ?? "" });
    const messageUid = simulator.addMessage(conversationUid, { from: "participant", body: "hinted reply" });
    await settle();

    const delivery = simulator.webhookDeliveries.find((candidate) => candidate.messageUid === messageUid);
    expect(delivery?.status).toBe(202);
    expect(conversationReads(conversationUid)).toBe(1);
    expect(logLines.some((line) => line.includes("webhook signature matched") && line.includes("raw body"))).toBe(true);

    const { pending } = await drainQueue(deliveryQueue(platform), composeNotifier(platform), {
      waitUntil: Date.now() + 10_000,
    });
    expect(pending).toBe(0);
    const alerts = slack.posts.filter((posted) => posted.channel === CHANNEL);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]?.text).toContain("hinted reply");

    // The same delivery again (Respondent retries): 200, no read, nothing queued.
    const again = await simulator.deliverWebhook(conversationUid, messageUid, { uuid: delivery?.uuid ?? "" });
    await settle();
    expect(again.status).toBe(200);
    expect(conversationReads(conversationUid)).toBe(1);
    expect(await deliveryQueue(platform).pendingCount()).toBe(0);
  });

  it("refuses a delivery whose signature does not match with 401, reads nothing, and accepts a match over re-serialised JSON", async () => {
    const conversationUid = simulator.conversationUids[0] ?? "";
    const forged = await post(envelope(conversationUid, "forged-1"), signWebhookBody("{}", "not-the-key"));
    expect(forged.status).toBe(401);
    const unsigned = await post(envelope(conversationUid, "forged-2"));
    expect(unsigned.status).toBe(401);
    await settle();
    expect(conversationReads(conversationUid)).toBe(0);

    const body = envelope(conversationUid, "pretty-1");
    const pretty = JSON.stringify(JSON.parse(body), null, 2);
    const accepted = await post(pretty, signWebhookBody(body, secret ?? ""));
    await settle();
    expect(accepted.status).toBe(202);
    expect(logLines.some((line) => line.includes("re-serialised JSON"))).toBe(true);
  });

  it("a flood of hints for one conversation within a read window costs one read, and alerts nothing that is not new", async () => {
    const conversationUid = simulator.conversationUids[1] ?? "";
    frozen = new Date();
    const flood = (from: number, count: number) =>
      Promise.all(
        Array.from({ length: count }, (_, index) => {
          const body = envelope(conversationUid, `flood-${from + index}`);
          return post(body, signWebhookBody(body, secret ?? ""));
        }),
      );
    const answers = await flood(0, 10);
    await settle();
    expect(answers.map((answer) => answer.status)).toEqual(Array(10).fill(202));
    expect(conversationReads(conversationUid)).toBe(1);

    // Once the window is over, the next hint reads again: one more read, not ten.
    frozen = new Date(frozen.getTime() + 1_000);
    await flood(10, 10);
    await settle();
    expect(conversationReads(conversationUid)).toBe(2);
    // History older than the subscription never alerts, whatever the hint says.
    expect(await takeQueuedEvents(platform)).toEqual([]);
  });

  it("answers 200 to other events and 400 to what is not a delivery, without reading anything", async () => {
    const before = simulator.requests.length;
    const other = JSON.stringify({ event: "PROJECTS.UPDATED", uuid: "p-1", payload: { resource: {} } });
    expect((await post(other, signWebhookBody(other, secret ?? ""))).status).toBe(200);
    const junk = "not json";
    expect((await post(junk, signWebhookBody(junk, secret ?? ""))).status).toBe(400);
    await settle();
    expect(simulator.requests.length).toBe(before);
  });
});
