import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDynamoDbClient } from "../../src/adapters/dynamo/client.ts";
import { DynamoSubscriptionStore } from "../../src/adapters/dynamo/subscription-store.ts";
import { describeTableProblem, ensureTable } from "../../src/adapters/dynamo/table.ts";
import { consoleLog } from "../../src/adapters/observability.ts";
import { pollChainStore } from "../../src/app/compose.ts";
import { startFakeSlack } from "../../src/local/fake-slack.ts";
import { startRespondentSimulator } from "../../src/local/simulator.ts";
import { subscription } from "../support/builders.ts";
import { CLI_TEST_TIMEOUT_MS, type CliRun, runCli } from "../support/cli.ts";
import { localTableEnv, runInProcess } from "./helpers.ts";

const API_KEY = "doctor-key-6b2f";
const API_SECRET = "doctor-secret-d410";
const SLACK_TOKEN = "xoxb-doctor-token-93";
const SIGNING_SECRET = "d0c70r5197a7ure5ecre7000000000aa";

async function storeSubscriptions(env: Record<string, string>, channels: string[]): Promise<void> {
  const tableName = env.TABLE_NAME ?? "";
  const client = createDynamoDbClient({ tableName, region: "us-east-1", endpoint: env.DYNAMODB_ENDPOINT });
  try {
    await ensureTable(client, tableName);
    const store = new DynamoSubscriptionStore(client, tableName, { log: consoleLog({ level: "silent" }) });
    for (const channelId of channels) await store.add(subscription({ projectId: "p-doctor", channelId }));
  } finally {
    client.destroy();
  }
}

function checkLines(run: CliRun): string[] {
  return run.stdout.trimEnd().split("\n");
}

describe("respondent-notifier doctor", { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  let simulator: Awaited<ReturnType<typeof startRespondentSimulator>>;
  let slack: Awaited<ReturnType<typeof startFakeSlack>>;
  let services: Record<string, string>;

  beforeAll(async () => {
    simulator = await startRespondentSimulator({ apiKey: API_KEY, apiSecret: API_SECRET, conversations: 12 });
    slack = await startFakeSlack({
      token: SLACK_TOKEN,
      channels: [
        { id: "C0DOCMEMBER", name: "research" },
        { id: "C0DOCOUTSIDE", name: "private-team", isMember: false },
        { id: "C0DOCARCHIVE", name: "old-study", isArchived: true },
      ],
    });
    services = {
      RESPONDENT_API_URL: simulator.url,
      RESPONDENT_API_KEY: API_KEY,
      RESPONDENT_API_SECRET: API_SECRET,
      SLACK_BOT_TOKEN: SLACK_TOKEN,
      SLACK_API_URL: `${slack.url}/api/`,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
    };
  }, CLI_TEST_TIMEOUT_MS);

  afterAll(async () => {
    await simulator?.close();
    await slack?.close();
  });

  it("passes each check of a working setup, one line each, and exits 0", async () => {
    const env = { ...localTableEnv("cli-doctor-ok"), ...services };
    await storeSubscriptions(env, ["C0DOCMEMBER"]);

    const run = await runCli(["doctor"], env);

    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(checkLines(run)).toEqual([
      `✔ Respondent credentials: accepted by ${simulator.url} (custom URL), 1 page read, 12 conversations visible`,
      `✔ Slack token: accepted at ${slack.url}/api/: workspace "Fake Slack workspace", app user @respondent-notifier`,
      `✔ Table: "${env.TABLE_NAME}" at ${env.DYNAMODB_ENDPOINT}: reachable, key schema pk/sk as expected`,
      "✔ Subscriptions: 1 stored (1 active, 0 paused) for 1 channel",
      "✔ Subscribed projects: p-doctor (1 without a name yet: alerts show the id until the poller has looked it up)",
      "✔ Messages feed: on; no sweep yet (the first poll lists every conversation, then uses the feed)",
      "✔ Slack history scopes: channels:history: a retried alert reads its channel back before posting again",
      "✔ Slack channel C0DOCMEMBER (#research): the app is a member (subscribed to p-doctor)",
      "✔ Slack signing secret: set (SLACK_SIGNING_SECRET): Slack's requests to /slack/events are verified",
      "✔ Dead letters: none in the local dead letters",
      "doctor: 10 passed, 0 failed",
    ]);
  });

  it("shows the poll chain of a deployment polling below a minute, right after the feed", async () => {
    const env = { ...localTableEnv("cli-doctor-chain"), ...services };
    await storeSubscriptions(env, ["C0DOCMEMBER"]);
    const client = createDynamoDbClient({
      tableName: env.TABLE_NAME ?? "",
      region: "us-east-1",
      endpoint: env.DYNAMODB_ENDPOINT,
    });
    try {
      const chain = pollChainStore({ table: { client, name: env.TABLE_NAME ?? "", where: "" } });
      const tickedAt = new Date();
      expect(await chain.replace({ chainId: "c4a1n0000-test", seq: 42, tickedAt }, undefined)).toBe(true);

      const run = await runCli(["doctor"], env);

      expect(run.code, run.stdout + run.stderr).toBe(0);
      const lines = checkLines(run);
      const feed = lines.findIndex((line) => line.startsWith("✔ Messages feed:"));
      expect(lines[feed + 1]).toMatch(
        new RegExp(
          `^✔ Poll chain: polling below a minute: tick 42 of chain c4a1n000, started \\d+ s ago \\(${tickedAt.toISOString().replace(/[.]/g, "\\.")}\\)$`,
        ),
      );
    } finally {
      client.destroy();
    }
  });

  it("on a terminal, shows which check is running on one rewritten stderr line, cleared at the end", async () => {
    const env = { ...localTableEnv("cli-doctor-tty"), ...services };
    await storeSubscriptions(env, ["C0DOCMEMBER"]);

    const run = await runInProcess(["doctor"], env, { stderrIsTTY: true });

    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stderr).toContain("\r\u001b[2K… checking Respondent credentials");
    expect(run.stderr).toContain("\r\u001b[2K… checking Slack channel C0DOCMEMBER");
    expect(run.stderr.endsWith("\r\u001b[2K")).toBe(true);
    expect(run.stdout).not.toContain("…");
  });

  it("fails each broken check with its fix, exits 1, and never prints a credential", async () => {
    const { SLACK_SIGNING_SECRET: _unset, ...withoutSigningSecret } = services;
    const env = {
      ...localTableEnv("cli-doctor-broken"),
      ...withoutSigningSecret,
      RESPONDENT_API_SECRET: "stale-secret-value-1",
    };
    await storeSubscriptions(env, ["C0DOCMEMBER", "C0DOCOUTSIDE", "C0DOCARCHIVE", "C0DOCMISSING"]);

    const run = await runCli(["doctor"], env);

    expect(run.code).toBe(1);
    const lines = checkLines(run);
    expect(lines).toContain(
      `✘ Respondent credentials: rejected (401) by ${simulator.url} (custom URL) — check RESPONDENT_API_KEY / RESPONDENT_API_SECRET; production and staging keys differ: production is https://api.respondent.io, staging https://api-staging.respondent.io`,
    );
    expect(lines).toContain(
      "✘ Slack channel C0DOCOUTSIDE (#private-team): the app is not a member (subscribed to p-doctor) — invite it: /invite @respondent-notifier in that channel",
    );
    expect(lines).toContain(
      "✘ Slack channel C0DOCARCHIVE (#old-study): is archived (subscribed to p-doctor) — unarchive it, or remove its subscriptions: respondent-notifier subscriptions remove --project <id> --channel C0DOCARCHIVE",
    );
    expect(lines).toContain(
      "✘ Slack channel C0DOCMISSING: not found (subscribed to p-doctor) — check the channel id (channel details > About > Channel ID); a private channel also answers this until the app is invited: /invite @respondent-notifier in it",
    );
    expect(lines).toContain("✔ Slack channel C0DOCMEMBER (#research): the app is a member (subscribed to p-doctor)");
    expect(lines).toContain(
      "✘ Slack signing secret: not set, but 4 subscriptions show Reply / Mark as read buttons: every click is refused — set SLACK_SIGNING_SECRET (Slack app > Basic Information > App Credentials > Signing Secret), or turn the buttons off with --no-actions",
    );
    expect(lines.at(-1)).toBe("doctor: 8 passed, 5 failed");
    for (const secret of [API_KEY, "stale-secret-value-1", SLACK_TOKEN]) {
      expect(run.stdout + run.stderr).not.toContain(secret);
    }
  });

  it("warns, without failing, when the token cannot read channel history, saying what that costs and how to fix it", async () => {
    const blind = await startFakeSlack({
      token: SLACK_TOKEN,
      channels: [{ id: "G0DOCPRIVAT", name: "private-study" }],
      scopes: ["chat:write", "channels:read", "groups:read", "channels:history"],
    });
    try {
      const env = { ...localTableEnv("cli-doctor-scopes"), ...services, SLACK_API_URL: `${blind.url}/api/` };
      await storeSubscriptions(env, ["G0DOCPRIVAT"]);

      const run = await runCli(["doctor"], env);

      expect(run.code, run.stdout + run.stderr).toBe(0);
      expect(checkLines(run)).toContain(
        '! Slack history scopes: missing groups:history: after a lost answer from Slack a retried alert cannot look whether it is already in the channel, and is posted again marked "may repeat" — add the scope in OAuth & Permissions (or from slack-app-manifest.yaml) and reinstall the app',
      );
    } finally {
      await blind.close();
    }
  });

  it("fails a table that is missing at the configured endpoint, without creating it", async () => {
    const env = { ...localTableEnv("cli-doctor-missing"), ...services };

    const run = await runCli(["doctor"], env);

    expect(run.code).toBe(1);
    expect(checkLines(run)).toContain(
      `✘ Table: DynamoDB table "${env.TABLE_NAME}" does not exist — check TABLE_NAME and DYNAMODB_ENDPOINT; a missing table is created by the first \`poll --once\` or \`start\``,
    );
    const tableName = env.TABLE_NAME ?? "";
    const client = createDynamoDbClient({ tableName, region: "us-east-1", endpoint: env.DYNAMODB_ENDPOINT });
    try {
      expect(await describeTableProblem(client, tableName)).toMatch(/does not exist/);
    } finally {
      client.destroy();
    }
  });

  it("with no accounts configured, says which built-in stand-ins are in use and passes", async () => {
    const env = localTableEnv("cli-doctor-standins");
    await storeSubscriptions(env, ["C0DOCMEMBER"]);

    const run = await runCli(["doctor"], env);

    expect(run.code, run.stdout + run.stderr).toBe(0);
    const lines = checkLines(run);
    expect(lines[0]).toBe(
      "✔ Respondent credentials: using the built-in simulator: set RESPONDENT_API_KEY and RESPONDENT_API_SECRET (or RESPONDENT_SECRET_ARN) to check real credentials against https://api.respondent.io (production)",
    );
    expect(lines[1]).toBe(
      "✔ Slack token: using the built-in fake Slack (alerts are printed in the terminal): set SLACK_BOT_TOKEN (or SLACK_SECRET_ARN) to check your workspace",
    );
    expect(lines).toContain("✔ Slack channels: not checked: alerts go to the built-in fake Slack");
    expect(lines).toContain(
      "✔ Slack signing secret: the built-in fake Slack signs its requests with a secret made up at start",
    );
  });
});
