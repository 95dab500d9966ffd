import { beforeAll, describe, expect, inject, it } from "vitest";
import { createDynamoDbClient } from "../../src/adapters/dynamo/client.ts";
import { DynamoSubscriptionPauses } from "../../src/adapters/dynamo/health-store.ts";
import { CLI_TEST_TIMEOUT_MS, runCli } from "../support/cli.ts";

const CHANNEL = "C0RESUME001";
const PROJECT = "64b7f0c2e4b0a1b2c3d4e5f6";

describe("respondent-notifier subscriptions resume", { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  let env: Record<string, string>;

  beforeAll(async () => {
    env = { DYNAMODB_ENDPOINT: inject("dynamodbEndpoint"), TABLE_NAME: `resume-${Date.now()}` };
    const added = await runCli(["subscriptions", "add", "--project", PROJECT, "--channel", CHANNEL], env);
    expect(added.code, added.stderr).toBe(0);
  }, CLI_TEST_TIMEOUT_MS);

  it("shows why a subscription was paused, resumes it, and says when there was nothing to resume", async () => {
    const client = createDynamoDbClient({
      tableName: env.TABLE_NAME ?? "",
      region: "us-east-1",
      endpoint: env.DYNAMODB_ENDPOINT,
    });
    // What the notifier does when the app was removed from the channel.
    await new DynamoSubscriptionPauses(client, env.TABLE_NAME ?? "").pause(
      PROJECT,
      CHANNEL,
      "Slack channel C0RESUME001 cannot receive alerts (not_in_channel): invite the app",
      new Date("2026-06-01T12:00:00.000Z"),
    );

    const paused = await runCli(["subscriptions", "list"], env);
    expect(paused.stdout).toContain(
      "PAUSED (since 2026-06-01T12:00:00.000Z: Slack channel C0RESUME001 cannot receive alerts (not_in_channel)",
    );

    const resumed = await runCli(["subscriptions", "resume", "--project", PROJECT, "--channel", CHANNEL], env);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain(`resumed: ${PROJECT} -> ${CHANNEL}`);
    const listed = JSON.parse((await runCli(["subscriptions", "list", "--json"], env)).stdout) as Array<
      Record<string, unknown>
    >;
    expect(listed[0]).toMatchObject({ paused: false });
    expect(listed[0]).not.toHaveProperty("disabledReason");

    const again = await runCli(["subscriptions", "resume", "--project", PROJECT, "--channel", CHANNEL], env);
    expect(again.stdout).toContain("was not paused; nothing changed");
    client.destroy();
  });

  it("refuses to resume a subscription that does not exist", async () => {
    const run = await runCli(["subscriptions", "resume", "--project", "*", "--channel", CHANNEL], env);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`no subscription for project * -> channel ${CHANNEL}`);
  });
});
