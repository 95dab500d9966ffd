import { Duration, Stack, Validations } from "aws-cdk-lib";
import { Grant, PolicyStatement, Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import type { NodejsFunction } from "aws-cdk-lib/aws-lambda-nodejs";
import { Schedule, ScheduleExpression } from "aws-cdk-lib/aws-scheduler";
import { LambdaInvoke } from "aws-cdk-lib/aws-scheduler-targets";
import { Queue, QueueEncryption } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { DEFAULT_SLACK_API_URL } from "../../src/config.ts";
import { POLLER_TIMEOUT_SECONDS } from "../../src/usecases/poll-chain.ts";
import type { LogRetentionDays } from "../settings.ts";
import { type EventQueue, VISIBILITY_TIMEOUT_PER_CONSUMER_TIMEOUT } from "./event-queue.ts";
import { ServiceFunction } from "./service-function.ts";
import type { ServiceSecret } from "./service-secret.ts";
import type { StateTable } from "./state-table.ts";

export const POLLER_SERVICE_NAME = "poller";
/** Below the shortest schedule rate (1 minute), so a poll ends before the next tick is due. */
export const POLLER_TIMEOUT = Duration.seconds(POLLER_TIMEOUT_SECONDS);
/**
 * A tick is useless minutes later (the watchdog has started a new chain by then): a message
 * that failed is redelivered once at most, then expires.
 */
export const POLL_TICK_RETENTION = Duration.minutes(10);
export const POLLER_MEMORY_MB = 512;

/** Respondent client settings the poller runs with (see RESPONDENT_* in src/config.ts). */
export const RESPONDENT_CLIENT = { pageSize: 100, maxConcurrency: 4, timeoutMs: 10_000 } as const;

export interface PollerProps {
  entry: string;
  pollRateMinutes: number;
  /** Below 60: each poll is its own invocation, chained through a delay queue (src/usecases/poll-chain.ts). */
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
  /** The fast-poll chain's delay queue, only below 60 s. */
  readonly tickQueue: Queue | undefined;

  constructor(scope: Construct, id: string, props: PollerProps) {
    super(scope, id);

    const rate = Duration.minutes(props.pollRateMinutes);
    if (POLLER_TIMEOUT.toSeconds() >= rate.toSeconds()) {
      throw new Error(
        `pollRateMinutes (${props.pollRateMinutes}) must be longer than the poller timeout (${POLLER_TIMEOUT.toSeconds()} s)`,
      );
    }
    checkPollChain(props.pollIntervalSeconds, rate);
    const chained = props.pollIntervalSeconds < 60;
    this.tickQueue = chained ? this.createTickQueue() : undefined;

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
        ...(this.tickQueue ? { POLL_TICK_QUEUE_URL: this.tickQueue.queueUrl } : {}),
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
    if (this.tickQueue) {
      // Sending the next tick; the event source adds what it needs to receive and delete them.
      Grant.addToPrincipal({ grantee: role, actions: ["sqs:SendMessage"], resourceArns: [this.tickQueue.queueArn] });
      // One tick at a time is the chain's design; 2 is the least concurrency an SQS event source takes.
      fn.addEventSource(new SqsEventSource(this.tickQueue, { batchSize: 1, maxConcurrency: 2 }));
    }

    // Scheduler invokes asynchronously: turn off Lambda's own retries of failed ticks too, and
    // drop a tick that was throttled (previous poll still running) rather than queue it up.
    fn.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: Duration.minutes(1) });

    this.schedule = new Schedule(this, "Schedule", {
      description: chained
        ? `Watches the Respondent poller's ${props.pollIntervalSeconds}-second poll chain every minute and restarts it when it has stopped`
        : `Runs the Respondent poller every ${props.pollRateMinutes} minute(s)`,
      schedule: ScheduleExpression.rate(rate),
      target: new LambdaInvoke(fn, {
        role: this.schedulerRole(fn),
        retryAttempts: 0,
        maxEventAge: Duration.minutes(1),
      }),
    });
  }

  /** A standard queue (FIFO queues take no per-message delay); ticks carry no data beyond a chain id. */
  private createTickQueue(): Queue {
    const queue = new Queue(this, "TickQueue", {
      retentionPeriod: POLL_TICK_RETENTION,
      visibilityTimeout: Duration.seconds(POLLER_TIMEOUT.toSeconds() * VISIBILITY_TIMEOUT_PER_CONSUMER_TIMEOUT),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    Validations.of(queue).acknowledge({
      id: "AwsSolutions-SQS3",
      reason:
        "Poll ticks carry only a chain id and a sequence number; a tick that cannot be processed is worthless minutes later, because the one-minute watchdog schedule starts a new chain. A dead-letter queue would only collect stale ticks.",
    });
    return queue;
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
 * Below 60 s the schedule is the chain's watchdog and must run every minute; the interval
 * divides the minute and is at least 10 s. settings.ts only offers intervals that pass; this
 * guards the construct used on its own.
 */
export function checkPollChain(intervalSeconds: number, rate: Duration): void {
  if (intervalSeconds >= 60) return;
  if (rate.toSeconds() !== 60) {
    throw new Error(
      `a poll interval of ${intervalSeconds} s is a chain watched every minute: the schedule must run every minute`,
    );
  }
  if (intervalSeconds < 10 || 60 % intervalSeconds !== 0) {
    throw new Error(`a poll interval of ${intervalSeconds} s must be at least 10 s and divide the minute`);
  }
}
