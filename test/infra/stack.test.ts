import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Match, type Template } from "aws-cdk-lib/assertions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { templateUsage } from "../../bench/template-usage.ts";
import { CLOUDWATCH_METRICS } from "../../src/adapters/observability.ts";
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
    // One secret holds every credential: each function reads its own fields of it.
    expect(env("Poller").RESPONDENT_SECRET_ARN).toEqual(ref(id("AWS::SecretsManager::Secret", "Secret")));
    expect(env("Notifier").SLACK_SECRET_ARN).toEqual(ref(id("AWS::SecretsManager::Secret", "Secret")));
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

  it("no function reserves concurrency (a new account's quota of 10 leaves none to reserve)", () => {
    const functions = Object.values(template.findResources("AWS::Lambda::Function"));
    expect(functions.length).toBeGreaterThanOrEqual(2);
    for (const fnResource of functions) expect(fnResource.Properties.ReservedConcurrentExecutions).toBeUndefined();
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
  it("is one secret, created with every credential field empty (no generated value) and kept when the stack is deleted", () => {
    template.resourceCountIs("AWS::SecretsManager::Secret", 1);
    const secret = resource(template, "AWS::SecretsManager::Secret", "Secret");

    expect(JSON.parse(secret.Properties.SecretString as string)).toEqual({
      apiKey: "",
      apiSecret: "",
      botToken: "",
      signingSecret: "",
      webhookSecret: "",
    });
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
          resource: ref(id("AWS::SecretsManager::Secret", "Secret")),
        },
        {
          actions: [
            "dynamodb:BatchGetItem",
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:Query",
            "dynamodb:UpdateItem",
          ],
          resource: table(),
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
        { actions: ["secretsmanager:GetSecretValue"], resource: ref(id("AWS::SecretsManager::Secret", "Secret")) },
        {
          actions: [
            "dynamodb:BatchGetItem",
            "dynamodb:DeleteItem",
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:Query",
            "dynamodb:UpdateItem",
          ],
          resource: table(),
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

    expect(alarms).toHaveLength(4);
    for (const each of alarms) {
      expect(each.Properties).toMatchObject({ AlarmActions: [topic()], OKActions: [topic()] });
    }
  });

  it("read exactly the custom metrics the functions publish: none is published that no alarm needs", () => {
    const usage = templateUsage(template.toJSON() as Parameters<typeof templateUsage>[0], "RespondentNotifier");
    const alarmed = new Set(usage.customMetrics.map((metric) => metric.split("/")[1]));

    expect([...alarmed].sort()).toEqual([...CLOUDWATCH_METRICS].sort());
  });

  it("fires when no poll has succeeded for 10 minutes: poller invocations minus failed ones (Lambda's own metrics), silence counting as none", () => {
    const pollerMetric = (id: string, metricName: string) => ({
      Id: id,
      MetricStat: {
        Metric: {
          Namespace: "AWS/Lambda",
          MetricName: metricName,
          Dimensions: [{ Name: "FunctionName", Value: ref(fn("Poller").id) }],
        },
        Period: 60,
        Stat: "Sum",
      },
      ReturnData: false,
    });

    expect(alarm("NoSuccessfulPoll")).toMatchObject({
      Metrics: [
        { Expression: "IF(FILL(errors, 0) > 0, 0, FILL(invocations, 0))", ReturnData: true },
        pollerMetric("invocations", "Invocations"),
        pollerMetric("errors", "Errors"),
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

  it("has no separate notifier errors alarm: a notifier that keeps failing fills the dead letters, which alarm", () => {
    expect(
      Object.keys(template.findResources("AWS::CloudWatch::Alarm")).some((key) => key.includes("NotifierErrors")),
    ).toBe(false);
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
  it("name the table, both queues, the secret and the alarm topic", () => {
    const outputs = template.findOutputs("*");

    expect(outputs.TableName?.Value).toEqual(ref(id("AWS::DynamoDB::Table", "State")));
    expect(outputs.QueueUrl?.Value).toEqual(ref(id("AWS::SQS::Queue", "EventsQueue")));
    expect(outputs.DeadLetterQueueUrl?.Value).toEqual(ref(id("AWS::SQS::Queue", "EventsDeadLetterQueue")));
    expect(outputs.SecretArn?.Value).toEqual(ref(id("AWS::SecretsManager::Secret", "Secret")));
    expect(outputs.AlarmTopicArn?.Value).toEqual(ref(id("AWS::SNS::Topic", "MonitoringAlarmTopic")));
  });

  /** An output's value with the deploy-time references in it replaced by readable stand-ins. */
  const rendered = (name: string): string => {
    const value = template.findOutputs(name)[name]?.Value as string | { "Fn::Join": [string, unknown[]] };
    if (typeof value === "string") return value;
    const names: Record<string, string> = {
      [JSON.stringify(ref(id("AWS::SecretsManager::Secret", "Secret")))]: "<SecretArn>",
      [JSON.stringify(ref(id("AWS::DynamoDB::Table", "State")))]: "<TableName>",
      [JSON.stringify(ref(id("AWS::SQS::Queue", "EventsDeadLetterQueue")))]: "<DeadLetterQueueUrl>",
      [JSON.stringify(ref("AWS::Region"))]: "<region>",
    };
    return value["Fn::Join"][1]
      .map((part) => (typeof part === "string" ? part : (names[JSON.stringify(part)] ?? JSON.stringify(part))))
      .join("");
  };

  it("name each next step as a command to paste, in order", () => {
    const steps = Object.keys(template.findOutputs("*"))
      .filter((name) => name.startsWith("Step"))
      .sort();

    expect(steps).toEqual([
      "Step1FillSecret",
      "Step2OperatorEnvironment",
      "Step3Check",
      "Step4Subscribe",
      "Step5RegisterWebhook",
    ]);
    expect(rendered("Step1FillSecret")).toBe(
      "RESPONDENT_API_KEY=YOUR_API_KEY RESPONDENT_API_SECRET=YOUR_API_SECRET SLACK_BOT_TOKEN=xoxb-YOUR-BOT-TOKEN npx respondent-notifier secret fill --secret-id <SecretArn>",
    );
    expect(rendered("Step2OperatorEnvironment")).toBe(
      "export NOTIFIER_TARGET=aws AWS_REGION=<region> TABLE_NAME=<TableName> SECRET_ARN=<SecretArn> DLQ_URL=<DeadLetterQueueUrl>",
    );
    expect(rendered("Step3Check")).toBe("npx respondent-notifier doctor");
    expect(rendered("Step4Subscribe")).toBe(
      "npx respondent-notifier subscriptions add --project YOUR_PROJECT_ID --channel YOUR_CHANNEL_ID",
    );
  });
});

describe("the http function (Slack's Request URL)", () => {
  const http = () => resource(template, "AWS::Lambda::Function", "SlackEndpointHttpFunction");
  const variables = () => (http().Properties.Environment as { Variables: Record<string, unknown> }).Variables;

  it("runs on Node.js 24 on arm64 with the secret, the table and the Respondent API, reserving no concurrency", () => {
    expect(http().Properties).toMatchObject({ Runtime: "nodejs24.x", Architectures: ["arm64"] });
    // A reservation would take from new accounts' small concurrency quota (10, all of it unreservable).
    expect(http().Properties.ReservedConcurrentExecutions).toBeUndefined();
    expect(variables()).toMatchObject({
      SLACK_SECRET_ARN: ref(id("AWS::SecretsManager::Secret", "Secret")),
      RESPONDENT_SECRET_ARN: ref(id("AWS::SecretsManager::Secret", "Secret")),
      TABLE_NAME: ref(id("AWS::DynamoDB::Table", "State")),
      QUEUE_URL: ref(id("AWS::SQS::Queue", "EventsQueue")),
      RESPONDENT_API_URL: "https://api.respondent.io",
      POWERTOOLS_SERVICE_NAME: "http",
    });
    expect(variables()).not.toHaveProperty("SLACK_ADMIN_USERS");
  });

  it("is behind a Function URL that streams its answer; the handler, not IAM, verifies every request (Slack signs, it cannot sign AWS requests)", () => {
    expect(resource(template, "AWS::Lambda::Url", "SlackEndpointHttpFunction").Properties).toEqual({
      AuthType: "NONE",
      InvokeMode: "RESPONSE_STREAM",
      TargetFunctionArn: getAtt(http().id, "Arn"),
    });
  });

  it("outputs the webhook register command with the Function URL and /respondent/webhook", () => {
    const value = JSON.stringify(template.findOutputs("Step5RegisterWebhook").Step5RegisterWebhook?.Value);
    expect(value).toContain("npx respondent-notifier webhook register --url ");
    expect(value).toContain(resource(template, "AWS::Lambda::Url", "SlackEndpointHttpFunction").id);
    expect(value).toContain("respondent/webhook");
  });

  it("outputs Slack's Request URL: the Function URL with /slack/events", () => {
    const value = JSON.stringify(template.findOutputs("SlackRequestUrl").SlackRequestUrl?.Value);
    expect(value).toContain(resource(template, "AWS::Lambda::Url", "SlackEndpointHttpFunction").id);
    expect(value).toContain("slack/events");
  });

  it("may read the secret, use the table, send to the queue (a webhook hint's new replies) and log: nothing else", () => {
    const statements = statementsOfRole(template, id("AWS::IAM::Role", "SlackEndpointHttpRole"));

    expect(statements).toEqual(
      expect.arrayContaining([
        {
          actions: ["logs:CreateLogStream", "logs:PutLogEvents"],
          resource: getAtt(id("AWS::Logs::LogGroup", "SlackEndpointHttpLogs"), "Arn"),
        },
        { actions: ["secretsmanager:GetSecretValue"], resource: ref(id("AWS::SecretsManager::Secret", "Secret")) },
        {
          actions: [
            "dynamodb:BatchGetItem",
            "dynamodb:DeleteItem",
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:Query",
            "dynamodb:UpdateItem",
          ],
          resource: getAtt(id("AWS::DynamoDB::Table", "State"), "Arn"),
        },
        { actions: ["sqs:SendMessage"], resource: getAtt(id("AWS::SQS::Queue", "EventsQueue"), "Arn") },
      ]),
    );
    expect(statements).toHaveLength(4);
  });

  it("has an alarm on its errors, to the alarm topic", () => {
    expect(resource(template, "AWS::CloudWatch::Alarm", "MonitoringSlackEndpointErrors").Properties).toMatchObject({
      Namespace: "AWS/Lambda",
      MetricName: "Errors",
      Dimensions: [{ Name: "FunctionName", Value: ref(http().id) }],
      Threshold: 1,
      AlarmActions: [ref(id("AWS::SNS::Topic", "MonitoringAlarmTopic"))],
    });
  });

  it("gets SLACK_ADMIN_USERS from the slackAdminUsers setting", () => {
    const withAdmins = synthesize({ slackAdminUsers: "U0ADMIN0001, U0ADMIN0002" });
    try {
      const fnWithAdmins = resource(withAdmins.template, "AWS::Lambda::Function", "SlackEndpointHttpFunction");
      expect((fnWithAdmins.Properties.Environment as { Variables: Record<string, unknown> }).Variables).toMatchObject({
        SLACK_ADMIN_USERS: "U0ADMIN0001,U0ADMIN0002",
      });
    } finally {
      withAdmins.cleanup();
    }
  });
});
