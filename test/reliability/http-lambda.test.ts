import { Writable } from "node:stream";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { Context, LambdaFunctionURLEvent } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeAll, describe, expect, inject, it, vi } from "vitest";
import { type FakeSlack, slackSignature, startFakeSlack } from "../../src/local/fake-slack.ts";
import { lambdaContext } from "../support/lambda.ts";
import { createTestPlatform, type TestPlatform } from "../support/platform.ts";

const BOT_TOKEN = "xoxb-http-lambda-token-77aa";
const SIGNING_SECRET = "5f0c1a2b3c4d5e6f7a8b9c0d1e2f3a4b";
const CHANNEL = "C0HTTPLAMBDA";
const SLACK_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:slack-AbCdEf";
const RESPONDENT_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:respondent-AbCdEf";

const context = lambdaContext({ functionName: "respondent-notifier-http", remainingMs: 30_000 });

/** What Lambda's response stream received: the metadata prelude, the body, and what was true when it ended. */
interface Streamed {
  metadata: { statusCode: number; headers: Record<string, string> } | undefined;
  body: string;
  /** The number of slash-command answers the fake Slack had when the stream ended (Slack had its answer then). */
  responsesWhenEnded: number | undefined;
}

type StreamHandler = (event: LambdaFunctionURLEvent, stream: Writable, context: Context) => Promise<void>;

/**
 * The real http Lambda handler, invoked as a Function URL in RESPONSE_STREAM mode would invoke
 * it: the runtime's `awslambda` global (which only Lambda provides) is stood in for, Secrets
 * Manager is mocked at the SDK; DynamoDB Local and the fake Slack are real.
 */
describe("the http Lambda handler behind its Function URL", () => {
  const secrets = mockClient(SecretsManagerClient);
  let platform: TestPlatform;
  let slack: FakeSlack;
  let handler: StreamHandler;
  let streamed: Streamed;

  beforeAll(async () => {
    slack = await startFakeSlack({ token: BOT_TOKEN, channels: [CHANNEL], signingSecret: SIGNING_SECRET });
    platform = await createTestPlatform({ prefix: "http-lambda" });
    secrets
      .on(GetSecretValueCommand, { SecretId: SLACK_ARN })
      .resolves({ SecretString: JSON.stringify({ botToken: BOT_TOKEN, signingSecret: SIGNING_SECRET }) });
    secrets
      .on(GetSecretValueCommand, { SecretId: RESPONDENT_ARN })
      .resolves({ SecretString: JSON.stringify({ apiKey: "k", apiSecret: "s" }) });
    vi.stubEnv("SLACK_SECRET_ARN", SLACK_ARN);
    vi.stubEnv("RESPONDENT_SECRET_ARN", RESPONDENT_ARN);
    vi.stubEnv("TABLE_NAME", platform.tableName);
    vi.stubEnv("DYNAMODB_ENDPOINT", inject("dynamodbEndpoint"));
    vi.stubEnv("AWS_ACCESS_KEY_ID", "test");
    vi.stubEnv("AWS_SECRET_ACCESS_KEY", "test");
    vi.stubEnv("AWS_REGION", "us-east-1");
    vi.stubEnv("SLACK_API_URL", `${slack.url}/api/`);
    vi.stubEnv("SLACK_ADMIN_USERS", "U0ADMIN0001");
    vi.stubEnv("POWERTOOLS_METRICS_NAMESPACE", "RespondentNotifierTest");
    vi.stubEnv("POWERTOOLS_SERVICE_NAME", "http");
    vi.stubEnv("POWERTOOLS_LOG_LEVEL", "CRITICAL");
    vi.stubEnv("POWERTOOLS_METRICS_DISABLED", "true");
    vi.stubGlobal("awslambda", {
      streamifyResponse: (fn: StreamHandler) => fn,
      HttpResponseStream: {
        from(stream: Writable, metadata: Streamed["metadata"]) {
          streamed.metadata = metadata;
          return stream;
        },
      },
    });
    vi.resetModules();
    ({ handler } = (await import("../../lambdas/http/handler.ts")) as unknown as { handler: StreamHandler });
  });

  afterAll(async () => {
    vi.unstubAllEnvs();
    vi.unstubAllGlobals();
    secrets.restore();
    await slack?.close();
    await platform?.close();
  });

  /** A slash command as Slack posts it, through the Function URL (form bodies arrive base64-encoded). */
  async function invoke(text: string, sign: { secret?: string } = {}): Promise<Streamed> {
    streamed = { metadata: undefined, body: "", responsesWhenEnded: undefined };
    const body = new URLSearchParams({
      command: "/respondent",
      text,
      user_id: "U0SOMEONE01",
      channel_id: CHANNEL,
      response_url: `${slack.url}/hooks/commands/R1`,
    }).toString();
    const timestamp = Math.floor(Date.now() / 1000);
    const event = {
      version: "2.0",
      rawPath: "/slack/events",
      rawQueryString: "",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        "x-slack-request-timestamp": String(timestamp),
        "x-slack-signature": slackSignature(sign.secret ?? SIGNING_SECRET, timestamp, body),
      },
      requestContext: { http: { method: "POST", path: "/slack/events" } },
      body: Buffer.from(body).toString("base64"),
      isBase64Encoded: true,
    } as unknown as LambdaFunctionURLEvent;
    const chunks: Buffer[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        chunks.push(Buffer.from(chunk));
        done();
      },
      final(done) {
        streamed.body = Buffer.concat(chunks).toString("utf8");
        streamed.responsesWhenEnded = slack.responses.length;
        done();
      },
    });
    await handler(event, stream, context);
    return streamed;
  }

  it("answers a signed /respondent help at once, in the stream", async () => {
    const answer = await invoke("help");

    expect(answer.metadata?.statusCode).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({
      response_type: "ephemeral",
      text: expect.stringContaining("/respondent subscribe <projectId|*> [options]"),
    });
  });

  it("refuses a request signed with another secret with 401", async () => {
    const answer = await invoke("help", { secret: "another-secret-000000000000000" });

    expect(answer.metadata?.statusCode).toBe(401);
    expect(answer.body).toBe("unverified request\n");
  });

  it("answers 404 for a path no route serves, as the local server does", async () => {
    streamed = { metadata: undefined, body: "", responsesWhenEnded: undefined };
    const chunks: Buffer[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        chunks.push(Buffer.from(chunk));
        done();
      },
    });
    const event = {
      rawPath: "/nothing/here",
      headers: {},
      requestContext: { http: { method: "POST", path: "/nothing/here" } },
      isBase64Encoded: false,
    } as unknown as LambdaFunctionURLEvent;

    await handler(event, stream, context);

    expect(streamed.metadata?.statusCode).toBe(404);
    expect(Buffer.concat(chunks).toString("utf8")).toBe("no route for POST /nothing/here\n");
  });

  it("ends the stream (Slack's answer) before the slow work, which runs in the same invocation", async () => {
    slack.reset();
    const answer = await invoke("list");

    expect(answer.metadata?.statusCode).toBe(200);
    expect(answer.responsesWhenEnded).toBe(0);
    expect(slack.responses.map((response) => response.body.text)).toEqual([`<#${CHANNEL}> has no subscriptions.`]);
  });
});
