import type { Template } from "aws-cdk-lib/assertions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { awsSolutionsFindings } from "./nag.ts";
import { resource, type Synthesized, statementsOfRole, synthesize } from "./synth.ts";

const SECRET_NAME = "prod/respondent-notifier/credentials";
const URL_TEMPLATE = "https://app.respondent.io/projects/{projectId}/conversations/{conversationUid}";

let synthesized: Synthesized;
let template: Template;

beforeAll(() => {
  // Every optional setting set, as strings: the form `cdk synth -c name=value` delivers them in.
  synthesized = synthesize({
    stackName: "RespondentNotifierStaging",
    respondentApiUrl: "https://staging-api.respondent.io/",
    pollRateMinutes: "5",
    pollIntervalSeconds: "60",
    opsChannelId: "C0OPS000001",
    noPollAlarmMinutes: "20",
    logRetentionDays: "90",
    alarmEmail: "oncall@example.com",
    conversationUrlTemplate: URL_TEMPLATE,
    existingSecret: SECRET_NAME,
    reservePollerConcurrency: "true",
  });
  template = synthesized.template;
});

afterAll(() => synthesized.cleanup());

const env = (prefix: "Poller" | "Notifier") =>
  (
    resource(template, "AWS::Lambda::Function", `${prefix}Function`).Properties.Environment as {
      Variables: Record<string, unknown>;
    }
  ).Variables;

describe("a stack with every setting given", () => {
  it("is named by stackName, which also namespaces its metrics", () => {
    expect(synthesized.stack.stackName).toBe("RespondentNotifierStaging");
    expect(env("Poller").POWERTOOLS_METRICS_NAMESPACE).toBe("RespondentNotifierStaging");
    const permanentFailures = resource(template, "AWS::CloudWatch::Alarm", "MonitoringAlertsFailedPermanently");
    expect(permanentFailures.Properties.Namespace).toBe("RespondentNotifierStaging");
  });

  it("polls the configured API every pollRateMinutes", () => {
    expect(env("Poller").RESPONDENT_API_URL).toBe("https://staging-api.respondent.io");
    expect(resource(template, "AWS::Scheduler::Schedule", "PollerSchedule").Properties.ScheduleExpression).toBe(
      "rate(5 minutes)",
    );
  });

  it("alarms after noPollAlarmMinutes without a successful poll", () => {
    expect(resource(template, "AWS::CloudWatch::Alarm", "MonitoringNoSuccessfulPoll").Properties).toMatchObject({
      EvaluationPeriods: 20,
      DatapointsToAlarm: 20,
    });
  });

  it("keeps logs for logRetentionDays", () => {
    for (const name of ["Poller", "Notifier"]) {
      expect(resource(template, "AWS::Logs::LogGroup", `${name}Logs`).Properties.RetentionInDays).toBe(90);
    }
  });

  it("subscribes alarmEmail to the alarm topic", () => {
    template.hasResourceProperties("AWS::SNS::Subscription", { Protocol: "email", Endpoint: "oncall@example.com" });
  });

  it("gives the notifier the conversation URL template", () => {
    expect(env("Notifier").CONVERSATION_URL_TEMPLATE).toBe(URL_TEMPLATE);
  });

  it("creates no secret when one is imported", () => {
    template.resourceCountIs("AWS::SecretsManager::Secret", 0);
  });

  it("a secret imported by name reaches both functions as its ARN and is readable under any suffix, no wider", () => {
    const arnUpToName = [
      "arn:",
      { Ref: "AWS::Partition" },
      ":secretsmanager:",
      { Ref: "AWS::Region" },
      ":",
      { Ref: "AWS::AccountId" },
    ];
    const arn = { "Fn::Join": ["", [...arnUpToName, `:secret:${SECRET_NAME}`]] };
    const readable = {
      actions: ["secretsmanager:GetSecretValue"],
      resource: { "Fn::Join": ["", [...arnUpToName, `:secret:${SECRET_NAME}-??????`]] },
    };

    // With an ops channel the poller reads the Slack token from the same secret.
    expect(env("Poller")).toMatchObject({
      RESPONDENT_SECRET_ARN: arn,
      SLACK_SECRET_ARN: arn,
      OPS_SLACK_CHANNEL: "C0OPS000001",
    });
    expect(env("Notifier")).toMatchObject({ SLACK_SECRET_ARN: arn, OPS_SLACK_CHANNEL: "C0OPS000001" });
    for (const role of ["PollerRole", "NotifierRole"]) {
      const statements = statementsOfRole(template, resource(template, "AWS::IAM::Role", role).id);
      expect(statements.filter((statement) => statement.actions.includes("secretsmanager:GetSecretValue"))).toEqual([
        readable,
      ]);
    }
  });

  it("reserves a concurrency of 1 for the poller with reservePollerConcurrency, and none for the notifier", () => {
    const properties = (prefix: string) => resource(template, "AWS::Lambda::Function", `${prefix}Function`).Properties;
    expect(properties("Poller").ReservedConcurrentExecutions).toBe(1);
    expect(properties("Notifier").ReservedConcurrentExecutions).toBeUndefined();
  });

  it("passes the cdk-nag AwsSolutions checks too", () => {
    expect(awsSolutionsFindings(synthesized.stack)).toEqual([]);
  });
});
