import { randomUUID } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { describeTableProblem } from "../../src/adapters/dynamo/table.ts";
import { subscriptionStore } from "../../src/app/compose.ts";
import { type FakeSlack, startFakeSlack } from "../../src/local/fake-slack.ts";
import { type RespondentSimulator, startRespondentSimulator } from "../../src/local/simulator.ts";
import type { SubscriptionStore } from "../../src/ports.ts";
import { type CliRun, runCli } from "../support/cli.ts";
import { createTestPlatform, type TestPlatform } from "../support/platform.ts";
import { RecordingLog } from "../support/reliability/stats.ts";

const API_KEY = "config-test-key-5b1d";
const API_SECRET = "config-test-secret-77e0";
const SLACK_TOKEN = "xoxb-config-test-token";
const CHANNEL = "C0CONFIG001";

/** Runs CLI processes a few at a time: each is a full Node start, and the machine has two cores. */
async function runAll<T>(items: readonly T[], run: (item: T) => Promise<CliRun>, limit = 3): Promise<CliRun[]> {
  const results: CliRun[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      for (let index = next++; index < items.length; index = next++) {
        results[index] = await run(items[index] as T);
      }
    }),
  );
  return results;
}

describe("invalid configuration and CLI input", () => {
  let simulator: RespondentSimulator;
  let slack: FakeSlack;
  let client: DynamoDBClient;
  let env: Record<string, string>;
  let tableName: string;
  let project: string;
  let store: SubscriptionStore;
  let platform: TestPlatform;

  beforeAll(async () => {
    simulator = await startRespondentSimulator({ apiKey: API_KEY, apiSecret: API_SECRET, conversations: 3 });
    slack = await startFakeSlack({ token: SLACK_TOKEN, channels: [CHANNEL] });
    platform = await createTestPlatform({ prefix: "config-cli", log: new RecordingLog() });
    tableName = platform.tableName;
    client = platform.rawDynamo;
    env = {
      RESPONDENT_API_URL: simulator.url,
      RESPONDENT_API_KEY: API_KEY,
      RESPONDENT_API_SECRET: API_SECRET,
      SLACK_BOT_TOKEN: SLACK_TOKEN,
      SLACK_API_URL: `${slack.url}/api/`,
      DYNAMODB_ENDPOINT: inject("dynamodbEndpoint"),
      SQS_ENDPOINT: inject("sqsEndpoint"),
      TABLE_NAME: tableName,
    };
    project = simulator.projectIds[0] ?? "";
    const added = await runCli(["subscriptions", "add", "--project", project, "--channel", CHANNEL], env);
    expect(added.code, added.stderr).toBe(0);
    store = subscriptionStore(platform);
  }, 60_000);

  afterAll(async () => {
    await platform?.close();
    await simulator?.close();
    await slack?.close();
  });

  it("refuses every invalid setting at start-up with a message naming the variable, before touching the API, Slack or DynamoDB", async () => {
    const cases: Array<[variable: string, value: string, expected: RegExp]> = [
      ["RESPONDENT_API_URL", "ftp://api.respondent.io", /http\(s\) URL/],
      ["RESPONDENT_PAGE_SIZE", "0", /at least 1/],
      ["RESPONDENT_PAGE_SIZE", "lots", /whole number/],
      ["RESPONDENT_MAX_CONCURRENCY", "65", /at most 64/],
      ["RESPONDENT_TIMEOUT_MS", "50", /at least 100/],
      ["RESPONDENT_MAX_RETRIES", "-1", /at least 0/],
      ["RESPONDENT_API_SECRET", "", /required when RESPONDENT_API_KEY is set/],
      ["SLACK_BOT_TOKEN", "not-a-slack-token", /xoxb-/],
      ["SLACK_API_URL", "slack", /http\(s\) URL/],
      ["SLACK_TIMEOUT_MS", "fast", /whole number/],
      ["DYNAMODB_ENDPOINT", "localhost:8000", /URL/],
      ["TABLE_NAME", "my table", /table name/],
      ["AWS_REGION", "mars", /region/],
      ["POLL_INTERVAL_SECONDS", "0", /at least 1/],
      ["CONVERSATION_URL_TEMPLATE", "https://app.respondent.io/messages", /\{conversationUid\}/],
      ["SLACK_SIGNING_SECRET", "YOURSIGNINGSECRET", /still the placeholder/],
      ["SLACK_ADMIN_USERS", "jane,U0ADMIN0001", /Slack user ids/],
      ["HTTP_PORT", "70000", /at most/],
    ];
    simulator.clearRequests();
    const tables = cases.map(([variable]) =>
      variable === "TABLE_NAME" ? "my table" : `config-refused-${randomUUID()}`,
    );
    const runs = await runAll(
      cases.map((testCase, index) => ({ testCase, table: tables[index] ?? "" })),
      ({ testCase, table }) => runCli(["poll", "--once"], { ...env, TABLE_NAME: table, [testCase[0]]: testCase[1] }),
    );

    for (const [index, [variable, value, expected]] of cases.entries()) {
      const run = runs[index] as CliRun;
      expect(run.code, `${variable}=${value}: ${run.stderr}`).toBe(2);
      const reason = run.stderr.trim().split("\n").at(-1) ?? "";
      expect(reason, `${variable}=${value}`).toMatch(new RegExp(`^respondent-notifier: ${variable}: `));
      expect(reason, `${variable}=${value}`).toMatch(expected);
      expect(run.stdout, `${variable}=${value}`).toBe("");
    }
    // Nothing partial: no request reached the API or Slack, and no table was even created.
    expect(simulator.requests).toHaveLength(0);
    expect(slack.calls["chat.postMessage"] ?? 0).toBe(0);
    for (const table of tables.filter((name) => name !== "my table")) {
      expect(await describeTableProblem(client, table)).toMatch(/does not exist/);
    }
  }, 120_000);

  it("refuses every invalid flag or subscription file naming what is wrong, and leaves the stored subscriptions as they were", async () => {
    const before = await store.list();
    expect(before.map((subscription) => subscription.channelId)).toEqual([CHANNEL]);
    const folder = mkdtempSync(join(tmpdir(), "subscriptions-"));
    const file = join(folder, "subscriptions.yaml");
    // Two good entries and a bad one: the good ones must not be applied either.
    writeFileSync(
      file,
      [
        "subscriptions:",
        `  - { project: "${project}", channel: ${CHANNEL} }`,
        `  - { project: "${project}", channel: C0CONFIG002 }`,
        `  - { project: "${simulator.projectIds[1]}", channel: "#research" }`,
      ].join("\n"),
    );
    const add = (...flags: string[]) => ["subscriptions", "add", ...flags];
    const cases: Array<[args: string[], expected: RegExp]> = [
      [
        add("--project", "not a project!", "--channel", "C0CONFIG002"),
        /--project "not a project!": must be a Respondent project id/,
      ],
      [add("--project", project, "--channel", "#general"), /--channel "#general": must be a Slack channel id/],
      [add("--project", project, "--channel", "c0lowercase1"), /--channel "c0lowercase1"/],
      [
        add("--project", project, "--channel", "C0CONFIG002", "--mention", "@bob"),
        /--mention "@bob": must be a Slack user id/,
      ],
      [
        add("--project", project, "--channel", "C0CONFIG002", "--body", "everything"),
        /option '--body <mode>' argument 'everything' is invalid/,
      ],
      [add("--project", project), /required option '--channel <id>' not specified/],
      [
        add("--project", project, "--channel", CHANNEL),
        new RegExp(`project ${project} -> channel ${CHANNEL} exists already`),
      ],
      [
        ["subscriptions", "remove", "--project", project, "--channel", "C0NOTHERE01"],
        /no subscription for project .* -> channel C0NOTHERE01/,
      ],
      [
        ["subscriptions", "apply", "--file", file, "--yes"],
        /subscriptions\[2\]\.channel.*Slack channel id[\s\S]*nothing was changed|nothing was changed[\s\S]*subscriptions\[2\]\.channel/,
      ],
      [["poll"], /--once/],
      [
        ["subscriptions", "add", "--project", project, "--channel", "C0CONFIG002", "--frobnicate"],
        /unknown option '--frobnicate'/,
      ],
    ];
    const runs = await runAll(cases, ([args]) => runCli(args, env));

    for (const [index, [args, expected]] of cases.entries()) {
      const run = runs[index] as CliRun;
      const label = args.join(" ");
      expect(run.code, `${label}: ${run.stderr}`).toBe(2);
      expect(run.stderr, label).toMatch(expected);
    }
    expect(await store.list()).toEqual(before);
  }, 120_000);
});
