import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RespondentSimulator, startRespondentSimulator } from "../../src/local/simulator.ts";
import { CLI_TEST_TIMEOUT_MS } from "../support/cli.ts";
import { localTableEnv, runInProcess } from "./helpers.ts";

const OURS = "https://notifier.example.com/respondent/webhook";
const THEIRS = "https://crm.example.org/hooks/respondent";

describe("respondent-notifier webhook register | status | remove", { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  let simulator: RespondentSimulator;
  let env: Record<string, string>;

  beforeAll(async () => {
    simulator = await startRespondentSimulator({ apiKey: "webhook-cli-key", apiSecret: "webhook-cli-secret" });
    env = {
      ...localTableEnv("cli-webhook"),
      RESPONDENT_API_URL: simulator.url,
      RESPONDENT_API_KEY: simulator.apiKey,
      RESPONDENT_API_SECRET: simulator.apiSecret,
    };
  });
  afterAll(async () => {
    await simulator.close();
  });

  it("registers ours, refuses to take another integration's without --replace (naming it), and removes only ours", async () => {
    const none = await runInProcess(["webhook", "status"], env);
    expect(none.code, none.stderr).toBe(0);
    expect(none.stdout).toContain("no webhook registered");

    const registered = await runInProcess(["webhook", "register", "--url", OURS], env);
    expect(registered.code, registered.stderr).toBe(0);
    expect(registered.stdout).toContain(`webhook registered: ${OURS}`);
    expect(registered.stdout).toContain(`signing key: ${simulator.webhook?.privateKey}`);
    expect(simulator.webhook?.url).toBe(OURS);

    const status = await runInProcess(["webhook", "status"], env);
    expect(status.stdout).toContain(`webhook: ${OURS}`);
    expect(status.stdout).toContain("registered by this notifier");

    // Another integration takes the organisation's one webhook.
    simulator.registerWebhook(THEIRS);
    const foreign = await runInProcess(["webhook", "status"], env);
    expect(foreign.stdout).toContain("registered by another integration");

    const refused = await runInProcess(["webhook", "register", "--url", OURS], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(THEIRS);
    expect(refused.stderr).toContain("--replace");
    expect(simulator.webhook?.url).toBe(THEIRS);

    const notRemoved = await runInProcess(["webhook", "remove"], env);
    expect(notRemoved.code).toBe(1);
    expect(simulator.webhook?.url).toBe(THEIRS);

    const replaced = await runInProcess(["webhook", "register", "--url", OURS, "--replace"], env);
    expect(replaced.code, replaced.stderr).toBe(0);
    expect(replaced.stdout).toContain(`replaced: ${THEIRS}`);
    expect(simulator.webhook?.url).toBe(OURS);

    const removed = await runInProcess(["webhook", "remove"], env);
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout).toContain(`webhook removed: ${OURS}`);
    expect(simulator.webhook).toBeUndefined();
  });

  it("refuses a --url that is not an http(s) URL with the usage exit code", async () => {
    const run = await runInProcess(["webhook", "register", "--url", "ftp://nope"], env);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("--url");
  });
});
