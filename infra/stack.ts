import { CfnOutput, Stack, type StackProps } from "aws-cdk-lib";
import type { Construct } from "constructs";
import { CREDENTIALS_SECRET_FIELDS } from "../src/config.ts";
import { EventQueue } from "./constructs/event-queue.ts";
import { Monitoring } from "./constructs/monitoring.ts";
import { NOTIFIER_TIMEOUT, Notifier } from "./constructs/notifier.ts";
import { Poller } from "./constructs/poller.ts";
import { ServiceSecret } from "./constructs/service-secret.ts";
import { SlackEndpoint } from "./constructs/slack-endpoint.ts";
import { StateTable } from "./constructs/state-table.ts";
import type { Settings } from "./settings.ts";

export const DEFAULT_POLLER_ENTRY = "lambdas/poller/handler.ts";
export const DEFAULT_NOTIFIER_ENTRY = "lambdas/notifier/handler.ts";
export const DEFAULT_HTTP_ENTRY = "lambdas/http/handler.ts";

export interface NotifierStackProps extends StackProps {
  settings: Settings;
  /** Entry files (exporting `handler`), relative to the repository root. */
  pollerEntry?: string;
  notifierEntry?: string;
  httpEntry?: string;
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

    // One secret for every credential ($0.40 a month instead of $0.40 per service). Both functions
    // may read all of it; each reads only its own fields (src/config.ts credentialsSecretSchema).
    const secret = new ServiceSecret(this, "Secret", {
      description:
        'Every credential of the notifier, JSON {"apiKey", "apiSecret" (Respondent API), "botToken", "signingSecret" (Slack app), "webhookSecret" (Respondent webhook privateKey)}; fill it with `npx respondent-notifier secret fill`',
      fields: Object.fromEntries(CREDENTIALS_SECRET_FIELDS.map((each) => [each.field, ""])),
      fillVariables: Object.fromEntries(
        CREDENTIALS_SECRET_FIELDS.filter((each) => each.required).map((each) => [each.variable, each.placeholder]),
      ),
      existing: settings.existingSecret,
    });
    const respondentSecret = secret;
    const slackSecret = secret;

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

    const slackEndpoint = new SlackEndpoint(this, "SlackEndpoint", {
      entry: props.httpEntry ?? DEFAULT_HTTP_ENTRY,
      respondentApiUrl: settings.respondentApiUrl,
      slackAdminUsers: settings.slackAdminUsers,
      logRetentionDays: settings.logRetentionDays,
      metricsNamespace,
      table: state,
      queue: events,
      respondentSecret,
      slackSecret,
    });

    const monitoring = new Monitoring(this, "Monitoring", {
      metricsNamespace,
      poller: poller.function,
      notifier: notifier.function,
      slackEndpoint: slackEndpoint.function,
      deadLetterQueue: events.deadLetterQueue,
      noPollAlarmMinutes: settings.noPollAlarmMinutes,
      alarmEmail: settings.alarmEmail,
    });

    new CfnOutput(this, "TableName", { value: state.table.tableName });
    new CfnOutput(this, "QueueUrl", { value: events.queue.queueUrl });
    new CfnOutput(this, "DeadLetterQueueUrl", { value: events.deadLetterQueue.queueUrl });
    new CfnOutput(this, "SecretArn", { value: secret.secret.secretArn });
    // The next steps after the first deploy, in order, each a command to paste (README "Deploy to AWS").
    new CfnOutput(this, "Step1FillSecret", {
      description:
        "Stores the credentials (replace the placeholders; add SLACK_SIGNING_SECRET=... and RESPONDENT_WEBHOOK_SECRET=... for the features that need them). Refuses to leave a required one empty",
      value: secret.fillCommand,
    });
    new CfnOutput(this, "Step2OperatorEnvironment", {
      description: "Points the CLI in this shell at this stack",
      value: `export NOTIFIER_TARGET=aws AWS_REGION=${this.region} TABLE_NAME=${state.table.tableName} SECRET_ARN=${secret.secret.secretArn} DLQ_URL=${events.deadLetterQueue.queueUrl}`,
    });
    new CfnOutput(this, "Step3Check", {
      description: "Checks the secret, the Respondent API, the Slack token and every subscribed channel",
      value: "npx respondent-notifier doctor",
    });
    new CfnOutput(this, "Step4Subscribe", {
      description: "Alerts a channel about a project (the app must be in the channel: /invite @respondent-notifier)",
      value: "npx respondent-notifier subscriptions add --project YOUR_PROJECT_ID --channel YOUR_CHANNEL_ID",
    });
    new CfnOutput(this, "AlarmTopicArn", { value: monitoring.topic.topicArn });
    new CfnOutput(this, "SlackRequestUrl", {
      description: "Slack's Request URL for Interactivity and the /respondent slash command (slack-app-manifest.yaml)",
      value: `${slackEndpoint.url.url}slack/events`,
    });
    new CfnOutput(this, "Step5RegisterWebhook", {
      description:
        "Optional: Respondent's webhook for replies within seconds (projects created through the API); then add RESPONDENT_WEBHOOK_SECRET=<its privateKey> with secret fill",
      value: `npx respondent-notifier webhook register --url ${slackEndpoint.url.url}respondent/webhook`,
    });
  }
}
