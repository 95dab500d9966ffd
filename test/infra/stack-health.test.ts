import { Duration } from "aws-cdk-lib";
import type { Template } from "aws-cdk-lib/assertions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkPollChain } from "../../infra/constructs/poller.ts";
import { awsSolutionsFindings } from "./nag.ts";
import { getAtt, ref, resource, type Synthesized, statementsOfRole, synthesize } from "./synth.ts";

const OPS_CHANNEL = "C0OPS000001";

let synthesized: Synthesized;
let template: Template;

beforeAll(() => {
  synthesized = synthesize({ opsChannelId: OPS_CHANNEL, pollIntervalSeconds: "10" });
  template = synthesized.template;
});

afterAll(() => synthesized.cleanup());

const fn = (prefix: "Poller" | "Notifier") => resource(template, "AWS::Lambda::Function", `${prefix}Function`);
const env = (prefix: "Poller" | "Notifier") =>
  (fn(prefix).Properties.Environment as { Variables: Record<string, unknown> }).Variables;
const id = (type: string, prefix: string) => resource(template, type, prefix).id;

describe("a stack with an ops channel and 10-second polling", () => {
  it("gives both functions the ops channel, and the poller the one secret's ARN for the Slack token too (never its value)", () => {
    expect(env("Poller")).toMatchObject({
      OPS_SLACK_CHANNEL: OPS_CHANNEL,
      SLACK_SECRET_ARN: ref(id("AWS::SecretsManager::Secret", "Secret")),
      SLACK_API_URL: "https://slack.com/api/",
      POLL_INTERVAL_SECONDS: "10",
      POLL_TICK_QUEUE_URL: ref(id("AWS::SQS::Queue", "PollerTickQueue")),
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
        // The chain's next tick; the event source's own statement receives and deletes them.
        { actions: ["sqs:SendMessage"], resource: getAtt(id("AWS::SQS::Queue", "PollerTickQueue"), "Arn") },
        {
          actions: [
            "sqs:ChangeMessageVisibility",
            "sqs:DeleteMessage",
            "sqs:GetQueueAttributes",
            "sqs:GetQueueUrl",
            "sqs:ReceiveMessage",
          ],
          resource: getAtt(id("AWS::SQS::Queue", "PollerTickQueue"), "Arn"),
        },
      ]),
    );
    expect(statements).toHaveLength(6);
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

  it("chains its polls through a standard delay queue read one tick at a time, the one-minute schedule watching the chain", () => {
    const schedule = resource(template, "AWS::Scheduler::Schedule", "PollerSchedule");
    expect(schedule.Properties.ScheduleExpression).toBe("rate(1 minute)");
    expect(String(schedule.Properties.Description)).toContain("10-second poll chain");
    expect(fn("Poller").Properties).toMatchObject({ Timeout: 55 });

    const queue = resource(template, "AWS::SQS::Queue", "PollerTickQueue");
    expect(queue.Properties.FifoQueue).toBeUndefined();
    expect(queue.Properties).toMatchObject({
      MessageRetentionPeriod: 600,
      VisibilityTimeout: 330,
      SqsManagedSseEnabled: true,
    });
    const mapping = template.findResources("AWS::Lambda::EventSourceMapping", {
      Properties: { EventSourceArn: getAtt(queue.id, "Arn") },
    });
    expect(Object.values(mapping).map((each) => each.Properties)).toEqual([
      expect.objectContaining({
        FunctionName: ref(fn("Poller").id),
        BatchSize: 1,
        ScalingConfig: { MaximumConcurrency: 2 },
      }),
    ]);
  });

  it("passes the cdk-nag AwsSolutions checks", () => {
    expect(awsSolutionsFindings(synthesized.stack)).toEqual([]);
  });
});

describe("the poll chain's consistency check", () => {
  const everyMinute = Duration.minutes(1);

  it.each([10, 15, 20, 30, 60])("accepts %i s on a one-minute schedule", (seconds) => {
    expect(() => checkPollChain(seconds, everyMinute)).not.toThrow();
  });

  it.each([5, 25])("refuses %i s: below 10 s or not dividing the minute", (seconds) => {
    expect(() => checkPollChain(seconds, everyMinute)).toThrow("must be at least 10 s and divide the minute");
  });

  it("refuses a chain whose watchdog would run less often than every minute", () => {
    expect(() => checkPollChain(15, Duration.minutes(5))).toThrow("the schedule must run every minute");
  });

  it("lets any schedule poll once per invocation", () => {
    expect(() => checkPollChain(60, Duration.minutes(5))).not.toThrow();
  });
});
