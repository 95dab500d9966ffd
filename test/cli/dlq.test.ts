import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSqsClient } from "../../src/adapters/sqs-queue.ts";
import { LOCAL_QUEUE_SETTINGS } from "../../src/app/local.ts";
import { type NewReplyEvent, newReplyEventSchema, serializeEvent } from "../../src/domain/events.ts";
import { startFakeSlack } from "../../src/local/fake-slack.ts";
import { startRespondentSimulator } from "../../src/local/simulator.ts";
import { ensureLocalQueues } from "../../src/local/sqs-local.ts";
import { CLI_TEST_TIMEOUT_MS, type CliRun, runCli } from "../support/cli.ts";
import { localTableEnv, replyEvent } from "./helpers.ts";

const API_KEY = "dlq-test-key-31aa";
const API_SECRET = "dlq-test-secret-58bc";
const SLACK_TOKEN = "xoxb-dlq-test-token-0f";
const CHANNEL = "C0DLQTEST01";

/**
 * Puts a message into one of the CLI's table's local queues: the dead-letter queue, as SQS does after
 * a message's receives are spent, or the notifier's queue.
 */
async function enqueue(
  env: Record<string, string>,
  queue: "deadLetterQueueUrl" | "queueUrl",
  body: string,
  groupId: string,
): Promise<void> {
  const client = createSqsClient({ region: "us-east-1", endpoint: env.SQS_ENDPOINT });
  try {
    const urls = await ensureLocalQueues(client, env.TABLE_NAME ?? "", LOCAL_QUEUE_SETTINGS);
    await client.send(
      new SendMessageCommand({
        QueueUrl: urls[queue],
        MessageBody: body,
        MessageGroupId: groupId,
        MessageDeduplicationId: `${groupId}-${Date.now()}`,
      }),
    );
  } finally {
    client.destroy();
  }
}

const deadLetter = (env: Record<string, string>, event: NewReplyEvent) =>
  enqueue(env, "deadLetterQueueUrl", serializeEvent(event), event.conversation.uid);

describe("respondent-notifier dlq against the local queue", { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  let simulator: Awaited<ReturnType<typeof startRespondentSimulator>>;
  let slack: Awaited<ReturnType<typeof startFakeSlack>>;
  let env: Record<string, string>;
  let undeliverable: CliRun;

  beforeAll(async () => {
    simulator = await startRespondentSimulator({ apiKey: API_KEY, apiSecret: API_SECRET, conversations: 5 });
    slack = await startFakeSlack({ token: SLACK_TOKEN, channels: [CHANNEL] });
    env = {
      ...localTableEnv("cli-dlq"),
      RESPONDENT_API_URL: simulator.url,
      RESPONDENT_API_KEY: API_KEY,
      RESPONDENT_API_SECRET: API_SECRET,
      SLACK_BOT_TOKEN: SLACK_TOKEN,
      SLACK_API_URL: `${slack.url}/api/`,
    };
    const added = await runCli(["subscriptions", "add", "--project", "*", "--channel", CHANNEL], env);
    expect(added.code, added.stderr).toBe(0);
    // An alert whose receives SQS spent (Slack refused it for half an hour, say) waits in the dead letters.
    await deadLetter(
      env,
      replyEvent({
        conversationUid: "conv-dlq-1",
        messageUid: "msg-dlq-1",
        channelId: CHANNEL,
        name: "Diary study",
        body: "Day 3 entry is in <!here>",
        projectId: simulator.projectIds[0] ?? "p1",
      }),
    );

    // A message that can never be delivered (not an event) goes to the dead letters at once: in
    // a table of its own, so that the dead letters above stay the only ones.
    const brokenEnv = { ...env, ...localTableEnv("cli-dlq-broken") };
    await enqueue(brokenEnv, "queueUrl", "{ not an event", "conv-broken");
    undeliverable = await runCli(["poll", "--once"], brokenEnv);
  }, CLI_TEST_TIMEOUT_MS);

  afterAll(async () => {
    await simulator?.close();
    await slack?.close();
  });

  it("poll --once exits 1 and points to dlq when a queued alert went to the dead letters", () => {
    expect(undeliverable.code).toBe(1);
    expect(undeliverable.stderr).toContain(
      "respondent-notifier: 1 alert could not be delivered and went to the dead letters: see `respondent-notifier dlq list`, re-send with `dlq redrive`",
    );
    expect(slack.posts).toHaveLength(0);
  });

  it("dlq list shows each dead letter: who wrote where, the channel and the start of the reply", async () => {
    const run = await runCli(["dlq", "list"], env);

    expect(run.code, run.stderr).toBe(0);
    // SQS keeps no last error: the log of the run that gave up has it.
    expect(run.stdout.trimEnd().split("\n")).toEqual([
      "1 dead letter in the local dead-letter queue:",
      expect.stringMatching(/^\S+ {2}queued \d{4}-\d\d-\d\dT[\d:.]+Z after \d+ attempts?$/),
      expect.stringMatching(/^ {4}Grace H\. in "Diary study" \(project \w+\) -> C0DLQTEST01$/),
      '    "Day 3 entry is in <!here>"',
      "re-send them with: respondent-notifier dlq redrive (alerts already in Slack are skipped by the ledger, never posted twice)",
    ]);
  });

  it("dlq redrive delivers a dead letter once, and re-sending an alert that is already posted posts nothing new", async () => {
    const listed = await runCli(["dlq", "list", "--json"], env);
    const [letter] = JSON.parse(listed.stdout) as Array<{ event: unknown }>;
    const event = newReplyEventSchema.parse(letter?.event);

    const redrive = await runCli(["dlq", "redrive"], env);

    expect(redrive.code, redrive.stderr).toBe(0);
    expect(redrive.stdout).toContain("re-sending 1 dead letter");
    expect(redrive.stdout).toContain("redrive: 1 alert posted, 0 already posted (skipped by the ledger)");
    expect(slack.posts).toHaveLength(1);
    expect(slack.posts[0]?.text).toContain("Day 3 entry is in &lt;!here&gt;");
    expect((await runCli(["dlq", "list"], env)).stdout.trim()).toBe("no dead letters in the local dead-letter queue");

    // The same alert dead-lettered again (a duplicate in the queue, a redrive run twice...).
    await deadLetter(env, event);
    const again = await runCli(["dlq", "redrive"], env);

    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain("redrive: 0 alerts posted, 1 already posted (skipped by the ledger)");
    expect(slack.posts).toHaveLength(1);
  });

  it("dlq redrive with nothing dead-lettered says so and exits 0", async () => {
    const run = await runCli(["dlq", "redrive"], env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.trim()).toBe("no dead letters in the local dead-letter queue: nothing to redrive");
  });
});
