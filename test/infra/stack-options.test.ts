import type { Template } from "aws-cdk-lib/assertions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { awsSolutionsFindings } from "./nag.ts";
import { resource, type Synthesized, statementsOfRole, synthesize } from "./synth.ts";

const RESPONDENT_SECRET_NAME = "prod/respondent-notifier/respondent";
const SLACK_SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/respondent-notifier/slack-AbC123";
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
    existingRespondentSecret: RESPONDENT_SECRET_NAME,
    existingSlackSecret: SLACK_SECRET_ARN,
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
    const noPollAlarm = resource(template, "AWS::CloudWatch::Alarm", "MonitoringNoSuccessfulPoll").Properties;
    expect(JSON.stringify(noPollAlarm.Metrics)).toContain('"Namespace":"RespondentNotifierStaging"');
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

  it("creates no secret when both are imported", () => {
    template.resourceCountIs("AWS::SecretsManager::Secret", 0);
  });

  it("a secret imported by name reaches the poller as its ARN and is readable under any suffix, no wider", () => {
    const arnUpToName = [
      "arn:",
      { Ref: "AWS::Partition" },
      ":secretsmanager:",
      { Ref: "AWS::Region" },
      ":",
      { Ref: "AWS::AccountId" },
    ];
    const arn = { "Fn::Join": ["", [...arnUpToName, `:secret:${RESPONDENT_SECRET_NAME}`]] };
    const roleId = resource(template, "AWS::IAM::Role", "PollerRole").id;

    expect(env("Poller").RESPONDENT_SECRET_ARN).toEqual(arn);
    expect(statementsOfRole(template, roleId)).toContainEqual({
      actions: ["secretsmanager:GetSecretValue"],
      resource: { "Fn::Join": ["", [...arnUpToName, `:secret:${RESPONDENT_SECRET_NAME}-??????`]] },
    });
  });

  it("a secret imported by complete ARN is readable under exactly that ARN", () => {
    const roleId = resource(template, "AWS::IAM::Role", "NotifierRole").id;

    expect(env("Notifier").SLACK_SECRET_ARN).toBe(SLACK_SECRET_ARN);
    expect(statementsOfRole(template, roleId)).toContainEqual({
      actions: ["secretsmanager:GetSecretValue"],
      resource: SLACK_SECRET_ARN,
    });
  });

  it("with an ops channel, the poller reads the imported Slack secret under exactly that ARN too", () => {
    const roleId = resource(template, "AWS::IAM::Role", "PollerRole").id;

    expect(env("Poller")).toMatchObject({ OPS_SLACK_CHANNEL: "C0OPS000001", SLACK_SECRET_ARN });
    expect(env("Notifier").OPS_SLACK_CHANNEL).toBe("C0OPS000001");
    expect(statementsOfRole(template, roleId)).toContainEqual({
      actions: ["secretsmanager:GetSecretValue"],
      resource: SLACK_SECRET_ARN,
    });
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
