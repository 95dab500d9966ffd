import { Duration, Validations } from "aws-cdk-lib";
import {
  Alarm,
  ComparisonOperator,
  type IMetric,
  MathExpression,
  Metric,
  Stats,
  TreatMissingData,
} from "aws-cdk-lib/aws-cloudwatch";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import { Topic } from "aws-cdk-lib/aws-sns";
import { EmailSubscription } from "aws-cdk-lib/aws-sns-subscriptions";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import type { CloudWatchMetricName } from "../../src/adapters/observability.ts";
import { NOTIFIER_SERVICE_NAME } from "./notifier.ts";

export interface MonitoringProps {
  /** POWERTOOLS_METRICS_NAMESPACE of both functions. */
  metricsNamespace: string;
  poller: IFunction;
  notifier: IFunction;
  /** The http function (Slack's Request URL). */
  slackEndpoint?: IFunction | undefined;
  deadLetterQueue: IQueue;
  noPollAlarmMinutes: number;
  alarmEmail: string | undefined;
}

const FIVE_MINUTES = Duration.minutes(5);

/** Alarms on the failure modes that lose or delay alerts, all routed to one SNS topic. */
export class Monitoring extends Construct {
  readonly topic: Topic;
  readonly alarms: Alarm[] = [];

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);

    this.topic = new Topic(this, "AlarmTopic", { displayName: "Respondent notifier alarms", enforceSSL: true });
    Validations.of(this.topic).acknowledge({
      id: "AwsSolutions-SNS2",
      reason:
        "Alarm notifications carry only alarm names, states and metric values, no participant data or secrets. CloudWatch cannot publish to a topic encrypted with the AWS managed aws/sns key, so encryption would need a customer managed KMS key and key policy for this alone.",
    });
    if (props.alarmEmail) this.topic.addSubscription(new EmailSubscription(props.alarmEmail));

    const serviceMetric = (service: string, metricName: CloudWatchMetricName, period: Duration) =>
      new Metric({
        namespace: props.metricsNamespace,
        metricName,
        dimensionsMap: { service },
        statistic: Stats.SUM,
        period,
      });

    // The poller fails its invocation whenever a poll of it is incomplete (lambdas/poller/handler.ts),
    // so a good minute is one with invocations and no error, from Lambda's own (free) Invocations
    // and Errors; no custom metric needed. Counting invocations minus errors would not do below
    // 60 s: the chain's watchdog and the redelivery of a failed tick (which finds the chain moved
    // on) succeed while every poll fails. Minutes without any invocation count as bad. This is
    // also the poller's error alarm: one failed poll is healed by the next and raises nothing (a
    // separate errors alarm would cost $0.10 a month and page for exactly that).
    const minute = Duration.minutes(1);
    this.addAlarm("NoSuccessfulPoll", {
      metric: new MathExpression({
        label: "Poller invocations in minutes without a poller error",
        expression: "IF(FILL(errors, 0) > 0, 0, FILL(invocations, 0))",
        usingMetrics: {
          invocations: props.poller.metricInvocations({ period: minute, statistic: Stats.SUM }),
          errors: props.poller.metricErrors({ period: minute, statistic: Stats.SUM }),
        },
        period: minute,
      }),
      comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
      threshold: 1,
      evaluationPeriods: props.noPollAlarmMinutes,
      datapointsToAlarm: props.noPollAlarmMinutes,
      // No data means no poll ran to the end (or the poller does not run at all): that is the alarm.
      treatMissingData: TreatMissingData.BREACHING,
      description: `No poll has completed successfully for ${props.noPollAlarmMinutes} minutes: new replies are not being detected. Check the poller's errors, the schedule and the Respondent credentials.`,
    });

    this.addAlarm("DeadLetterQueueNotEmpty", {
      metric: props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: FIVE_MINUTES,
        statistic: Stats.MAXIMUM,
      }),
      threshold: 1,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      description:
        "Events reached the dead-letter queue after repeated failed deliveries: those alerts were not posted. Inspect the messages and the notifier's logs, fix the cause, then redrive the dead-letter queue.",
    });

    // No separate alarm on the notifier's invocation errors ($0.10 a month): a notifier that keeps
    // failing sends its events to the dead letters after 5 deliveries, which DeadLetterQueueNotEmpty
    // reports; a crash healed by the retry loses nothing and needs nobody. The http function keeps
    // its alarm: a failed click is retried by no one.

    if (props.slackEndpoint) {
      this.addAlarm("SlackEndpointErrors", {
        metric: props.slackEndpoint.metricErrors({ period: FIVE_MINUTES, statistic: Stats.SUM }),
        threshold: 1,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        description:
          "The http function (Slack's buttons, the Reply modal, /respondent) failed an invocation: a click or a command may have done nothing and its user may not have been told. Check the http function's log group.",
      });
    }

    this.addAlarm("AlertsFailedPermanently", {
      metric: serviceMetric(NOTIFIER_SERVICE_NAME, "PermanentFailures", FIVE_MINUTES),
      threshold: 1,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      description:
        "An alert could not be posted and retrying cannot help (channel archived or not joined, token revoked, message refused). The notifier's log names the channel and the fix.",
    });
  }

  private addAlarm(
    id: string,
    props: {
      metric: IMetric;
      threshold: number;
      evaluationPeriods: number;
      datapointsToAlarm?: number;
      comparisonOperator?: ComparisonOperator;
      treatMissingData: TreatMissingData;
      description: string;
    },
  ): void {
    const { description, ...alarmProps } = props;
    const alarm = new Alarm(this, id, {
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      ...alarmProps,
      alarmDescription: description,
    });
    alarm.addAlarmAction(new SnsAction(this.topic));
    alarm.addOkAction(new SnsAction(this.topic));
    this.alarms.push(alarm);
  }
}
