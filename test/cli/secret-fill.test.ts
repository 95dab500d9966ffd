import { GetSecretValueCommand, PutSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { runInProcess } from "./helpers.ts";

/**
 * `respondent-notifier secret fill` against the stack's one secret. Secrets Manager cannot run
 * here: it is mocked at the SDK boundary, holding what the stack creates (every field empty).
 */

const ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:RespondentNotifierSecret-AbCdEf";
const EMPTY = JSON.stringify({ apiKey: "", apiSecret: "", botToken: "", signingSecret: "", webhookSecret: "" });
const VALUES = {
  RESPONDENT_API_KEY: "fill-key-8c1d",
  RESPONDENT_API_SECRET: "fill-secret-f02b",
  SLACK_BOT_TOKEN: "xoxb-fill-token-61",
  SLACK_SIGNING_SECRET: "fill-signing-3e9a",
};
/** Variables of the developer's shell that would otherwise leak into a fill. */
const CLEARED = {
  RESPONDENT_API_KEY: "",
  RESPONDENT_API_SECRET: "",
  SLACK_BOT_TOKEN: "",
  SLACK_SIGNING_SECRET: "",
  RESPONDENT_WEBHOOK_SECRET: "",
  SECRET_ARN: "",
};

const secrets = mockClient(SecretsManagerClient);
let stored: string | undefined;

beforeEach(() => {
  secrets.reset();
  stored = EMPTY;
  secrets.on(GetSecretValueCommand, { SecretId: ARN }).callsFake(async () => ({ SecretString: stored }));
  secrets.on(PutSecretValueCommand, { SecretId: ARN }).callsFake(async (input: { SecretString: string }) => {
    stored = input.SecretString;
    return {};
  });
});
afterAll(() => secrets.restore());

const writes = () =>
  secrets.commandCalls(PutSecretValueCommand).map((call) => JSON.parse(call.args[0].input.SecretString ?? ""));

describe("secret fill", () => {
  it("fills the stack's empty secret in one write, naming the fields and never printing a value", async () => {
    const run = await runInProcess(["secret", "fill", "--secret-id", ARN], { ...CLEARED, ...VALUES });

    expect(run.code).toBe(0);
    expect(writes()).toEqual([
      {
        apiKey: VALUES.RESPONDENT_API_KEY,
        apiSecret: VALUES.RESPONDENT_API_SECRET,
        botToken: VALUES.SLACK_BOT_TOKEN,
        signingSecret: VALUES.SLACK_SIGNING_SECRET,
      },
    ]);
    expect(run.stdout).toContain(
      `stored in ${ARN}: apiKey, apiSecret, botToken, signingSecret; not set (optional): webhookSecret`,
    );
    for (const value of Object.values(VALUES)) expect(run.stdout + run.stderr).not.toContain(value);
  });

  it("refuses to leave a required field empty: nothing is written, and every missing field is named with its variable", async () => {
    const run = await runInProcess(["secret", "fill"], {
      ...CLEARED,
      SECRET_ARN: ARN,
      RESPONDENT_API_KEY: VALUES.RESPONDENT_API_KEY,
    });

    expect(run.code).toBe(2);
    expect(run.stderr).toContain("nothing stored");
    expect(run.stderr).toContain("apiSecret is empty (set RESPONDENT_API_SECRET");
    expect(run.stderr).toContain("botToken is empty (set SLACK_BOT_TOKEN");
    expect(run.stderr).not.toContain(VALUES.RESPONDENT_API_KEY);
    expect(secrets.commandCalls(PutSecretValueCommand)).toHaveLength(0);
    expect(stored).toBe(EMPTY);
  });

  it("refuses a bot token of the wrong shape", async () => {
    const run = await runInProcess(["secret", "fill", "--secret-id", ARN], {
      ...CLEARED,
      ...VALUES,
      SLACK_BOT_TOKEN: "not-a-token",
    });

    expect(run.code).toBe(2);
    expect(run.stderr).toContain("botToken must be a Slack bot token starting with xoxb-");
    expect(secrets.commandCalls(PutSecretValueCommand)).toHaveLength(0);
  });

  it("rotates one credential: the fields not given keep their stored values", async () => {
    await runInProcess(["secret", "fill", "--secret-id", ARN], { ...CLEARED, ...VALUES });

    const run = await runInProcess(["secret", "fill", "--secret-id", ARN], {
      ...CLEARED,
      SLACK_BOT_TOKEN: "xoxb-rotated-token-9",
    });

    expect(run.code).toBe(0);
    expect(writes().at(-1)).toEqual({
      apiKey: VALUES.RESPONDENT_API_KEY,
      apiSecret: VALUES.RESPONDENT_API_SECRET,
      botToken: "xoxb-rotated-token-9",
      signingSecret: VALUES.SLACK_SIGNING_SECRET,
    });
    expect(run.stdout).toContain("botToken; kept: apiKey, apiSecret, signingSecret");
  });

  it("asks for the secret when neither --secret-id nor SECRET_ARN names it", async () => {
    const run = await runInProcess(["secret", "fill"], { ...CLEARED, ...VALUES });

    expect(run.code).toBe(2);
    expect(run.stderr).toContain("secret fill needs --secret-id <arn> or SECRET_ARN");
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(0);
  });
});
