import { describe, expect, it } from "vitest";
import {
  credentialsSecretSchema,
  loadOperatorConfig,
  loadSecretFillConfig,
  respondentSecretSchema,
  slackSecretSchema,
} from "../../src/config.ts";
import { ConfigError } from "../../src/errors.ts";

const ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:RespondentNotifierSecret-AbCdEf";
const OTHER = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:own-slack-GhIjKl";
const FILLED = {
  apiKey: "k",
  apiSecret: "s",
  botToken: "xoxb-1-2",
  signingSecret: "0123456789abcdef0123456789abcdef",
  webhookSecret: "",
};

describe("the one credentials secret", () => {
  it("SECRET_ARN names the secret of both parts for the operator CLI; a specific ARN still wins for its part", () => {
    expect(loadOperatorConfig({ NOTIFIER_TARGET: "aws", TABLE_NAME: "notifier", SECRET_ARN: ARN })).toMatchObject({
      respondentSecretArn: ARN,
      slackSecretArn: ARN,
    });
    expect(
      loadOperatorConfig({ NOTIFIER_TARGET: "aws", TABLE_NAME: "notifier", SECRET_ARN: ARN, SLACK_SECRET_ARN: OTHER }),
    ).toMatchObject({ respondentSecretArn: ARN, slackSecretArn: OTHER });
  });

  it("refuses a SECRET_ARN that is no ARN, naming the variable", () => {
    expect(() => loadSecretFillConfig({ SECRET_ARN: "RespondentNotifierSecret" })).toThrow(ConfigError);
    expect(() => loadSecretFillConfig({ SECRET_ARN: "RespondentNotifierSecret" })).toThrow(/SECRET_ARN/);
  });

  it("requires the Respondent key pair and the bot token; the signing and webhook secrets are optional, empty meaning unset", () => {
    expect(credentialsSecretSchema.parse(FILLED)).toEqual({ ...FILLED, webhookSecret: undefined });
    for (const field of ["apiKey", "apiSecret", "botToken"] as const) {
      expect(credentialsSecretSchema.safeParse({ ...FILLED, [field]: "" }).success).toBe(false);
    }
  });

  it("each function's view reads its own fields out of the whole secret", () => {
    expect(respondentSecretSchema.parse(FILLED)).toEqual({ apiKey: "k", apiSecret: "s" });
    expect(slackSecretSchema.parse(FILLED)).toEqual({ botToken: "xoxb-1-2", signingSecret: FILLED.signingSecret });
  });
});
