import { Duration } from "aws-cdk-lib";
import type { Template } from "aws-cdk-lib/assertions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkPollLoop } from "../../infra/constructs/poller.ts";
import { awsSolutionsFindings } from "./nag.ts";
import { getAtt, ref, resource, type Synthesized, statementsOfRole, synthesize } from "./synth.ts";

const OPS_CHANNEL = "C0OPS000001";

let synthesized: Synthesized;
let template: Template;

beforeAll(() => {
  synthesized = synthesize({ opsChannelId: OPS_CHANNEL, pollIntervalSeconds: "15" });
  template = synthesized.template;
});

afterAll(() => synthesized.cleanup());

const fn = (prefix: "Poller" | "Notifier") => resource(template, "AWS::Lambda::Function", `${prefix}Function`);
const env = (prefix: "Poller" | "Notifier") =>
  (fn(prefix).Properties.Environment as { Variables: Record<string, unknown> }).Variables;
const id = (type: string, prefix: string) => resource(template, type, prefix).id;

describe("a stack with an ops channel and 15-second polling", () => {
  it("gives both functions the ops channel, and the poller the one secret's ARN for the Slack token too (never its value)", () => {
    expect(env("Poller")).toMatchObject({
      OPS_SLACK_CHANNEL: OPS_CHANNEL,
      SLACK_SECRET_ARN: ref(id("AWS::SecretsManager::Secret", "Secret")),
      SLACK_API_URL: "https://slack.com/api/",
      POLL_INTERVAL_SECONDS: "15",
    });
    expect(env("Notifier").OPS_SLACK_CHANNEL).toBe(OPS_CHANNEL);
  });

  it("lets the poller read the Slack secret as well, and nothing more", () => {
    const table = getAtt(id("AWS::DynamoDB::Table", "State"), "Arn");
    const statements = statementsOfRole(template, id("AWS::IAM::Role", "PollerRole"));

    expect(statements).toEqual(
      expect.arrayContaining([
        {
          actions: ["logs:CreateLogStream", "logs:PutLogEvents"],
          resource: getAtt(id("AWS::Logs::LogGroup", "PollerLogs"), "Arn"),
        },
        {
          actions: ["secretsmanager:GetSecretValue"],
          resource: ref(id("AWS::SecretsManager::Secret", "Secret")),
        },
        {
          // The health record needs GetItem and PutItem only, which the poller had already.
          actions: [
            "dynamodb:BatchGetItem",
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:Query",
            "dynamodb:UpdateItem",
          ],
          resource: table,
        },
        { actions: ["sqs:SendMessage"], resource: getAtt(id("AWS::SQS::Queue", "EventsQueue"), "Arn") },
      ]),
    );
    expect(statements).toHaveLength(4);
  });

  it("needs no new permission for the notifier: pausing a subscription is an UpdateItem after a Query", () => {
    const statements = statementsOfRole(template, id("AWS::IAM::Role", "NotifierRole"));

    expect(statements).toContainEqual({
      actions: [
        "dynamodb:BatchGetItem",
        "dynamodb:DeleteItem",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:Query",
        "dynamodb:UpdateItem",
      ],
      resource: getAtt(id("AWS::DynamoDB::Table", "State"), "Arn"),
    });
    expect(statements).toHaveLength(5);
  });

  it("still schedules one invocation a minute, each ending before the next is due", () => {
    const schedule = resource(template, "AWS::Scheduler::Schedule", "PollerSchedule");

    expect(schedule.Properties.ScheduleExpression).toBe("rate(1 minute)");
    expect(fn("Poller").Properties).toMatchObject({ Timeout: 55 });
  });

  it("passes the cdk-nag AwsSolutions checks", () => {
    expect(awsSolutionsFindings(synthesized.stack)).toEqual([]);
  });
});

describe("the poll loop's consistency check", () => {
  const everyMinute = Duration.minutes(1);

  it.each([15, 20, 30, 60])("accepts %i s on a one-minute schedule", (seconds) => {
    expect(() => checkPollLoop(seconds, everyMinute)).not.toThrow();
  });

  it("refuses an interval whose last poll of the minute would not have its reserve before the timeout", () => {
    expect(() => checkPollLoop(10, everyMinute)).toThrow("puts the last poll at 50 s, which needs 60 s of the 55 s");
  });

  it("refuses an interval that does not divide the minute", () => {
    expect(() => checkPollLoop(25, everyMinute)).toThrow("does not divide the minute");
  });

  it("refuses looping on a schedule slower than once a minute", () => {
    expect(() => checkPollLoop(15, Duration.minutes(5))).toThrow("the schedule must run every minute");
  });

  it("lets any schedule poll once per invocation", () => {
    expect(() => checkPollLoop(60, Duration.minutes(5))).not.toThrow();
  });
});
