import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { Context } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeAll, describe, expect, inject, it, vi } from "vitest";
import { composePoller, subscriptionStore } from "../../src/app/compose.ts";
import { type RespondentSimulator, startRespondentSimulator } from "../../src/local/simulator.ts";
import type { PollLease } from "../../src/ports.ts";
import { SINGLE_POLL_LEASE_MS } from "../../src/usecases/poll-lease.ts";
import { lambdaContext, pollerLambdaEnv } from "../support/lambda.ts";
import { createTestPlatform, type TestPlatform } from "../support/platform.ts";
import { subscriptionFor } from "../support/reliability/hostile.ts";

/**
 * The real poller Lambda handler against DynamoDB Local, the SQS emulator and the simulator
 * (Secrets Manager mocked at the SDK boundary): with no reserved concurrency, a tick that
 * overlaps another finds the poll lease taken and returns without listing anything.
 */

const API = { apiKey: "lease-lambda-key-41c2", apiSecret: "lease-lambda-secret-9d07" };
const SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:RespondentNotifierSecret-AbCdEf";

const contextFor = (awsRequestId: string) =>
  lambdaContext({ functionName: "respondent-notifier-poller", awsRequestId, memoryMb: 512 });

describe("the poller Lambda and the poll lease", () => {
  const secretsManager = mockClient(SecretsManagerClient);
  let platform: TestPlatform;
  let simulator: RespondentSimulator;
  let lease: PollLease;
  const listings = () => simulator.requests.filter((request) => request.path === "/v1/messaging/conversations").length;

  beforeAll(async () => {
    simulator = await startRespondentSimulator({ ...API, conversations: 3 });
    platform = await createTestPlatform({ prefix: "lease-lambda", respondent: { url: simulator.url, ...API } });
    await subscriptionStore(platform).add({
      ...subscriptionFor(simulator.projectIds[0] ?? "", "C0LEASELMB1"),
      createdAt: new Date().toISOString(),
    });
    const found = composePoller(platform).lease;
    if (!found) throw new Error("composePoller gave no lease");
    lease = found;
    // The stack's one secret, read by the poller for its own fields.
    secretsManager.on(GetSecretValueCommand, { SecretId: SECRET_ARN }).resolves({
      SecretString: JSON.stringify({ ...API, botToken: "xoxb-lease-lambda", signingSecret: "", webhookSecret: "" }),
    });
    for (const [name, value] of Object.entries(
      pollerLambdaEnv({
        secretArn: SECRET_ARN,
        queueUrl: platform.queueUrls.queueUrl,
        tableName: platform.tableName,
        respondentUrl: simulator.url,
        dynamodbEndpoint: inject("dynamodbEndpoint"),
        sqsEndpoint: inject("sqsEndpoint"),
        pollIntervalSeconds: 60,
      }),
    )) {
      vi.stubEnv(name, value);
    }
  });

  afterAll(async () => {
    vi.unstubAllEnvs();
    secretsManager.restore();
    await platform?.close();
    await simulator?.close();
  });

  it("an overlapping tick skips without listing; once the other tick's lease is over, a tick polls and holds it 40 s", async () => {
    vi.resetModules();
    const { handler } = (await import("../../lambdas/poller/handler.ts")) as {
      handler: (event: unknown, context: Context) => Promise<{ polls: number; skipped?: true }>;
    };
    expect(await lease.acquire("tick-still-running", new Date(Date.now() + 55_000))).toEqual({ acquired: true });

    const before = listings();
    expect(await handler({}, contextFor("overlapping-tick"))).toEqual({
      polls: 0,
      newReplies: 0,
      eventsQueued: 0,
      skipped: true,
    });
    expect(listings()).toBe(before);

    await lease.release("tick-still-running");
    const polled = await handler({}, contextFor("next-tick"));
    expect(polled.polls).toBe(1);
    expect(polled.skipped).toBeUndefined();
    expect(listings()).toBeGreaterThan(before);

    // It keeps the lease after it returns, for 40 s (not to its 50 s timeout: a tick that started
    // late must let go before the next scheduled one): a late duplicate of the same tick skips.
    const probe = await lease.acquire("probe", new Date(Date.now() + 1_000));
    expect(probe.acquired).toBe(false);
    if (!probe.acquired) {
      expect(probe.heldBy.holder).toBe("next-tick");
      expect(probe.heldBy.until.getTime() - Date.now()).toBeLessThanOrEqual(SINGLE_POLL_LEASE_MS);
      expect(probe.heldBy.until.getTime() - Date.now()).toBeGreaterThan(SINGLE_POLL_LEASE_MS - 30_000);
    }
    const afterPoll = listings();
    expect((await handler({}, contextFor("duplicate-of-next-tick"))).skipped).toBe(true);
    expect(listings()).toBe(afterPoll);
  });
});
