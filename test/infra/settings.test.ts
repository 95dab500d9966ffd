import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../infra/constructs/service-function.ts";
import { parseSettings, unknownSettingNames } from "../../infra/settings.ts";
import { ConfigError } from "../../src/errors.ts";

function rejection(context: Record<string, unknown>): ConfigError {
  try {
    parseSettings(context);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(context)} to be rejected`);
}

describe("settings", () => {
  it("default to polling api.respondent.io once a minute, no ops channel, alarming after 10 silent minutes, keeping logs 30 days", () => {
    expect(parseSettings({})).toEqual({
      stackName: "RespondentNotifier",
      respondentApiUrl: "https://api.respondent.io",
      pollRateMinutes: 1,
      pollIntervalSeconds: 60,
      opsChannelId: undefined,
      noPollAlarmMinutes: 10,
      logRetentionDays: 30,
      alarmEmail: undefined,
      conversationUrlTemplate: undefined,
      existingSecret: undefined,
      reservePollerConcurrency: false,
      slackAdminUsers: [],
    });
  });

  it("read slackAdminUsers as comma-separated Slack user ids (or a cdk.json list)", () => {
    expect(parseSettings({ slackAdminUsers: " U0ADMIN0001,U0ADMIN0002 " }).slackAdminUsers).toEqual([
      "U0ADMIN0001",
      "U0ADMIN0002",
    ]);
    expect(parseSettings({ slackAdminUsers: ["U0ADMIN0001"] }).slackAdminUsers).toEqual(["U0ADMIN0001"]);
  });

  it("accept values as the strings `-c name=value` passes and as cdk.json numbers", () => {
    expect(parseSettings({ pollRateMinutes: "5", noPollAlarmMinutes: 15, logRetentionDays: "365" })).toMatchObject({
      pollRateMinutes: 5,
      noPollAlarmMinutes: 15,
      logRetentionDays: 365,
    });
  });

  it("treat an empty value as not set", () => {
    expect(parseSettings({ alarmEmail: "", respondentApiUrl: " " })).toMatchObject({
      alarmEmail: undefined,
      respondentApiUrl: "https://api.respondent.io",
    });
  });

  it("accept an existing secret by name or complete ARN", () => {
    for (const existing of [
      "prod/respondent",
      "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/respondent-AbC123",
    ]) {
      expect(parseSettings({ existingSecret: existing }).existingSecret).toBe(existing);
    }
  });

  it.each([
    ["stackName", "1-starts-with-a-digit", "CloudFormation stack name"],
    ["respondentApiUrl", "http://api.respondent.io", "https URL"],
    ["respondentApiUrl", "not a url", "https URL"],
    ["pollRateMinutes", "0", "whole number from 1 to 60"],
    ["pollRateMinutes", "1.5", "whole number from 1 to 60"],
    ["pollRateMinutes", "often", "whole number from 1 to 60"],
    ["noPollAlarmMinutes", "1441", "whole number from 2 to 1440"],
    ["pollIntervalSeconds", "5", "one of 10, 15, 20, 30, 60"],
    ["pollIntervalSeconds", "25", "one of 10, 15, 20, 30, 60"],
    ["pollIntervalSeconds", "90", "one of 10, 15, 20, 30, 60"],
    ["pollIntervalSeconds", "fast", "one of 10, 15, 20, 30, 60"],
    ["opsChannelId", "#ops", "must be a Slack channel id"],
    ["opsChannelId", "c0123456789", "must be a Slack channel id"],
    ["logRetentionDays", "31", "1, 3, 5, 7, 14, 30, 60"],
    ["alarmEmail", "oncall", "e-mail address"],
    ["conversationUrlTemplate", "https://app.respondent.io/conversations", "must contain {conversationUid}"],
    ["conversationUrlTemplate", "http://app.respondent.io/{conversationUid}", "https URL"],
    ["existingSecret", "has spaces", "secret name"],
    ["existingSecret", "arn:aws:s3:::bucket", "secret name"],
    ["existingSecret", "arn:aws:secretsmanager:us-east-1:123456789012:secret:slack", "complete secret ARN"],
    ["reservePollerConcurrency", "yes", "true or false"],
    ["slackAdminUsers", "jane,U0ADMIN0001", "Slack user ids"],
  ])("reject %s = %j, naming the setting and what is allowed", (name, value, allowed) => {
    const error = rejection({ [name]: value });

    expect(error.field).toBe(name);
    expect(error.message).toContain(name);
    expect(error.message).toContain(allowed);
    expect(error.message).toContain(JSON.stringify(value));
  });

  it("accept a sub-minute poll interval and an ops channel id", () => {
    expect(parseSettings({ pollIntervalSeconds: "15", opsChannelId: "C0OPS000001" })).toMatchObject({
      pollIntervalSeconds: 15,
      opsChannelId: "C0OPS000001",
    });
  });

  it("reject a sub-minute poll interval unless the schedule runs every minute", () => {
    const error = rejection({ pollIntervalSeconds: 30, pollRateMinutes: 5 });

    expect(error.field).toBe("pollIntervalSeconds");
    expect(error.message).toContain("pollRateMinutes must be 1 (it is 5)");
  });

  it("reject a no-poll alarm window shorter than two poll intervals", () => {
    const error = rejection({ pollRateMinutes: 10, noPollAlarmMinutes: 15 });

    expect(error.field).toBe("noPollAlarmMinutes");
    expect(error.message).toContain("at least twice pollRateMinutes (10)");
  });

  it("flag context keys that look like settings but are none, and leave CDK's own keys alone", () => {
    expect(
      unknownSettingNames([
        "pollRate",
        "pollRateMinutes",
        "aws:cdk:bundling-stacks",
        "@aws-cdk/core:failSynthOnValidationErrors",
        "acknowledged-issue-numbers",
        "cli-telemetry",
      ]),
    ).toEqual(["pollRate"]);
  });
});

describe("cdk synth", () => {
  const synth = (...args: string[]) => {
    const outdir = mkdtempSync(join(tmpdir(), "notifier-cdk-"));
    try {
      return spawnSync(join(REPO_ROOT, "node_modules/.bin/cdk"), ["synth", "--quiet", "--output", outdir, ...args], {
        cwd: REPO_ROOT,
        encoding: "utf8",
        timeout: 60_000,
        env: { ...process.env, AWS_EC2_METADATA_DISABLED: "true" },
      });
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  };

  it("fails on a bad setting with a message naming it, before building anything", () => {
    const result = synth("-c", "pollRateMinutes=0");

    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain("pollRateMinutes: must be a whole number from 1 to 60");
    expect(result.stderr).not.toContain("Bundling asset");
  });

  it("fails on a misspelt setting instead of ignoring it", () => {
    const result = synth("-c", "pollRate=5");

    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain("pollRate: unknown setting");
  });
});
