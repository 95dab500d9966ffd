import {
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";
import {
  ChangeMessageVisibilityBatchCommand,
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  ReceiveMessageCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
} from "@aws-sdk/client-sqs";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createDynamoDbClient } from "../../src/adapters/dynamo/client.ts";
import { DynamoStateStore } from "../../src/adapters/dynamo/state-store.ts";
import { DynamoSubscriptionStore } from "../../src/adapters/dynamo/subscription-store.ts";
import { describeTableProblem, ensureTable } from "../../src/adapters/dynamo/table.ts";
import { consoleLog } from "../../src/adapters/observability.ts";
import { MIN_VISIBILITY_SECONDS } from "../../src/adapters/sqs-queue.ts";
import { startFakeSlack } from "../../src/local/fake-slack.ts";
import { startRespondentSimulator } from "../../src/local/simulator.ts";
import { subscription } from "../support/builders.ts";
import { localTableEnv, replyEvent, runInProcess } from "./helpers.ts";

/**
 * The CLI pointed at the deployed stack (NOTIFIER_TARGET=aws). Secrets Manager and SQS cannot
 * run here, so they are mocked at the SDK boundary; the table is a real DynamoDB Local table
 * standing in for the stack's, and the Respondent API and Slack are the local stand-ins.
 */

const RESPONDENT_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:RespondentSecret-AbCdEf";
const SLACK_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:SlackSecret-GhIjKl";
const DLQ_URL = "https://sqs.eu-west-1.amazonaws.com/123456789012/Notifier-EventsDeadLetterQueue.fifo";
const DLQ_ARN = "arn:aws:sqs:eu-west-1:123456789012:Notifier-EventsDeadLetterQueue.fifo";
const API_KEY = "deployed-key-2d9e";
const API_SECRET = "deployed-secret-7a13";
const SLACK_TOKEN = "xoxb-deployed-token-5c";
const CHANNEL = "C0DEPLOYED1";

const secrets = mockClient(SecretsManagerClient);
const sqs = mockClient(SQSClient);

function secretsHold(values: { respondent: string; slack: string }): void {
  secrets.on(GetSecretValueCommand, { SecretId: RESPONDENT_ARN }).resolves({ SecretString: values.respondent });
  secrets.on(GetSecretValueCommand, { SecretId: SLACK_ARN }).resolves({ SecretString: values.slack });
}

const SIGNING_SECRET = "dep10yed5igning5ecret00000000000";
const FILLED = {
  respondent: JSON.stringify({ apiKey: API_KEY, apiSecret: API_SECRET }),
  slack: JSON.stringify({ botToken: SLACK_TOKEN, signingSecret: SIGNING_SECRET }),
};

describe("the CLI against the deployed stack", () => {
  let simulator: Awaited<ReturnType<typeof startRespondentSimulator>>;
  let slack: Awaited<ReturnType<typeof startFakeSlack>>;
  let env: Record<string, string>;

  beforeAll(async () => {
    simulator = await startRespondentSimulator({ apiKey: API_KEY, apiSecret: API_SECRET, conversations: 8 });
    slack = await startFakeSlack({ token: SLACK_TOKEN, channels: [{ id: CHANNEL, name: "research" }] });
    env = {
      ...localTableEnv("cli-deployed"),
      NOTIFIER_TARGET: "aws",
      AWS_REGION: "eu-west-1",
      RESPONDENT_SECRET_ARN: RESPONDENT_ARN,
      SLACK_SECRET_ARN: SLACK_ARN,
      DLQ_URL,
      RESPONDENT_API_URL: simulator.url,
      SLACK_API_URL: `${slack.url}/api/`,
    };
    // The stack creates the table; the CLI only uses it.
    const client = createDynamoDbClient({
      tableName: env.TABLE_NAME ?? "",
      region: "eu-west-1",
      endpoint: env.DYNAMODB_ENDPOINT,
    });
    await ensureTable(client, env.TABLE_NAME ?? "");
    await new DynamoSubscriptionStore(client, env.TABLE_NAME ?? "", { log: consoleLog({ level: "silent" }) }).add(
      subscription({ projectId: "*", channelId: CHANNEL, createdAt: new Date(Date.now() - 60_000).toISOString() }),
    );
    client.destroy();
  });

  afterEach(() => {
    secrets.reset();
    sqs.reset();
  });

  afterAll(async () => {
    secrets.restore();
    sqs.restore();
    await simulator?.close();
    await slack?.close();
  });

  it("doctor reads both secrets and checks Respondent, Slack, the table and the DLQ with what they hold", async () => {
    secretsHold(FILLED);
    sqs.on(GetQueueAttributesCommand).resolves({ Attributes: { ApproximateNumberOfMessages: "0" } });

    const run = await runInProcess(["doctor"], env);

    expect(run.code, run.stdout + run.stderr).toBe(0);
    const lines = run.stdout.trimEnd().split("\n");
    expect(lines).toEqual([
      `✔ Respondent secret: ${RESPONDENT_ARN} is filled`,
      `✔ Respondent credentials: accepted by ${simulator.url} (custom URL), 1 page read, 8 conversations visible`,
      `✔ Slack secret: ${SLACK_ARN} is filled`,
      `✔ Slack token: accepted at ${slack.url}/api/: workspace "Fake Slack workspace", app user @respondent-notifier`,
      `✔ Table: "${env.TABLE_NAME}" at ${env.DYNAMODB_ENDPOINT}: reachable, key schema pk/sk as expected`,
      "✔ Subscriptions: 1 stored (1 active, 0 paused) for 1 channel",
      "✔ Messages feed: on; no sweep yet (the first poll lists every conversation, then uses the feed)",
      "✔ Slack history scopes: channels:history: a retried alert reads its channel back before posting again",
      `✔ Slack channel ${CHANNEL} (#research): the app is a member (subscribed to *)`,
      `✔ Slack signing secret: set (the signingSecret in the Slack secret ${SLACK_ARN}): Slack's requests to /slack/events are verified`,
      `✔ Dead letters: none in the dead-letter queue ${DLQ_URL}`,
      "doctor: 11 passed, 0 failed",
    ]);
    for (const secret of [API_KEY, API_SECRET, SLACK_TOKEN, SIGNING_SECRET]) {
      expect(run.stdout + run.stderr).not.toContain(secret);
    }
  });

  it("doctor fails an empty secret with the command that fills it, and one that does not exist with where to look", async () => {
    // What the stack stores at creation: every field empty.
    secretsHold({ respondent: JSON.stringify({ apiKey: "", apiSecret: "" }), slack: FILLED.slack });
    secrets
      .on(GetSecretValueCommand, { SecretId: SLACK_ARN })
      .rejects(
        new ResourceNotFoundException({ message: "Secrets Manager can't find the specified secret.", $metadata: {} }),
      );
    sqs.on(GetQueueAttributesCommand).resolves({ Attributes: { ApproximateNumberOfMessages: "3" } });

    const run = await runInProcess(["doctor"], env);

    expect(run.code).toBe(1);
    const lines = run.stdout.trimEnd().split("\n");
    expect(lines).toContain(
      `✘ Respondent secret: secret ${RESPONDENT_ARN} is empty — fill it with RESPONDENT_API_KEY=YOUR_API_KEY RESPONDENT_API_SECRET=YOUR_API_SECRET npx respondent-notifier secret fill --secret-id ${RESPONDENT_ARN}`,
    );
    expect(lines).toContain("- Respondent credentials: not checked: the secret is not usable");
    expect(lines).toContain(
      `✘ Slack secret: secret ${SLACK_ARN} does not exist — check SLACK_SECRET_ARN against the stack output SecretArn (and the region)`,
    );
    expect(lines).toContain(
      `! Dead letters: 3 alerts failed delivery and wait in the dead-letter queue ${DLQ_URL} — see them: respondent-notifier dlq list; re-send them: respondent-notifier dlq redrive`,
    );
    expect(lines).toContain("- Slack signing secret: not checked: the Slack secret is not usable");
    expect(lines.at(-1)).toBe("doctor: 4 passed, 2 failed, 1 warning");
  });

  it("poll --once --dry-run shows what the deployed poller would alert and moves no conversation state", async () => {
    secretsHold(FILLED);
    const conversationUid = simulator.addConversation({
      name: "Pricing interviews",
      participant: { firstName: "Alan", lastName: "Turing" },
      firstMessage: { from: "participant", body: "Is the session still on?" },
    });

    const run = await runInProcess(["poll", "--once", "--dry-run"], env);

    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`(dry run) would alert ${CHANNEL}: Alan T. in "Pricing interviews"`);
    expect(run.stdout).toContain('    "Is the session still on?"');
    const client = createDynamoDbClient({
      tableName: env.TABLE_NAME ?? "",
      region: "eu-west-1",
      endpoint: env.DYNAMODB_ENDPOINT,
    });
    try {
      const states = await new DynamoStateStore(client, env.TABLE_NAME ?? "").getStates([conversationUid]);
      expect(states.size).toBe(0);
    } finally {
      client.destroy();
    }
    expect(slack.posts).toHaveLength(0);
  });

  it("refuses poll --once (it would write) and start: the deployed functions do that", async () => {
    const [once, start] = await Promise.all([runInProcess(["poll", "--once"], env), runInProcess(["start"], env)]);

    expect(once.code).toBe(2);
    expect(once.stderr).toContain("use `poll --once --dry-run` to preview what it would alert");
    expect(start.code).toBe(2);
    expect(start.stderr).toContain("start runs the local pipeline and cannot run with NOTIFIER_TARGET=aws");
  });

  it("never creates a missing table: subscriptions commands fail naming the stack output", async () => {
    const missing = { ...env, TABLE_NAME: `missing-${Date.now()}` };

    const run = await runInProcess(["subscriptions", "list"], missing);

    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      `DynamoDB table "${missing.TABLE_NAME}" does not exist: check TABLE_NAME (stack output TableName) and AWS_REGION`,
    );
    const client = createDynamoDbClient({
      tableName: missing.TABLE_NAME,
      region: "eu-west-1",
      endpoint: env.DYNAMODB_ENDPOINT,
    });
    expect(await describeTableProblem(client, missing.TABLE_NAME)).toMatch(/does not exist/);
    client.destroy();
  });

  it("dlq list reads the SQS dead letters and makes every one visible again a second later", async () => {
    const first = replyEvent({ conversationUid: "conv-a", messageUid: "m-1", channelId: CHANNEL, body: "First reply" });
    const second = replyEvent({
      conversationUid: "conv-b",
      messageUid: "m-2",
      channelId: CHANNEL,
      firstName: "Edsger",
      lastName: "D",
    });
    sqs
      .on(ReceiveMessageCommand)
      .resolvesOnce({
        Messages: [
          {
            MessageId: "msg-1",
            ReceiptHandle: "receipt-1",
            Body: JSON.stringify(first),
            Attributes: { ApproximateReceiveCount: "6", SentTimestamp: "1795000000000", MessageGroupId: "conv-a" },
          },
          { MessageId: "msg-2", ReceiptHandle: "receipt-2", Body: JSON.stringify(second), Attributes: {} },
        ],
      })
      .resolves({ Messages: [] });
    sqs.on(ChangeMessageVisibilityBatchCommand).resolves({ Successful: [{ Id: "0" }, { Id: "1" }] });

    const run = await runInProcess(["dlq", "list"], env);

    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`2 dead letters in the dead-letter queue ${DLQ_URL}:`);
    expect(run.stdout).toContain(`msg-1  queued ${new Date(1795000000000).toISOString()} after 6 attempts`);
    expect(run.stdout).toContain(`    Grace H. in "Diary study" (project p1) -> ${CHANNEL}\n    "First reply"`);
    expect(run.stdout).toContain("msg-2  queued (time unknown)\n    Edsger D. in");
    const released = sqs
      .commandCalls(ChangeMessageVisibilityBatchCommand)
      .flatMap((call) => call.args[0].input.Entries ?? []);
    // Not 0: the local emulator fails that, so the adapter never goes below MIN_VISIBILITY_SECONDS.
    expect(released.map((entry) => [entry.ReceiptHandle, entry.VisibilityTimeout])).toEqual([
      ["receipt-1", MIN_VISIBILITY_SECONDS],
      ["receipt-2", MIN_VISIBILITY_SECONDS],
    ]);
    expect(sqs.commandCalls(ReceiveMessageCommand)[0]?.args[0].input).toMatchObject({
      QueueUrl: DLQ_URL,
      VisibilityTimeout: 30,
    });
  });

  it("dlq redrive moves the SQS dead letters back to the notifier's queue and follows the move to its end", async () => {
    sqs.on(GetQueueAttributesCommand).resolves({ Attributes: { ApproximateNumberOfMessages: "2", QueueArn: DLQ_ARN } });
    sqs.on(StartMessageMoveTaskCommand).resolves({ TaskHandle: "task-1" });
    sqs
      .on(ListMessageMoveTasksCommand)
      .resolvesOnce({
        Results: [{ Status: "RUNNING", ApproximateNumberOfMessagesMoved: 1, ApproximateNumberOfMessagesToMove: 2 }],
      })
      .resolves({
        Results: [{ Status: "COMPLETED", ApproximateNumberOfMessagesMoved: 2, ApproximateNumberOfMessagesToMove: 2 }],
      });

    const run = await runInProcess(["dlq", "redrive"], env);

    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain("redrive started: about 2 messages go back to the notifier's queue");
    expect(run.stdout).toContain("redrive done: 2 messages moved back; the notifier delivers them now");
    expect(run.stderr).toContain("… 1 of 2 messages moved (RUNNING)");
    // No destination: SQS moves them to the queue whose redrive policy names this DLQ.
    expect(sqs.commandCalls(StartMessageMoveTaskCommand).map((call) => call.args[0].input)).toEqual([
      { SourceArn: DLQ_ARN },
    ]);
  });

  it("dlq needs DLQ_URL against the deployed stack", async () => {
    const run = await runInProcess(["dlq", "list"], { ...env, DLQ_URL: "" });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(
      "dlq needs DLQ_URL with NOTIFIER_TARGET=aws: set it to the stack output DeadLetterQueueUrl",
    );
  });
});
