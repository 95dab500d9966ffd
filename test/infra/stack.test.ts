import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Match, type Template } from "aws-cdk-lib/assertions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  bundleDirectory,
  getAtt,
  ref,
  resource,
  resourcesOf,
  type Statement,
  type Synthesized,
  statementsOfRole,
  synthesize,
} from "./synth.ts";

let synthesized: Synthesized;
let template: Template;

beforeAll(() => {
  synthesized = synthesize();
  template = synthesized.template;
});

afterAll(() => synthesized.cleanup());

const fn = (prefix: "Poller" | "Notifier") => resource(template, "AWS::Lambda::Function", `${prefix}Function`);
const env = (prefix: "Poller" | "Notifier") =>
  (fn(prefix).Properties.Environment as { Variables: Record<string, unknown> }).Variables;
const id = (type: string, prefix: string) => resource(template, type, prefix).id;

describe("both functions", () => {
  it.each(["Poller", "Notifier"] as const)("the %s runs on the current Node.js runtime on arm64", (name) => {
    expect(fn(name).Properties).toMatchObject({
      Runtime: "nodejs24.x",
      Architectures: ["arm64"],
      Handler: "index.handler",
    });
  });

  it.each(["Poller", "Notifier"] as const)(
    "the %s is bundled as minified ESM with a source map that Node applies to stack traces",
    (name) => {
      const bundleDir = bundleDirectory(synthesized.assembly.directory, fn(name));
      const code = readFileSync(join(bundleDir, "index.mjs"), "utf8");

      expect(existsSync(join(bundleDir, "index.mjs.map"))).toBe(true);
      expect(code).toContain("createRequire");
      expect(code.split("\n").length).toBeLessThan(10);
      expect(env(name).NODE_OPTIONS).toBe("--enable-source-maps");
    },
  );

  it("the poller has 512 MB and a 55 s timeout, below the one-minute schedule", () => {
    expect(fn("Poller").Properties).toMatchObject({ MemorySize: 512, Timeout: 55 });
  });

  it("the notifier has 256 MB and a 30 s timeout", () => {
    expect(fn("Notifier").Properties).toMatchObject({ MemorySize: 256, Timeout: 30 });
  });

  it.each(["Poller", "Notifier"] as const)("the %s logs to its own log group kept for 30 days", (name) => {
    const logGroup = resource(template, "AWS::Logs::LogGroup", `${name}Logs`);

    expect(logGroup.Properties.RetentionInDays).toBe(30);
    expect(fn(name).Properties.LoggingConfig).toEqual({ LogGroup: ref(logGroup.id) });
  });

  it("the functions report metrics under the stack's namespace, each as its own service", () => {
    expect(env("Poller")).toMatchObject({
      POWERTOOLS_SERVICE_NAME: "poller",
      POWERTOOLS_METRICS_NAMESPACE: "RespondentNotifier",
      LOG_LEVEL: "INFO",
    });
    expect(env("Notifier")).toMatchObject({
      POWERTOOLS_SERVICE_NAME: "notifier",
      POWERTOOLS_METRICS_NAMESPACE: "RespondentNotifier",
      LOG_LEVEL: "INFO",
    });
  });

  it("secrets reach the functions only as ARNs, never as values", () => {
    expect(env("Poller").RESPONDENT_SECRET_ARN).toEqual(ref(id("AWS::SecretsManager::Secret", "RespondentSecret")));
    expect(env("Notifier").SLACK_SECRET_ARN).toEqual(ref(id("AWS::SecretsManager::Secret", "SlackSecret")));
    const names = [...Object.keys(env("Poller")), ...Object.keys(env("Notifier"))];
    expect(names.filter((name) => /TOKEN|API_KEY|API_SECRET$/.test(name))).toEqual([]);
  });
});

describe("without an ops channel (the default)", () => {
  it("the poller polls once per invocation and gets no Slack setting", () => {
    expect(env("Poller").POLL_INTERVAL_SECONDS).toBe("60");
    expect(Object.keys(env("Poller")).filter((name) => /SLACK/.test(name))).toEqual([]);
  });

  it("the notifier gets no ops channel", () => {
    expect(env("Notifier")).not.toHaveProperty("OPS_SLACK_CHANNEL");
  });
});

describe("the schedule", () => {
  it("invokes the poller every minute with no retries and drops a tick older than a minute", () => {
    const schedule = resource(template, "AWS::Scheduler::Schedule", "PollerSchedule");

    expect(schedule.Properties).toMatchObject({
      ScheduleExpression: "rate(1 minute)",
      State: "ENABLED",
      Target: {
        Arn: getAtt(fn("Poller").id, "Arn"),
        RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 },
      },
    });
  });

  it("Lambda does not retry a failed tick either (Scheduler invokes asynchronously)", () => {
    template.hasResourceProperties("AWS::Lambda::EventInvokeConfig", {
      FunctionName: ref(fn("Poller").id),
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 60,
    });
  });

  it("the poller never runs twice at once", () => {
    expect(fn("Poller").Properties.ReservedConcurrentExecutions).toBe(1);
  });

  it("Scheduler's role may invoke the poller function and nothing else", () => {
    const roleId = id("AWS::IAM::Role", "PollerSchedulerRole");

    expect(statementsOfRole(template, roleId)).toEqual([
      { actions: ["lambda:InvokeFunction"], resource: getAtt(fn("Poller").id, "Arn") },
    ]);
    expect(
      resource(template, "AWS::IAM::Role", "PollerSchedulerRole").Properties.AssumeRolePolicyDocument,
    ).toMatchObject({
      Statement: [
        {
          Principal: { Service: "scheduler.amazonaws.com" },
          Condition: { StringEquals: { "aws:SourceAccount": ref("AWS::AccountId") } },
        },
      ],
    });
  });
});

describe("the event queue", () => {
  it("is FIFO, deduplicated per message group by the id the poller sets, kept 14 days", () => {
    expect(resource(template, "AWS::SQS::Queue", "EventsQueue").Properties).toMatchObject({
      FifoQueue: true,
      ContentBasedDeduplication: false,
      DeduplicationScope: "messageGroup",
      FifoThroughputLimit: "perMessageGroupId",
      MessageRetentionPeriod: 14 * 24 * 3600,
    });
  });

  it("hides a received message for six notifier timeouts", () => {
    expect(resource(template, "AWS::SQS::Queue", "EventsQueue").Properties.VisibilityTimeout).toBe(6 * 30);
  });

  it("moves a message to the FIFO dead-letter queue after 12 failed receives (about 37 minutes of retries)", () => {
    const dlq = resource(template, "AWS::SQS::Queue", "EventsDeadLetterQueue");

    expect(resource(template, "AWS::SQS::Queue", "EventsQueue").Properties.RedrivePolicy).toEqual({
      deadLetterTargetArn: getAtt(dlq.id, "Arn"),
      maxReceiveCount: 12,
    });
    expect(dlq.Properties).toMatchObject({ FifoQueue: true, MessageRetentionPeriod: 14 * 24 * 3600 });
  });

  it.each(["EventsQueue", "EventsDeadLetterQueue"])(
    "%s is encrypted at rest and refuses requests without TLS",
    (name) => {
      const queue = resource(template, "AWS::SQS::Queue", name);

      expect(queue.Properties.SqsManagedSseEnabled).toBe(true);
      template.hasResourceProperties("AWS::SQS::QueuePolicy", {
        Queues: [ref(queue.id)],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: "Deny",
              Action: "sqs:*",
              Condition: { Bool: { "aws:SecureTransport": "false" } },
            }),
          ]),
        },
      });
    },
  );

  it("feeds the notifier in batches of 10 with partial failures and at most 2 concurrent batches", () => {
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      EventSourceArn: getAtt(id("AWS::SQS::Queue", "EventsQueue"), "Arn"),
      FunctionName: ref(fn("Notifier").id),
      BatchSize: 10,
      FunctionResponseTypes: ["ReportBatchItemFailures"],
      ScalingConfig: { MaximumConcurrency: 2 },
    });
  });
});

describe("the state table", () => {
  it("has the pk/sk string key and expires items by expiresAt", () => {
    expect(resource(template, "AWS::DynamoDB::Table", "State").Properties).toMatchObject({
      KeySchema: [
        { AttributeName: "pk", KeyType: "HASH" },
        { AttributeName: "sk", KeyType: "RANGE" },
      ],
      AttributeDefinitions: [
        { AttributeName: "pk", AttributeType: "S" },
        { AttributeName: "sk", AttributeType: "S" },
      ],
      TimeToLiveSpecification: { AttributeName: "expiresAt", Enabled: true },
    });
  });

  it("is on-demand, encrypted, with point-in-time recovery", () => {
    expect(resource(template, "AWS::DynamoDB::Table", "State").Properties).toMatchObject({
      BillingMode: "PAY_PER_REQUEST",
      SSESpecification: { SSEEnabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
  });

  it("survives deletion of the stack and cannot be deleted by accident", () => {
    const table = resource(template, "AWS::DynamoDB::Table", "State");

    expect(table.Properties.DeletionProtectionEnabled).toBe(true);
    expect(table).toMatchObject({ DeletionPolicy: "Retain", UpdateReplacePolicy: "Retain" });
  });
});

describe("the secrets", () => {
  it.each([
    ["RespondentSecret", { apiKey: "", apiSecret: "" }],
    ["SlackSecret", { botToken: "" }],
  ])("%s is created empty (no generated value) and kept when the stack is deleted", (name, emptyValue) => {
    const secret = resource(template, "AWS::SecretsManager::Secret", name);

    expect(JSON.parse(secret.Properties.SecretString as string)).toEqual(emptyValue);
    expect(secret.Properties.GenerateSecretString).toBeUndefined();
    expect(secret).toMatchObject({ DeletionPolicy: "Retain", UpdateReplacePolicy: "Retain" });
  });
});

describe("least privilege", () => {
  const table = () => getAtt(id("AWS::DynamoDB::Table", "State"), "Arn");
  const queue = () => getAtt(id("AWS::SQS::Queue", "EventsQueue"), "Arn");
  const logs = (name: string) => getAtt(id("AWS::Logs::LogGroup", `${name}Logs`), "Arn");

  it("the poller may read its secret, keep state, read subscriptions, queue events and log: nothing else", () => {
    const statements = statementsOfRole(template, id("AWS::IAM::Role", "PollerRole"));

    expect(statements).toEqual(
      expect.arrayContaining([
        { actions: ["logs:CreateLogStream", "logs:PutLogEvents"], resource: logs("Poller") },
        {
          actions: ["secretsmanager:GetSecretValue"],
          resource: ref(id("AWS::SecretsManager::Secret", "RespondentSecret")),
        },
        {
          actions: [
            "dynamodb:BatchGetItem",
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:Query",
            "dynamodb:UpdateItem",
          ],
          resource: [table()],
        },
        { actions: ["sqs:SendMessage"], resource: queue() },
      ]),
    );
    expect(statements).toHaveLength(4);
  });

  it("the notifier may read its secret, use the ledger, threads and subscriptions, consume the queue, dead-letter and log: nothing else", () => {
    const statements = statementsOfRole(template, id("AWS::IAM::Role", "NotifierRole"));

    expect(statements).toEqual(
      expect.arrayContaining([
        { actions: ["logs:CreateLogStream", "logs:PutLogEvents"], resource: logs("Notifier") },
        { actions: ["secretsmanager:GetSecretValue"], resource: ref(id("AWS::SecretsManager::Secret", "SlackSecret")) },
        {
          actions: [
            "dynamodb:DeleteItem",
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:Query",
            "dynamodb:UpdateItem",
          ],
          resource: [table()],
        },
        {
          actions: [
            "sqs:ChangeMessageVisibility",
            "sqs:DeleteMessage",
            "sqs:GetQueueAttributes",
            "sqs:GetQueueUrl",
            "sqs:ReceiveMessage",
          ],
          resource: queue(),
        },
        // A message that is no valid event goes to the dead letters at once: sending there, no reading.
        { actions: ["sqs:SendMessage"], resource: getAtt(id("AWS::SQS::Queue", "EventsDeadLetterQueue"), "Arn") },
      ]),
    );
    expect(statements).toHaveLength(5);
  });

  it("no role carries a managed policy", () => {
    for (const role of Object.values(resourcesOf(template, "AWS::IAM::Role"))) {
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    }
  });

  it("no allow statement anywhere uses a wildcard action or resource", () => {
    const allows = Object.values(resourcesOf(template, "AWS::IAM::Policy")).flatMap((policy) =>
      (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement.filter(
        (statement) => statement.Effect === "Allow",
      ),
    );

    expect(allows.length).toBeGreaterThan(0);
    for (const statement of allows) {
      expect([statement.Action].flat().filter((action) => action.includes("*"))).toEqual([]);
      expect(JSON.stringify(statement.Resource)).not.toContain("*");
    }
  });
});

describe("alarms", () => {
  const topic = () => ref(id("AWS::SNS::Topic", "MonitoringAlarmTopic"));
  const alarm = (name: string) => resource(template, "AWS::CloudWatch::Alarm", `Monitoring${name}`).Properties;

  it("every alarm notifies the alarm topic when it fires and when it clears", () => {
    const alarms = Object.values(resourcesOf(template, "AWS::CloudWatch::Alarm"));

    expect(alarms).toHaveLength(5);
    for (const each of alarms) {
      expect(each.Properties).toMatchObject({ AlarmActions: [topic()], OKActions: [topic()] });
    }
  });

  it("fires when the poller fails in two of three 5-minute windows", () => {
    expect(alarm("PollerErrors")).toMatchObject({
      Namespace: "AWS/Lambda",
      MetricName: "Errors",
      Dimensions: [{ Name: "FunctionName", Value: ref(fn("Poller").id) }],
      Statistic: "Sum",
      Period: 300,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 2,
      Threshold: 1,
      ComparisonOperator: "GreaterThanOrEqualToThreshold",
    });
  });

  it("fires when no poll has succeeded for 10 minutes: polls started minus polls failed, silence counting as none", () => {
    const pollerMetric = (id: string, metricName: string) => ({
      Id: id,
      MetricStat: {
        Metric: {
          Namespace: "RespondentNotifier",
          MetricName: metricName,
          Dimensions: [{ Name: "service", Value: "poller" }],
        },
        Period: 60,
        Stat: "Sum",
      },
      ReturnData: false,
    });

    expect(alarm("NoSuccessfulPoll")).toMatchObject({
      Metrics: [
        { Expression: "FILL(polls, 0) - FILL(failures, 0)", ReturnData: true },
        pollerMetric("polls", "Polls"),
        pollerMetric("failures", "PollFailures"),
      ],
      EvaluationPeriods: 10,
      DatapointsToAlarm: 10,
      Threshold: 1,
      ComparisonOperator: "LessThanThreshold",
      TreatMissingData: "breaching",
    });
  });

  it("fires as soon as a message is in the dead-letter queue", () => {
    expect(alarm("DeadLetterQueueNotEmpty")).toMatchObject({
      Namespace: "AWS/SQS",
      MetricName: "ApproximateNumberOfMessagesVisible",
      Dimensions: [{ Name: "QueueName", Value: getAtt(id("AWS::SQS::Queue", "EventsDeadLetterQueue"), "QueueName") }],
      Statistic: "Maximum",
      Threshold: 1,
      ComparisonOperator: "GreaterThanOrEqualToThreshold",
    });
  });

  it("fires on any notifier invocation error", () => {
    expect(alarm("NotifierErrors")).toMatchObject({
      Namespace: "AWS/Lambda",
      MetricName: "Errors",
      Dimensions: [{ Name: "FunctionName", Value: ref(fn("Notifier").id) }],
      Threshold: 1,
      EvaluationPeriods: 1,
    });
  });

  it("fires on any alert that failed permanently", () => {
    expect(alarm("AlertsFailedPermanently")).toMatchObject({
      Namespace: "RespondentNotifier",
      MetricName: "PermanentFailures",
      Dimensions: [{ Name: "service", Value: "notifier" }],
      Threshold: 1,
    });
  });

  it("the alarm topic refuses publishers without TLS and has no subscriber unless an e-mail is set", () => {
    template.hasResourceProperties("AWS::SNS::TopicPolicy", {
      Topics: [topic()],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
        ]),
      },
    });
    template.resourceCountIs("AWS::SNS::Subscription", 0);
  });
});

describe("outputs", () => {
  it("name the table, both queues, both secrets and the alarm topic", () => {
    const outputs = template.findOutputs("*");

    expect(outputs.TableName?.Value).toEqual(ref(id("AWS::DynamoDB::Table", "State")));
    expect(outputs.QueueUrl?.Value).toEqual(ref(id("AWS::SQS::Queue", "EventsQueue")));
    expect(outputs.DeadLetterQueueUrl?.Value).toEqual(ref(id("AWS::SQS::Queue", "EventsDeadLetterQueue")));
    expect(outputs.RespondentSecretArn?.Value).toEqual(ref(id("AWS::SecretsManager::Secret", "RespondentSecret")));
    expect(outputs.SlackSecretArn?.Value).toEqual(ref(id("AWS::SecretsManager::Secret", "SlackSecret")));
    expect(outputs.AlarmTopicArn?.Value).toEqual(ref(id("AWS::SNS::Topic", "MonitoringAlarmTopic")));
  });

  it.each([
    ["FillRespondentSecretCommand", "RespondentSecret", `'{"apiKey":"YOUR_API_KEY","apiSecret":"YOUR_API_SECRET"}'`],
    ["FillSlackSecretCommand", "SlackSecret", `'{"botToken":"xoxb-YOUR-BOT-TOKEN"}'`],
  ])("%s is the put-secret-value command for that secret", (output, secret, json) => {
    const value = template.findOutputs(output)[output]?.Value as { "Fn::Join": [string, unknown[]] };
    const parts = value["Fn::Join"][1];

    expect(parts).toEqual([
      "aws secretsmanager put-secret-value --region ",
      ref("AWS::Region"),
      " --secret-id ",
      ref(id("AWS::SecretsManager::Secret", secret)),
      ` --secret-string ${json}`,
    ]);
  });
});
