import { QueryCommand } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDynamoDbClient } from "../../src/adapters/dynamo/client.ts";
import { SEEN_SNAPSHOT_PARTITION } from "../../src/adapters/dynamo/table.ts";
import { startFakeSlack } from "../../src/local/fake-slack.ts";
import { startRespondentSimulator } from "../../src/local/simulator.ts";
import { CLI_TEST_TIMEOUT_MS, runCli } from "../support/cli.ts";
import { CapacityMeter } from "../support/dynamodb.ts";
import { localTableEnv, meterDynamoDbRequests, runInProcess } from "./helpers.ts";

const API_KEY = "snapshot-cli-key-6a1f";
const API_SECRET = "snapshot-cli-secret-2c9d";
const SLACK_TOKEN = "xoxb-snapshot-cli-token-40";
const CHANNEL = "C0SNAPCLI01";
const CONVERSATIONS = 60;

/**
 * `poll --once` keeps the seen-cache like the poller Lambda does: each run is a new process with
 * an empty cache, so without the snapshot every run would read the state of every conversation.
 */
describe("poll --once, run again in a fresh process", { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  let simulator: Awaited<ReturnType<typeof startRespondentSimulator>>;
  let slack: Awaited<ReturnType<typeof startFakeSlack>>;
  let env: Record<string, string>;

  /** The stored snapshot's parts and when each was saved, read straight from the table. */
  const storedSnapshot = async (): Promise<string[]> => {
    const client = createDynamoDbClient({
      tableName: env.TABLE_NAME ?? "",
      region: "us-east-1",
      endpoint: env.DYNAMODB_ENDPOINT,
    });
    try {
      const { Items } = await client.send(
        new QueryCommand({
          TableName: env.TABLE_NAME,
          KeyConditionExpression: "pk = :pk",
          ExpressionAttributeValues: { ":pk": { S: SEEN_SNAPSHOT_PARTITION } },
          ConsistentRead: true,
        }),
      );
      return (Items ?? []).map((item) => `${item.sk?.S} ${item.savedAt?.S}`);
    } finally {
      client.destroy();
    }
  };

  beforeAll(async () => {
    simulator = await startRespondentSimulator({
      apiKey: API_KEY,
      apiSecret: API_SECRET,
      conversations: CONVERSATIONS,
      pageSizeCap: 10,
    });
    slack = await startFakeSlack({ token: SLACK_TOKEN, channels: [CHANNEL] });
    env = {
      ...localTableEnv("cli-snapshot"),
      RESPONDENT_API_URL: simulator.url,
      RESPONDENT_API_KEY: API_KEY,
      RESPONDENT_API_SECRET: API_SECRET,
      SLACK_BOT_TOKEN: SLACK_TOKEN,
      SLACK_API_URL: `${slack.url}/api/`,
    };
    const added = await runCli(["subscriptions", "add", "--project", "*", "--channel", CHANNEL], env);
    expect(added.code, added.stderr).toBe(0);
  }, CLI_TEST_TIMEOUT_MS);

  afterAll(async () => {
    await simulator?.close();
    await slack?.close();
  });

  it("loads the snapshot the first run saved and, with nothing new, reads no conversation state and writes nothing", async () => {
    const first = await runCli(["poll", "--once"], env);
    expect(first.code, first.stderr).toBe(0);
    const savedByFirst = await storedSnapshot();
    expect(savedByFirst.length).toBeGreaterThan(0);

    const capacity = new CapacityMeter();
    const meter = meterDynamoDbRequests(capacity.hook);
    let second: Awaited<ReturnType<typeof runInProcess>>;
    try {
      second = await runInProcess(["poll", "--once"], env);
    } finally {
      meter.stop();
    }

    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toMatch(new RegExp(`seen-cache snapshot loaded .*entries=${CONVERSATIONS}\\b`));
    expect(second.stdout).toMatch(/0 new replies, 0 alerts posted/);
    // Cold, it would read each of the six pages' states; warm from the snapshot, at most a stray one.
    expect(capacity.count("snapshot.read")).toBeGreaterThan(0);
    expect(capacity.count("state.read")).toBeLessThanOrEqual(1);
    expect(capacity.writeUnits).toBe(0);
    expect(capacity.matching("state.").filter((record) => record.operation !== "state.read")).toEqual([]);
    expect(await storedSnapshot()).toEqual(savedByFirst);
  });
});
