import { Duration, Stack } from "aws-cdk-lib";
import { PolicyStatement, Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import type { NodejsFunction } from "aws-cdk-lib/aws-lambda-nodejs";
import { Schedule, ScheduleExpression } from "aws-cdk-lib/aws-scheduler";
import { LambdaInvoke } from "aws-cdk-lib/aws-scheduler-targets";
import { Construct } from "constructs";
import { DEFAULT_SLACK_API_URL } from "../../src/config.ts";
import { POLL_LOOP_WINDOW_MS, POLL_TIME_RESERVE_MS } from "../../src/usecases/poll-loop.ts";
import type { LogRetentionDays } from "../settings.ts";
import type { EventQueue } from "./event-queue.ts";
import { ServiceFunction } from "./service-function.ts";
import type { ServiceSecret } from "./service-secret.ts";
import type { StateTable } from "./state-table.ts";

export const POLLER_SERVICE_NAME = "poller";
/** Below the shortest schedule rate (1 minute), so a poll ends before the next tick is due. */
export const POLLER_TIMEOUT = Duration.seconds(55);
/**
 * Time between the scheduled tick and the handler's start that the loop allows for (a cold
 * start, the scheduler's own delay): the last poll of a minute must still find its reserve.
 */
export const POLLER_START_SLACK = Duration.seconds(2);
export const POLLER_MEMORY_MB = 512;

/** Respondent client settings the poller runs with (see RESPONDENT_* in src/config.ts). */
export const RESPONDENT_CLIENT = { pageSize: 100, maxConcurrency: 4, timeoutMs: 10_000 } as const;

export interface PollerProps {
  entry: string;
  pollRateMinutes: number;
  /** Below 60: each invocation loops, polling at this interval (see src/usecases/poll-loop.ts). */
  pollIntervalSeconds: number;
  /** Health transitions are posted here with the Slack bot token, which the poller may then read. */
  ops?: { channelId: string; slackSecret: ServiceSecret } | undefined;
  respondentApiUrl: string;
  logRetentionDays: LogRetentionDays;
  metricsNamespace: string;
  table: StateTable;
  queue: EventQueue;
  respondentSecret: ServiceSecret;
  /**
   * Reserve a concurrency of 1 (the `reservePollerConcurrency` setting). Off by default: Lambda
   * refuses a reservation that leaves an account under 10 unreserved, which is all a new account has.
   */
  reserveConcurrency?: boolean | undefined;
}

/**
 * The poller function and the schedule that runs it. It reserves no concurrency by default: a
 * tick that overlaps another (a late or duplicated scheduler delivery) finds the poll lease in
 * the table taken and skips (src/usecases/poll-lease.ts), and an overlap would be harmless anyway
 * (conditional state writes, the ledger). It is never retried: a failed or dropped tick is covered
 * by the next one, which re-polls from the stored state anyway.
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
    checkPollLoop(props.pollIntervalSeconds, rate);

    const { function: fn, role } = new ServiceFunction(this, "Poller", {
      entry: props.entry,
      description: "Polls Respondent conversations and queues an event for each new participant reply",
      memorySize: POLLER_MEMORY_MB,
      timeout: POLLER_TIMEOUT,
      serviceName: POLLER_SERVICE_NAME,
      metricsNamespace: props.metricsNamespace,
      logRetentionDays: props.logRetentionDays,
      reservedConcurrentExecutions: props.reserveConcurrency ? 1 : undefined,
      environment: {
        RESPONDENT_SECRET_ARN: props.respondentSecret.secret.secretArn,
        RESPONDENT_API_URL: props.respondentApiUrl,
        RESPONDENT_PAGE_SIZE: String(RESPONDENT_CLIENT.pageSize),
        RESPONDENT_MAX_CONCURRENCY: String(RESPONDENT_CLIENT.maxConcurrency),
        RESPONDENT_TIMEOUT_MS: String(RESPONDENT_CLIENT.timeoutMs),
        TABLE_NAME: props.table.table.tableName,
        QUEUE_URL: props.queue.queue.queueUrl,
        POLL_INTERVAL_SECONDS: String(props.pollIntervalSeconds),
        ...(props.ops
          ? {
              OPS_SLACK_CHANNEL: props.ops.channelId,
              SLACK_SECRET_ARN: props.ops.slackSecret.secret.secretArn,
              SLACK_API_URL: DEFAULT_SLACK_API_URL,
            }
          : {}),
      },
    });
    this.function = fn;

    props.respondentSecret.grantRead(role);
    // With the stack's one secret the ops channel's token is in the secret already read.
    if (props.ops && props.ops.slackSecret !== props.respondentSecret) props.ops.slackSecret.grantRead(role);
    props.table.grantPollerAccess(role);
    props.queue.grantSend(role);

    // Scheduler invokes asynchronously: turn off Lambda's own retries of failed ticks too, and
    // drop a tick that was throttled (previous poll still running) rather than queue it up.
    fn.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: Duration.minutes(1) });

    this.schedule = new Schedule(this, "Schedule", {
      description:
        props.pollIntervalSeconds < 60
          ? `Runs the Respondent poller every minute; each run polls every ${props.pollIntervalSeconds} s`
          : `Runs the Respondent poller every ${props.pollRateMinutes} minute(s)`,
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

/**
 * A looping invocation (interval below a minute) must cover exactly one scheduled minute and
 * give its last poll, at 60 s minus one interval, the loop's time reserve before the timeout.
 * settings.ts only offers intervals that pass; this guards the construct used on its own.
 */
export function checkPollLoop(intervalSeconds: number, rate: Duration): void {
  const windowSeconds = POLL_LOOP_WINDOW_MS / 1000;
  if (intervalSeconds >= windowSeconds) return;
  if (rate.toSeconds() !== windowSeconds) {
    throw new Error(
      `a poll interval of ${intervalSeconds} s loops within one minute: the schedule must run every minute`,
    );
  }
  if (windowSeconds % intervalSeconds !== 0) {
    throw new Error(`a poll interval of ${intervalSeconds} s does not divide the minute: polls would drift`);
  }
  const lastPollSeconds = windowSeconds - intervalSeconds;
  const needed = lastPollSeconds + POLL_TIME_RESERVE_MS / 1000 + POLLER_START_SLACK.toSeconds();
  if (needed > POLLER_TIMEOUT.toSeconds()) {
    throw new Error(
      `a poll interval of ${intervalSeconds} s puts the last poll at ${lastPollSeconds} s, which needs ${needed} s of the ${POLLER_TIMEOUT.toSeconds()} s timeout`,
    );
  }
}
