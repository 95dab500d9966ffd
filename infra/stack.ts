import { CfnOutput, Stack, type StackProps } from "aws-cdk-lib";
import type { Construct } from "constructs";
import { RESPONDENT_SECRET_PLACEHOLDERS, SLACK_SECRET_PLACEHOLDERS } from "../src/config.ts";
import { EventQueue } from "./constructs/event-queue.ts";
import { Monitoring } from "./constructs/monitoring.ts";
import { NOTIFIER_TIMEOUT, Notifier } from "./constructs/notifier.ts";
import { Poller } from "./constructs/poller.ts";
import { ServiceSecret } from "./constructs/service-secret.ts";
import { StateTable } from "./constructs/state-table.ts";
import type { Settings } from "./settings.ts";

export const DEFAULT_POLLER_ENTRY = "lambdas/poller/handler.ts";
export const DEFAULT_NOTIFIER_ENTRY = "lambdas/notifier/handler.ts";

export interface NotifierStackProps extends StackProps {
  settings: Settings;
  /** Entry files (exporting `handler`), relative to the repository root. */
  pollerEntry?: string;
  notifierEntry?: string;
}

/** The whole service: schedule -> poller -> FIFO queue -> notifier -> Slack, with state in DynamoDB. */
export class NotifierStack extends Stack {
  constructor(scope: Construct, id: string, props: NotifierStackProps) {
    super(scope, id, props);
    const { settings } = props;
    // One namespace per deployment, so two stacks in one account never satisfy each other's alarms.
    const metricsNamespace = this.stackName;

    const state = new StateTable(this, "State");
    const events = new EventQueue(this, "Events", { consumerTimeout: NOTIFIER_TIMEOUT });

    const respondentSecret = new ServiceSecret(this, "RespondentSecret", {
      description: 'Respondent API credentials, JSON {"apiKey": "...", "apiSecret": "..."}',
      fields: RESPONDENT_SECRET_PLACEHOLDERS,
      existing: settings.existingRespondentSecret,
    });
    const slackSecret = new ServiceSecret(this, "SlackSecret", {
      description: 'Slack bot token, JSON {"botToken": "xoxb-..."}',
      fields: SLACK_SECRET_PLACEHOLDERS,
      existing: settings.existingSlackSecret,
    });

    const poller = new Poller(this, "Poller", {
      entry: props.pollerEntry ?? DEFAULT_POLLER_ENTRY,
      pollRateMinutes: settings.pollRateMinutes,
      pollIntervalSeconds: settings.pollIntervalSeconds,
      ops: settings.opsChannelId ? { channelId: settings.opsChannelId, slackSecret } : undefined,
      respondentApiUrl: settings.respondentApiUrl,
      logRetentionDays: settings.logRetentionDays,
      metricsNamespace,
      table: state,
      queue: events,
      respondentSecret,
      reserveConcurrency: settings.reservePollerConcurrency,
    });

    const notifier = new Notifier(this, "Notifier", {
      entry: props.notifierEntry ?? DEFAULT_NOTIFIER_ENTRY,
      conversationUrlTemplate: settings.conversationUrlTemplate,
      opsChannelId: settings.opsChannelId,
      logRetentionDays: settings.logRetentionDays,
      metricsNamespace,
      table: state,
      queue: events,
      slackSecret,
    });

    const monitoring = new Monitoring(this, "Monitoring", {
      metricsNamespace,
      poller: poller.function,
      notifier: notifier.function,
      deadLetterQueue: events.deadLetterQueue,
      noPollAlarmMinutes: settings.noPollAlarmMinutes,
      alarmEmail: settings.alarmEmail,
    });

    new CfnOutput(this, "TableName", { value: state.table.tableName });
    new CfnOutput(this, "QueueUrl", { value: events.queue.queueUrl });
    new CfnOutput(this, "DeadLetterQueueUrl", { value: events.deadLetterQueue.queueUrl });
    new CfnOutput(this, "RespondentSecretArn", { value: respondentSecret.secret.secretArn });
    new CfnOutput(this, "SlackSecretArn", { value: slackSecret.secret.secretArn });
    new CfnOutput(this, "FillRespondentSecretCommand", {
      description: "Stores the Respondent API key and secret (replace the placeholders)",
      value: respondentSecret.fillCommand,
    });
    new CfnOutput(this, "FillSlackSecretCommand", {
      description: "Stores the Slack bot token (replace the placeholder)",
      value: slackSecret.fillCommand,
    });
    new CfnOutput(this, "AlarmTopicArn", { value: monitoring.topic.topicArn });
  }
}
