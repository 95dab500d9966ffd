import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDynamoDbClient } from "../../src/adapters/dynamo/client.ts";
import { DynamoStateStore } from "../../src/adapters/dynamo/state-store.ts";
import { createSqsClient, SqsDeliveryQueue } from "../../src/adapters/sqs-queue.ts";
import { LOCAL_QUEUE_SETTINGS } from "../../src/app/local.ts";
import { startFakeSlack } from "../../src/local/fake-slack.ts";
import { startRespondentSimulator } from "../../src/local/simulator.ts";
import { ensureLocalQueues } from "../../src/local/sqs-local.ts";
import { CLI_TEST_TIMEOUT_MS, type CliRun, runCli } from "../support/cli.ts";
import { localTableEnv } from "./helpers.ts";

const API_KEY = "dry-run-key-4c1d";
const API_SECRET = "dry-run-secret-9e07";
const SLACK_TOKEN = "xoxb-dry-run-token-77";
const CHANNEL = "C0DRYRUN001";

describe("respondent-notifier poll --once --dry-run", { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  let simulator: Awaited<ReturnType<typeof startRespondentSimulator>>;
  let slack: Awaited<ReturnType<typeof startFakeSlack>>;
  let env: Record<string, string>;
  let dryRun: CliRun;

  beforeAll(async () => {
    simulator = await startRespondentSimulator({
      apiKey: API_KEY,
      apiSecret: API_SECRET,
      conversations: 30,
      pageSizeCap: 7,
    });
    slack = await startFakeSlack({ token: SLACK_TOKEN, channels: [CHANNEL] });
    env = {
      ...localTableEnv("cli-dry-run"),
      RESPONDENT_API_URL: simulator.url,
      RESPONDENT_API_KEY: API_KEY,
      RESPONDENT_API_SECRET: API_SECRET,
      SLACK_BOT_TOKEN: SLACK_TOKEN,
      SLACK_API_URL: `${slack.url}/api/`,
    };
    const added = await runCli(["subscriptions", "add", "--project", "*", "--channel", CHANNEL], env);
    expect(added.code, added.stderr).toBe(0);
    const conversationUid = simulator.addConversation({
      projectId: simulator.projectIds[0] ?? "",
      name: "Checkout study",
      participant: { firstName: "Ada", lastName: "Lovelace" },
      firstMessage: { from: "researcher", body: "Could you join on Thursday?" },
    });
    simulator.addMessage(conversationUid, { from: "participant", body: "Can we move to Friday?\nThursday is\tbusy" });

    dryRun = await runCli(["poll", "--once", "--dry-run"], env);
  }, CLI_TEST_TIMEOUT_MS);

  afterAll(async () => {
    await simulator?.close();
    await slack?.close();
  });

  it("shows each alert it would post, with its channel and a one-line preview of the reply", () => {
    expect(dryRun.code, dryRun.stderr).toBe(0);
    expect(dryRun.stdout).toContain(`(dry run) would alert ${CHANNEL}: Ada L. in "Checkout study"`);
    expect(dryRun.stdout).toContain('    "Can we move to Friday? Thursday is busy"');
    expect(dryRun.stdout).toMatch(/1 new reply .*- dry run: nothing written, nothing posted/);
  });

  it("writes nothing and posts nothing: the queue stays empty and a real poll then alerts the same reply", async () => {
    expect(slack.posts).toHaveLength(0);
    const sqs = createSqsClient({ region: "us-east-1", endpoint: env.SQS_ENDPOINT });
    const dynamo = createDynamoDbClient({
      tableName: env.TABLE_NAME ?? "",
      region: "us-east-1",
      endpoint: env.DYNAMODB_ENDPOINT,
    });
    try {
      const urls = await ensureLocalQueues(sqs, env.TABLE_NAME ?? "", LOCAL_QUEUE_SETTINGS);
      expect(await new SqsDeliveryQueue(sqs, urls).pendingCount()).toBe(0);
      // No conversation state either: the real poll below finds the reply as new.
      expect(
        (await new DynamoStateStore(dynamo, env.TABLE_NAME ?? "").getStates(simulator.conversationUids)).size,
      ).toBe(0);
    } finally {
      sqs.destroy();
      dynamo.destroy();
    }

    const real = await runCli(["poll", "--once"], env);

    expect(real.code, real.stderr).toBe(0);
    expect(real.stdout).toMatch(/1 new reply, 1 alert posted/);
    expect(slack.posts).toHaveLength(1);
    expect(slack.posts[0]?.text).toContain("Can we move to Friday?");
  });

  it("reports progress on stderr, a line every few pages when not on a terminal, ending with the last page", () => {
    // 31 conversations at 7 a page: pages 1 to 5. Page 1 starts the progress, page 5 ends it.
    const progress = dryRun.stderr.split("\n").filter((line) => line.startsWith("… "));
    expect(progress).toEqual(["… page 1, 7 conversations checked", "… page 5, 31 conversations checked"]);
    expect(dryRun.stdout).not.toContain("…");
  });

  it("shows no progress with --log-level warn", async () => {
    const quiet = await runCli(["--log-level", "warn", "poll", "--once", "--dry-run"], env);
    expect(quiet.code, quiet.stderr).toBe(0);
    expect(quiet.stderr).not.toContain("…");
    expect(quiet.stdout).toContain("dry run: nothing written, nothing posted");
  });
});
