import { Duration } from "aws-cdk-lib";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import type { NodejsFunction } from "aws-cdk-lib/aws-lambda-nodejs";
import { Construct } from "constructs";
import { DEFAULT_SLACK_API_URL } from "../../src/config.ts";
import type { LogRetentionDays } from "../settings.ts";
import type { EventQueue } from "./event-queue.ts";
import { ServiceFunction } from "./service-function.ts";
import type { ServiceSecret } from "./service-secret.ts";
import type { StateTable } from "./state-table.ts";

export const NOTIFIER_SERVICE_NAME = "notifier";
export const NOTIFIER_TIMEOUT = Duration.seconds(30);
export const NOTIFIER_MEMORY_MB = 256;

/**
 * How the notifier consumes the queue. Message groups (one per conversation) already serialise
 * each conversation; two concurrent batches (the lowest maximum SQS allows) keep the posting
 * rate near Slack's one message per second per channel.
 */
export const NOTIFIER_EVENT_SOURCE = { batchSize: 10, reportBatchItemFailures: true, maxConcurrency: 2 } as const;

export interface NotifierProps {
  entry: string;
  conversationUrlTemplate: string | undefined;
  /** Health transitions and paused channels are posted here. */
  opsChannelId: string | undefined;
  logRetentionDays: LogRetentionDays;
  metricsNamespace: string;
  table: StateTable;
  queue: EventQueue;
  slackSecret: ServiceSecret;
}

/** The notifier function, fed by the event queue, posting alerts to Slack. */
export class Notifier extends Construct {
  readonly function: NodejsFunction;

  constructor(scope: Construct, id: string, props: NotifierProps) {
    super(scope, id);

    const { function: fn, role } = new ServiceFunction(this, "Notifier", {
      entry: props.entry,
      description: "Posts a Slack alert for each queued new-reply event, exactly once",
      memorySize: NOTIFIER_MEMORY_MB,
      timeout: NOTIFIER_TIMEOUT,
      serviceName: NOTIFIER_SERVICE_NAME,
      metricsNamespace: props.metricsNamespace,
      logRetentionDays: props.logRetentionDays,
      environment: {
        SLACK_SECRET_ARN: props.slackSecret.secret.secretArn,
        SLACK_API_URL: DEFAULT_SLACK_API_URL,
        TABLE_NAME: props.table.table.tableName,
        QUEUE_URL: props.queue.queue.queueUrl,
        DLQ_URL: props.queue.deadLetterQueue.queueUrl,
        ...(props.conversationUrlTemplate ? { CONVERSATION_URL_TEMPLATE: props.conversationUrlTemplate } : {}),
        ...(props.opsChannelId ? { OPS_SLACK_CHANNEL: props.opsChannelId } : {}),
      },
    });
    this.function = fn;

    props.slackSecret.grantRead(role);
    props.table.grantNotifierAccess(role);
    fn.addEventSource(new SqsEventSource(props.queue.queue, NOTIFIER_EVENT_SOURCE));
    // A message that can never be delivered (not a valid event) is moved there at once.
    props.queue.grantDeadLetter(role);
  }
}
