import { NOTIFIER_MEMORY_MB } from "../infra/constructs/notifier.ts";
import { POLLER_MEMORY_MB } from "../infra/constructs/poller.ts";
import { SECRET_MAX_AGE_SECONDS } from "../src/adapters/secrets.ts";
import { SEEN_SNAPSHOT_SAVE_INTERVAL_MS } from "../src/usecases/seen-snapshot.ts";
import type { TemplateUsage } from "./template-usage.ts";

/**
 * A monthly AWS bill for one poller at 1-minute polling, from the units and times the
 * benchmark measured. Public on-demand list prices, us-east-1, free tiers ignored. The part of
 * the bill `npm run bench` prints next to its measurements; the whole bill by service (alarms,
 * Scheduler, log storage, the poll lease, the template's counts) is monthlyBill() below,
 * printed by `npm run bench:cost`.
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
/** The stack's one credentials secret. */
const SECRETS = 1;
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

// ---------------------------------------------------------------------------------------------
// The monthly bill by service (`npm run bench:cost`): every item AWS charges for, from a per-poll
// usage profile and the counts of the synthesized template (bench/template-usage.ts), so that an
// alarm, a metric, a secret or a function added to the stack shows up in the bill by itself.
// ---------------------------------------------------------------------------------------------

/** Public on-demand list prices, us-east-1, free tiers ignored. */
export const PRICE_LIST = {
  checked: "2026-11-24",
  region: "us-east-1",
  sources: [
    "aws.amazon.com/lambda/pricing (arm64)",
    "aws.amazon.com/dynamodb/pricing/on-demand (since the 2024-11-01 cut)",
    "aws.amazon.com/sqs/pricing (FIFO; standard, the first 100 billion requests a month, added 2026-12-01)",
    "aws.amazon.com/secrets-manager/pricing",
    "aws.amazon.com/eventbridge/pricing (Scheduler)",
    "aws.amazon.com/cloudwatch/pricing (alarms, custom metrics, Logs ingestion and storage)",
  ],
  lambdaArmPerGbSecond: 0.0000133334,
  lambdaPerMillionRequests: 0.2,
  dynamoReadPerMillion: 0.125,
  dynamoWritePerMillion: 0.625,
  sqsFifoPerMillionRequests: 0.5,
  sqsStandardPerMillionRequests: 0.4,
  secretPerMonth: 0.4,
  secretApiPer10kCalls: 0.05,
  schedulerPerMillionInvocations: 1.0,
  alarmPerMetricMonth: 0.1,
  customMetricPerMonth: 0.3,
  logsIngestPerGb: 0.5,
  logsStoragePerGbMonth: 0.03,
} as const;

const MINUTES_PER_MONTH = 30 * 24 * 60;

/** What one poll uses, as `npm run bench` measures it (bench/profiles.ts). */
export interface PollProfile {
  /** Respondent API requests (not billed by AWS; shown for the API quota). */
  apiRequests: number;
  /** Poller wall time, which Lambda bills. */
  lambdaMs: number;
  readUnits: number;
  writeUnits: number;
}

export interface UsageProfile {
  conversations: number;
  warm: PollProfile;
  /** The first poll of a new container (it loads the seen-cache snapshot). */
  cold: PollProfile;
  coldStartsPerDay: number;
  /** Write units of one seen-cache snapshot save (at most one per SEEN_SNAPSHOT_SAVE_INTERVAL_MS). */
  snapshotSaveWriteUnits: number;
  alertsPerMonth: number;
  /** What one alert adds: the poll's state write and read, the notifier's ledger and thread, its Lambda time. */
  perAlert: { readUnits: number; writeUnits: number; notifierLambdaMs: number; sqsRequests: number };
  /** CloudWatch Logs bytes a poll writes (platform lines, `poll finished`, `counts`). */
  logBytesPerPoll: number;
  logBytesPerAlert: number;
  /** Metric names a healthy poll or delivery counts: an alarmed custom metric among them is published every hour. */
  steadyMetricNames: readonly string[];
}

export interface DeploymentShape {
  pollIntervalSeconds: number;
  pollRateMinutes: number;
  pollerMemoryMb: number;
  notifierMemoryMb: number;
  logRetentionDays: number;
  /** The synthesized template's counts. */
  template: TemplateUsage;
}

export interface BillLine {
  service: string;
  item: string;
  quantity: string;
  usd: number;
}

export interface Bill {
  lines: BillLine[];
  byService: Record<string, number>;
  total: number;
  /** Below 60 s: the delay-queue chain, one invocation a poll (see POLL_CHAIN). */
  chain: boolean;
  pollsPerMonth: number;
  apiRequestsPerMonth: number;
}

/** The seen-cache snapshot's save interval, in the bill's terms. */
const SNAPSHOT_SAVES_AT_MOST_PER_MONTH = (MINUTES_PER_MONTH * 60_000) / SEEN_SNAPSHOT_SAVE_INTERVAL_MS;
/** The secret cache (src/adapters/secrets.ts): one GetSecretValue per SECRET_MAX_AGE_SECONDS per warm container. */
const SECRET_CALLS_PER_FUNCTION = (MINUTES_PER_MONTH * 60) / SECRET_MAX_AGE_SECONDS;
/** Rough: an SQS event source mapping keeps about 5 long polls (20 s each) open on an idle queue. */
const IDLE_RECEIVES_PER_MINUTE_PER_EVENT_SOURCE = 15;
/** The poll lease: one conditional PutItem of a small item per tick (src/adapters/dynamo/poll-lease.ts). */
const LEASE_WRITE_UNITS_PER_TICK = 1;

/**
 * Polling below a minute (issue 14): a delay-queue chain instead of a looping invocation. Each
 * poll is its own poller invocation, started by a message on a standard SQS queue (an event
 * source, batch size 1); it first advances the chain item with one conditional UpdateItem (which
 * replaces the poll lease), polls once, then sends the next tick delayed by the interval minus
 * its poll time. The one-minute schedule stays as the chain's watchdog: a short invocation that
 * reads the chain item and restarts a dead chain (rare, not billed here); it does not poll.
 */
export const POLL_CHAIN = {
  /** The conditional UpdateItem of the chain item at the start of each poll. */
  writeUnitsPerPoll: 1,
  /** SendMessage by the poll, ReceiveMessage and DeleteMessage by the event source. */
  tickQueueRequestsPerPoll: 3,
  /** One eventually consistent GetItem of the chain item. */
  watchdogReadUnits: 0.5,
  /** Rough: a warm invocation that reads one item. */
  watchdogLambdaMs: 30,
  /** Rough: START/END/REPORT and one line. */
  watchdogLogBytes: 600,
} as const;

export function monthlyBill(usage: UsageProfile, deployment: DeploymentShape): Bill {
  const p = PRICE_LIST;
  const lines: BillLine[] = [];
  const add = (service: string, item: string, quantity: string, usd: number) =>
    lines.push({ service, item, quantity, usd });
  const n = (value: number) => Math.round(value).toLocaleString("en-US");

  const ticks = MINUTES_PER_MONTH / deployment.pollRateMinutes;
  const chain = deployment.pollIntervalSeconds < 60;
  // A chained poll longer than the interval sends the next tick with no delay: polls then run back to back.
  const polls = chain
    ? (MINUTES_PER_MONTH * 60) / Math.max(deployment.pollIntervalSeconds, usage.warm.lambdaMs / 1000)
    : ticks;
  const watchdogs = chain ? ticks : 0;
  const coldPolls = Math.min(polls, usage.coldStartsPerDay * 30);
  const warmPolls = polls - coldPolls;

  // Lambda.
  const gbSeconds = (ms: number, memoryMb: number) => (ms / 1000) * (memoryMb / 1024);
  const pollerGbSeconds = gbSeconds(
    warmPolls * usage.warm.lambdaMs + coldPolls * usage.cold.lambdaMs,
    deployment.pollerMemoryMb,
  );
  add("Lambda", "poller compute, polls", `${n(pollerGbSeconds)} GB-s`, pollerGbSeconds * p.lambdaArmPerGbSecond);
  if (chain) {
    const watchdogGbSeconds = gbSeconds(watchdogs * POLL_CHAIN.watchdogLambdaMs, deployment.pollerMemoryMb);
    add(
      "Lambda",
      `poller compute, chain watchdog (${POLL_CHAIN.watchdogLambdaMs} ms a minute)`,
      `${n(watchdogGbSeconds)} GB-s`,
      watchdogGbSeconds * p.lambdaArmPerGbSecond,
    );
  }
  const notifierGbSeconds = gbSeconds(
    usage.alertsPerMonth * usage.perAlert.notifierLambdaMs,
    deployment.notifierMemoryMb,
  );
  add("Lambda", "notifier compute", `${n(notifierGbSeconds)} GB-s`, notifierGbSeconds * p.lambdaArmPerGbSecond);
  const invocations = polls + watchdogs + usage.alertsPerMonth / 10;
  add(
    "Lambda",
    chain ? "requests (a poll each, the watchdog, the notifier)" : "requests",
    `${n(invocations)}`,
    (invocations * p.lambdaPerMillionRequests) / 1e6,
  );

  // DynamoDB.
  const reads =
    warmPolls * usage.warm.readUnits +
    coldPolls * usage.cold.readUnits +
    usage.alertsPerMonth * usage.perAlert.readUnits;
  const writes =
    warmPolls * usage.warm.writeUnits +
    coldPolls * usage.cold.writeUnits +
    usage.alertsPerMonth * usage.perAlert.writeUnits;
  add("DynamoDB", "polls and alerts, reads", `${n(reads)} RRU`, (reads * p.dynamoReadPerMillion) / 1e6);
  add("DynamoDB", "polls and alerts, writes", `${n(writes)} WRU`, (writes * p.dynamoWritePerMillion) / 1e6);
  const snapshotWrites = SNAPSHOT_SAVES_AT_MOST_PER_MONTH * usage.snapshotSaveWriteUnits;
  add(
    "DynamoDB",
    `seen-cache snapshot saves (at most one every ${SEEN_SNAPSHOT_SAVE_INTERVAL_MS / 3_600_000} h)`,
    `${n(snapshotWrites)} WRU`,
    (snapshotWrites * p.dynamoWritePerMillion) / 1e6,
  );
  if (chain) {
    const chainWrites = polls * POLL_CHAIN.writeUnitsPerPoll;
    add(
      "DynamoDB",
      "poll chain, a conditional write a poll (no lease)",
      `${n(chainWrites)} WRU`,
      (chainWrites * p.dynamoWritePerMillion) / 1e6,
    );
    const watchdogReads = watchdogs * POLL_CHAIN.watchdogReadUnits;
    add("DynamoDB", "chain watchdog reads", `${n(watchdogReads)} RRU`, (watchdogReads * p.dynamoReadPerMillion) / 1e6);
  } else {
    const leaseWrites = ticks * LEASE_WRITE_UNITS_PER_TICK;
    add("DynamoDB", "poll lease", `${n(leaseWrites)} WRU`, (leaseWrites * p.dynamoWritePerMillion) / 1e6);
  }

  // SQS: each event source long-polls its queue at that queue's price, busy or idle.
  for (const fifo of [true, false]) {
    const sources = deployment.template.sqsEventSources.filter((source) => source.fifo === fifo).length;
    if (sources === 0) continue;
    const idleReceives = IDLE_RECEIVES_PER_MINUTE_PER_EVENT_SOURCE * MINUTES_PER_MONTH * sources;
    add(
      "SQS",
      `idle polling by ${sources} ${fifo ? "FIFO" : "standard"} event source(s)`,
      `${n(idleReceives)} requests`,
      (idleReceives * (fifo ? p.sqsFifoPerMillionRequests : p.sqsStandardPerMillionRequests)) / 1e6,
    );
  }
  const alertRequests = usage.alertsPerMonth * usage.perAlert.sqsRequests;
  add("SQS", "alerts (FIFO)", `${n(alertRequests)} requests`, (alertRequests * p.sqsFifoPerMillionRequests) / 1e6);
  if (chain) {
    const tickRequests = polls * POLL_CHAIN.tickQueueRequestsPerPoll;
    add(
      "SQS",
      "poll ticks (standard: send, receive, delete a poll)",
      `${n(tickRequests)} requests`,
      (tickRequests * p.sqsStandardPerMillionRequests) / 1e6,
    );
  }

  // Secrets Manager.
  add(
    "Secrets Manager",
    `${deployment.template.secrets} secret(s)`,
    `${deployment.template.secrets}`,
    deployment.template.secrets * p.secretPerMonth,
  );
  const secretCalls = SECRET_CALLS_PER_FUNCTION * deployment.template.functions;
  add(
    "Secrets Manager",
    `GetSecretValue (${SECRET_MAX_AGE_SECONDS / 60}-minute cache per function)`,
    `${n(secretCalls)} calls`,
    (secretCalls / 10_000) * p.secretApiPer10kCalls,
  );

  // EventBridge Scheduler: the poll schedule, or the chain's watchdog.
  add(
    "EventBridge Scheduler",
    chain ? "invocations (the chain's watchdog)" : "invocations",
    `${n(ticks)}`,
    (ticks * p.schedulerPerMillionInvocations) / 1e6,
  );

  // CloudWatch.
  const alarmMetrics = deployment.template.alarms.reduce((sum, alarm) => sum + alarm.metrics, 0);
  add(
    "CloudWatch alarms",
    `${deployment.template.alarms.length} alarms`,
    `${alarmMetrics} alarm metrics`,
    alarmMetrics * p.alarmPerMetricMonth,
  );
  const steady = deployment.template.customMetrics.filter((metric) =>
    usage.steadyMetricNames.includes(metric.split("/")[1] ?? ""),
  );
  add(
    "CloudWatch metrics",
    `custom metrics: ${deployment.template.customMetrics.join(", ") || "none"} (billed in hours they are published: ${steady.length > 0 ? steady.join(", ") : "none in a healthy month"})`,
    `${steady.length}`,
    steady.length * p.customMetricPerMonth,
  );
  const logGb =
    (polls * usage.logBytesPerPoll +
      watchdogs * POLL_CHAIN.watchdogLogBytes +
      usage.alertsPerMonth * usage.logBytesPerAlert) /
    1024 ** 3;
  add("CloudWatch Logs", "ingestion", `${logGb.toFixed(3)} GB`, logGb * p.logsIngestPerGb);
  const storedGb = logGb * (deployment.logRetentionDays / 30);
  add(
    "CloudWatch Logs",
    `storage (${deployment.logRetentionDays}-day retention)`,
    `${storedGb.toFixed(3)} GB`,
    storedGb * p.logsStoragePerGbMonth,
  );

  const byService: Record<string, number> = {};
  for (const line of lines) byService[line.service] = (byService[line.service] ?? 0) + line.usd;
  const total = lines.reduce((sum, line) => sum + line.usd, 0);
  return {
    lines,
    byService,
    total,
    chain,
    pollsPerMonth: polls,
    apiRequestsPerMonth: polls * usage.warm.apiRequests,
  };
}
