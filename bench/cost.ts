import { NOTIFIER_MEMORY_MB } from "../infra/constructs/notifier.ts";
import { POLLER_MEMORY_MB } from "../infra/constructs/poller.ts";
import { SEEN_SNAPSHOT_SAVE_INTERVAL_MS } from "../src/usecases/seen-snapshot.ts";

/**
 * A monthly AWS bill for one poller at 1-minute polling, from the units and times the
 * benchmark measured. Public on-demand list prices, us-east-1, free tiers ignored.
 */
export const PRICES = {
  source:
    "us-east-1 list prices, checked 2026-11: DynamoDB on-demand since the 2024-11-01 cut (aws.amazon.com/dynamodb/pricing/on-demand), " +
    "Lambda arm64 (aws.amazon.com/lambda/pricing), SQS FIFO, Secrets Manager, CloudWatch; free tiers ignored",
  dynamoReadPerMillion: 0.125,
  dynamoWritePerMillion: 0.625,
  lambdaArmPerGbSecond: 0.0000133334,
  lambdaPerMillionRequests: 0.2,
  sqsFifoPerMillionRequests: 0.5,
  secretPerMonth: 0.4,
  secretApiPer10kCalls: 0.05,
  logsIngestPerGb: 0.5,
  customMetricPerMonth: 0.3,
} as const;

export const POLLS_PER_MONTH = 30 * 24 * 60;

/** Rough: the SQS event source mapping keeps about 5 long polls (20 s each) open on an idle queue. */
const IDLE_RECEIVES_PER_MINUTE = 15;
/** Rough: START/END/REPORT lines, the "poll finished" line and one EMF metrics blob per poll. */
const LOG_BYTES_PER_POLL = 1_800;
/** The poller's secret cache (src/adapters/secrets.ts): one GetSecretValue per 300 s per warm container. */
const SECRET_CALLS_PER_MONTH = (POLLS_PER_MONTH * 60) / 300;
const SECRETS = 2;
/** The most snapshot saves a month: one per save interval, if the cache changes in every interval. */
const SNAPSHOT_SAVES_PER_MONTH = (POLLS_PER_MONTH * 60_000) / SEEN_SNAPSHOT_SAVE_INTERVAL_MS;

export interface PollCostInput {
  readUnits: number;
  writeUnits: number;
  wallMs: number;
}

export interface MonthlyCost {
  assumptions: {
    pollsPerMonth: number;
    coldPollsPerMonth: number;
    pollerMemoryMb: number;
    notifierMemoryMb: number;
    idleSqsReceivesPerMonth: number;
    logBytesPerPoll: number;
    customMetrics: number;
    snapshotSavesPerMonth: number;
  };
  /** Polls and snapshot saves. */
  dynamoDb: number;
  /** The part of dynamoDb that is snapshot saves (at most one per save interval). */
  dynamoDbSnapshotSaves: number;
  /** DynamoDB if every poll were a cold one (no warm container ever; no snapshot saves then). */
  dynamoDbAllCold: number;
  lambda: number;
  sqs: number;
  secretsManager: number;
  cloudWatchLogs: number;
  cloudWatchMetrics: number;
  total: number;
  /** Extra cost per 1,000 alerts delivered (notifier DynamoDB units, SQS, notifier Lambda). */
  per1000Alerts: number;
}

export function monthlyCost(input: {
  warm: PollCostInput;
  cold: PollCostInput;
  coldStartsPerDay: number;
  metricNames: number;
  delivery:
    | { alerts: number; readUnits: number; writeUnits: number; wallMs: number; queueRequests: number }
    | undefined;
  /** Write units of one snapshot save; 0 without snapshots. */
  snapshotSaveWriteUnits: number;
}): MonthlyCost {
  const coldPolls = Math.min(POLLS_PER_MONTH, input.coldStartsPerDay * 30);
  const warmPolls = POLLS_PER_MONTH - coldPolls;
  const dynamo = (reads: number, writes: number) =>
    (reads * PRICES.dynamoReadPerMillion + writes * PRICES.dynamoWritePerMillion) / 1e6;
  const snapshotSavesPerMonth = input.snapshotSaveWriteUnits > 0 ? SNAPSHOT_SAVES_PER_MONTH : 0;
  const dynamoDbSnapshotSaves = dynamo(0, snapshotSavesPerMonth * input.snapshotSaveWriteUnits);
  const dynamoDb =
    dynamo(
      warmPolls * input.warm.readUnits + coldPolls * input.cold.readUnits,
      warmPolls * input.warm.writeUnits + coldPolls * input.cold.writeUnits,
    ) + dynamoDbSnapshotSaves;
  const dynamoDbAllCold = dynamo(POLLS_PER_MONTH * input.cold.readUnits, POLLS_PER_MONTH * input.cold.writeUnits);
  const pollerSeconds = (warmPolls * input.warm.wallMs + coldPolls * input.cold.wallMs) / 1000;
  const lambda =
    pollerSeconds * (POLLER_MEMORY_MB / 1024) * PRICES.lambdaArmPerGbSecond +
    (POLLS_PER_MONTH * PRICES.lambdaPerMillionRequests) / 1e6;
  const idleReceives = IDLE_RECEIVES_PER_MINUTE * POLLS_PER_MONTH;
  const sqs = (idleReceives * PRICES.sqsFifoPerMillionRequests) / 1e6;
  const secretsManager =
    SECRETS * PRICES.secretPerMonth + (SECRET_CALLS_PER_MONTH / 10_000) * PRICES.secretApiPer10kCalls;
  const cloudWatchLogs = ((POLLS_PER_MONTH * LOG_BYTES_PER_POLL) / 1024 ** 3) * PRICES.logsIngestPerGb;
  const cloudWatchMetrics = input.metricNames * PRICES.customMetricPerMonth;

  let per1000Alerts = 0;
  const delivery = input.delivery;
  if (delivery && delivery.alerts > 0) {
    const perAlert = (value: number) => value / delivery.alerts;
    // Send (batched by the poller), receive and delete (batched by the event source): about one request each.
    const sqsRequests = perAlert(delivery.queueRequests) + 2 / 10;
    per1000Alerts =
      1000 *
      (dynamo(perAlert(delivery.readUnits), perAlert(delivery.writeUnits)) +
        (sqsRequests * PRICES.sqsFifoPerMillionRequests) / 1e6 +
        (perAlert(delivery.wallMs) / 1000) * (NOTIFIER_MEMORY_MB / 1024) * PRICES.lambdaArmPerGbSecond +
        PRICES.lambdaPerMillionRequests / 1e6 / 10);
  }

  const total = dynamoDb + lambda + sqs + secretsManager + cloudWatchLogs + cloudWatchMetrics;
  return {
    assumptions: {
      pollsPerMonth: POLLS_PER_MONTH,
      coldPollsPerMonth: coldPolls,
      pollerMemoryMb: POLLER_MEMORY_MB,
      notifierMemoryMb: NOTIFIER_MEMORY_MB,
      idleSqsReceivesPerMonth: idleReceives,
      logBytesPerPoll: LOG_BYTES_PER_POLL,
      customMetrics: input.metricNames,
      snapshotSavesPerMonth,
    },
    dynamoDb: cents(dynamoDb),
    dynamoDbSnapshotSaves: cents(dynamoDbSnapshotSaves),
    dynamoDbAllCold: cents(dynamoDbAllCold),
    lambda: cents(lambda),
    sqs: cents(sqs),
    secretsManager: cents(secretsManager),
    cloudWatchLogs: cents(cloudWatchLogs),
    cloudWatchMetrics: cents(cloudWatchMetrics),
    total: cents(total),
    per1000Alerts: Math.round(per1000Alerts * 10_000) / 10_000,
  };
}

function cents(dollars: number): number {
  return Math.round(dollars * 100) / 100;
}
