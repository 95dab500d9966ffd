import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { composeHttpRoutes, subscriptionStore } from "../../src/app/compose.ts";
import { subscriptionSchema } from "../../src/domain/subscriptions.ts";
import { signWebhookBody, WEBHOOK_SIGNATURE_HEADER } from "../../src/domain/webhook-signature.ts";
import { RESPONDENT_WEBHOOK_PATH } from "../../src/http/respondent-webhook.ts";
import { type HttpServer, serveRoutes } from "../../src/http/server.ts";
import { SLACK_EVENTS_PATH } from "../../src/http/slack-events.ts";
import { type FakeSlack, startFakeSlack } from "../../src/local/fake-slack.ts";
import { type RespondentSimulator, startRespondentSimulator } from "../../src/local/simulator.ts";
import { createTestPlatform, type TestPlatform, takeQueuedEvents } from "../support/platform.ts";

const TOKEN = "xoxb-http-routes-test";
const CHANNEL = "C0HTTPROUTE";

/**
 * composeHttpRoutes is what `start` and the http Lambda serve: with a queue it answers Respondent's
 * webhook too, its signature checked with the platform's webhook secret.
 */
describe("composeHttpRoutes: one server for Slack's requests and Respondent's webhook", () => {
  let simulator: RespondentSimulator;
  let slack: FakeSlack;
  let platform: TestPlatform;
  let server: HttpServer;
  let secret: string | undefined;

  beforeAll(async () => {
    simulator = await startRespondentSimulator({ conversations: 3 });
    slack = await startFakeSlack({ token: TOKEN, channels: [CHANNEL] });
    platform = await createTestPlatform({
      prefix: "http-routes",
      respondent: { url: simulator.url, apiKey: simulator.apiKey, apiSecret: simulator.apiSecret },
      slack: { url: slack.url, token: TOKEN },
    });
    await subscriptionStore(platform).add(
      subscriptionSchema.parse({ projectId: "*", channelId: CHANNEL, createdAt: new Date().toISOString() }),
    );
    const respondent = platform.respondent;
    if (!respondent) throw new Error("the test platform has no Respondent client");
    const withWebhookSecret = { ...platform, respondent: { ...respondent, webhookSecret: async () => secret } };
    server = await serveRoutes({ port: 0, routes: composeHttpRoutes(withWebhookSecret), log: platform.log });
    secret = simulator.registerWebhook(`${server.url}${RESPONDENT_WEBHOOK_PATH}`).privateKey;
  });
  afterAll(async () => {
    await server?.close();
    await platform?.close();
    await simulator?.close();
    await slack?.close();
  });

  it("a signed webhook delivery for a new reply is answered 202 and queues that reply's event", async () => {
    const conversationUid = simulator.addConversation({ projectId: simulator.projectIds[0] ?? "" });
    const messageUid = simulator.addMessage(conversationUid, { from: "participant", body: "via the webhook" });
    await simulator.webhooksSettled();
    await server.idle();

    const delivery = simulator.webhookDeliveries.find((candidate) => candidate.messageUid === messageUid);
    expect(delivery?.status).toBe(202);
    const events = await takeQueuedEvents(platform);
    expect(events.map((event) => event.message.uid)).toContain(messageUid);
  });

  it("refuses a forged webhook delivery with 401, and serves Slack's route beside it (unsigned: 401)", async () => {
    const forged = await fetch(`${server.url}${RESPONDENT_WEBHOOK_PATH}`, {
      method: "POST",
      headers: { "content-type": "application/json", [WEBHOOK_SIGNATURE_HEADER]: signWebhookBody("{}", "wrong-key") },
      body: JSON.stringify({ event: "MESSAGES.CREATED", uuid: "forged", payload: { resource: {} } }),
    });
    expect(forged.status).toBe(401);

    const slackUnsigned = await fetch(`${server.url}${SLACK_EVENTS_PATH}`, { method: "POST", body: "payload=%7B%7D" });
    expect(slackUnsigned.status).toBe(401);
  });
});
