import { Duration, Stack } from "aws-cdk-lib";
import { PolicyStatement, Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import type { NodejsFunction } from "aws-cdk-lib/aws-lambda-nodejs";
import { Schedule, ScheduleExpression } from "aws-cdk-lib/aws-scheduler";
import { LambdaInvoke } from "aws-cdk-lib/aws-scheduler-targets";
import { Construct } from "constructs";
import type { LogRetentionDays } from "../settings.ts";
import type { EventQueue } from "./event-queue.ts";
import { ServiceFunction } from "./service-function.ts";
import type { ServiceSecret } from "./service-secret.ts";
import type { StateTable } from "./state-table.ts";

export const POLLER_SERVICE_NAME = "poller";
/** Below the shortest schedule rate (1 minute), so a poll ends before the next tick is due. */
export const POLLER_TIMEOUT = Duration.seconds(55);
export const POLLER_MEMORY_MB = 512;

/** Respondent client settings the poller runs with (see RESPONDENT_* in src/config.ts). */
export const RESPONDENT_CLIENT = { pageSize: 100, maxConcurrency: 4, timeoutMs: 10_000 } as const;

export interface PollerProps {
  entry: string;
  pollRateMinutes: number;
  respondentApiUrl: string;
  logRetentionDays: LogRetentionDays;
  metricsNamespace: string;
  table: StateTable;
  queue: EventQueue;
  respondentSecret: ServiceSecret;
}

/**
 * The poller function and the schedule that runs it. It never runs twice at once (reserved
 * concurrency 1) and is never retried: a failed or dropped tick is covered by the next one,
 * which re-polls from the stored state anyway.
 */
export class Poller extends Construct {
  readonly function: NodejsFunction;
  readonly schedule: Schedule;

  constructor(scope: Construct, id: string, props: PollerProps) {
    super(scope, id);

    const rate = Duration.minutes(props.pollRateMinutes);
    if (POLLER_TIMEOUT.toSeconds() >= rate.toSeconds()) {
      throw new Error(
        `pollRateMinutes (${props.pollRateMinutes}) must be longer than the poller timeout (${POLLER_TIMEOUT.toSeconds()} s)`,
      );
    }

    const { function: fn, role } = new ServiceFunction(this, "Poller", {
      entry: props.entry,
      description: "Polls Respondent conversations and queues an event for each new participant reply",
      memorySize: POLLER_MEMORY_MB,
      timeout: POLLER_TIMEOUT,
      serviceName: POLLER_SERVICE_NAME,
      metricsNamespace: props.metricsNamespace,
      logRetentionDays: props.logRetentionDays,
      reservedConcurrentExecutions: 1,
      environment: {
        RESPONDENT_SECRET_ARN: props.respondentSecret.secret.secretArn,
        RESPONDENT_API_URL: props.respondentApiUrl,
        RESPONDENT_PAGE_SIZE: String(RESPONDENT_CLIENT.pageSize),
        RESPONDENT_MAX_CONCURRENCY: String(RESPONDENT_CLIENT.maxConcurrency),
        RESPONDENT_TIMEOUT_MS: String(RESPONDENT_CLIENT.timeoutMs),
        TABLE_NAME: props.table.table.tableName,
        QUEUE_URL: props.queue.queue.queueUrl,
      },
    });
    this.function = fn;

    props.respondentSecret.grantRead(role);
    props.table.grantPollerAccess(role);
    props.queue.grantSend(role);

    // Scheduler invokes asynchronously: turn off Lambda's own retries of failed ticks too, and
    // drop a tick that was throttled (previous poll still running) rather than queue it up.
    fn.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: Duration.minutes(1) });

    this.schedule = new Schedule(this, "Schedule", {
      description: `Runs the Respondent poller every ${props.pollRateMinutes} minute(s)`,
      schedule: ScheduleExpression.rate(rate),
      target: new LambdaInvoke(fn, {
        role: this.schedulerRole(fn),
        retryAttempts: 0,
        maxEventAge: Duration.minutes(1),
      }),
    });
  }

  /**
   * The role Scheduler assumes to start the poller. The default target role may invoke every
   * version and alias (`<function arn>:*`); the schedule only ever invokes the function itself.
   * It is handed over without policy updates so the target cannot widen it again.
   */
  private schedulerRole(fn: NodejsFunction) {
    const { account, region, partition } = Stack.of(this);
    const role = new Role(this, "SchedulerRole", {
      description: "Lets EventBridge Scheduler invoke the Respondent poller",
      assumedBy: new ServicePrincipal("scheduler.amazonaws.com", {
        // Only schedules of this account's default group may assume it (confused deputy).
        conditions: {
          StringEquals: {
            "aws:SourceAccount": account,
            "aws:SourceArn": `arn:${partition}:scheduler:${region}:${account}:schedule-group/default`,
          },
        },
      }),
    });
    role.addToPrincipalPolicy(new PolicyStatement({ actions: ["lambda:InvokeFunction"], resources: [fn.functionArn] }));
    return role.withoutPolicyUpdates();
  }
}
