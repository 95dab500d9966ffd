import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type FakeSlack, startFakeSlack } from "../../src/local/fake-slack.ts";
import { type RespondentSimulator, startRespondentSimulator } from "../../src/local/simulator.ts";
import { CLI_TEST_TIMEOUT_MS, runCli } from "../support/cli.ts";

const API_KEY = "health-cli-key-51c0de";
const API_SECRET = "health-cli-secret-7a2f19";
const SLACK_TOKEN = "xoxb-health-cli-token-3b8e";
const CHANNEL = "C0HEALTHCL1";
const OPS = "C0OPSCLI001";

describe("the CLI reports polling health to OPS_SLACK_CHANNEL", { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  let simulator: RespondentSimulator;
  let slack: FakeSlack;

  beforeAll(async () => {
    simulator = await startRespondentSimulator({ apiKey: API_KEY, apiSecret: API_SECRET, conversations: 8 });
    slack = await startFakeSlack({ token: SLACK_TOKEN, channels: [CHANNEL, OPS] });
  }, CLI_TEST_TIMEOUT_MS);
  afterAll(async () => {
    await simulator?.close();
    await slack?.close();
  });

  it("poll --once: one failing message on the second failed run in a row, one recovery message after", async () => {
    const env = {
      RESPONDENT_API_URL: simulator.url,
      RESPONDENT_API_KEY: API_KEY,
      RESPONDENT_API_SECRET: API_SECRET,
      SLACK_BOT_TOKEN: SLACK_TOKEN,
      SLACK_API_URL: `${slack.url}/api/`,
      DYNAMODB_ENDPOINT: inject("dynamodbEndpoint"),
      TABLE_NAME: `health-cli-${Date.now()}`,
      OPS_SLACK_CHANNEL: OPS,
    };
    const added = await runCli(["subscriptions", "add", "--project", "*", "--channel", CHANNEL], env);
    expect(added.code, added.stderr).toBe(0);
    const wrongSecret = { ...env, RESPONDENT_API_SECRET: "not-the-secret-0000" };
    const opsPosts = () => slack.posts.filter((post) => post.channel === OPS).map((post) => post.text);

    const firstFailure = await runCli(["poll", "--once"], wrongSecret);
    expect(firstFailure.code).toBe(1);
    expect(opsPosts()).toEqual([]);

    const secondFailure = await runCli(["poll", "--once"], wrongSecret);
    const thirdFailure = await runCli(["poll", "--once"], wrongSecret);
    const recovered = await runCli(["poll", "--once"], env);

    expect([secondFailure.code, thirdFailure.code, recovered.code]).toEqual([1, 1, 0]);
    expect(opsPosts()).toEqual([
      expect.stringMatching(
        /^🔴 Respondent polling is failing since \d\d:\d\d UTC: Respondent API credentials rejected \(401\)/,
      ),
      expect.stringMatching(/^🟢 Respondent polling recovered after \d+ s \(failing since/),
    ]);
    expect(secondFailure.stderr).toContain("ops channel told: poller failing");
    for (const text of opsPosts()) expect(text).not.toContain("not-the-secret-0000");
  });

  it("start: prints the ops messages from the embedded fake Slack like any alert", async () => {
    simulator.failNext(3, { status: 401 });
    const run = await runCli(
      ["start"],
      {
        RESPONDENT_API_URL: simulator.url,
        RESPONDENT_API_KEY: API_KEY,
        RESPONDENT_API_SECRET: API_SECRET,
        DYNAMODB_ENDPOINT: inject("dynamodbEndpoint"),
        TABLE_NAME: `health-start-${Date.now()}`,
        POLL_INTERVAL_SECONDS: "1",
        OPS_SLACK_CHANNEL: OPS,
      },
      { stopWhen: (stdout) => stdout.includes("recovered after"), timeoutMs: 60_000 },
    );

    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`#${OPS} · new thread`);
    expect(run.stdout.match(/🔴 Respondent polling is failing since/g)).toHaveLength(1);
    expect(run.stdout.match(/🟢 Respondent polling recovered after \d+ s/g)).toHaveLength(1);
  });
});
