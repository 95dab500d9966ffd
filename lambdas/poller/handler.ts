import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import type { Context } from "aws-lambda";
import { createDynamoDbClient } from "../../src/adapters/dynamo/client.ts";
import { DynamoHealthStore } from "../../src/adapters/dynamo/health-store.ts";
import { DynamoSeenSnapshotStore } from "../../src/adapters/dynamo/seen-snapshot.ts";
import { DynamoStateStore } from "../../src/adapters/dynamo/state-store.ts";
import { DynamoSubscriptionStore } from "../../src/adapters/dynamo/subscription-store.ts";
import { powertoolsLog, powertoolsMetrics } from "../../src/adapters/observability.ts";
import { slackOpsChannel, slackPosterWithToken } from "../../src/adapters/ops-channel.ts";
import { RespondentApiClient } from "../../src/adapters/respondent-api.ts";
import { createSecretsProvider, secretGetter } from "../../src/adapters/secrets.ts";
import { createSqsClient, SqsEventQueue } from "../../src/adapters/sqs-queue.ts";
import { loadPollerLambdaConfig, respondentSecretSchema, slackSecretSchema } from "../../src/config.ts";
import { describeError, NotifierError } from "../../src/errors.ts";
import { systemClock } from "../../src/ports.ts";
import { errorObservation, HealthMonitor, POLLER_HEALTH_POLICY, pollObservation } from "../../src/usecases/health.ts";
import { type PollReport, poll } from "../../src/usecases/poll.ts";
import { pollRepeatedly, sleep } from "../../src/usecases/poll-loop.ts";
import { SeenCacheSnapshots, TrackedSeenCache } from "../../src/usecases/seen-snapshot.ts";

/** Thrown after a poll that left some conversations for the next tick: it fails the invocation so the error alarm sees it. */
export class PollIncompleteError extends NotifierError {
  readonly code = "respondent_unavailable";
  readonly retryable = true;
}

// Built once per container: warm invocations reuse clients, the cached secret and the cache.
const config = loadPollerLambdaConfig(process.env);
const logger = new Logger();
const metrics = new Metrics();
const log = powertoolsLog(logger);
const dynamo = createDynamoDbClient(config.table);
const secrets = createSecretsProvider(config.table.region);
const fillRespondentSecret = `aws secretsmanager put-secret-value --secret-id ${config.respondentSecretArn} --secret-string '{"apiKey":"...","apiSecret":"..."}'`;
const cache = new TrackedSeenCache();
const ports = {
  api: new RespondentApiClient({
    ...config.respondent,
    credentials: secretGetter(secrets, config.respondentSecretArn, respondentSecretSchema, fillRespondentSecret),
    log,
  }),
  state: new DynamoStateStore(dynamo, config.table.tableName),
  subscriptions: new DynamoSubscriptionStore(dynamo, config.table.tableName, { log }),
  queue: new SqsEventQueue(createSqsClient(config.table.region), config.queueUrl),
  clock: systemClock,
  log,
  metrics: powertoolsMetrics(metrics),
  cache,
};
// A new container starts from the last saved cache instead of reading every conversation's state.
const snapshots = new SeenCacheSnapshots({
  store: new DynamoSeenSnapshotStore(dynamo, config.table.tableName, { log }),
  cache,
  clock: systemClock,
  log,
});

/** With an ops channel, health transitions are posted there with the notifier's bot token. */
function buildHealthMonitor(): HealthMonitor | undefined {
  const ops = config.ops;
  if (!ops) return undefined;
  const fillSlackSecret = `aws secretsmanager put-secret-value --secret-id ${ops.slackSecretArn} --secret-string '{"botToken":"xoxb-..."}'`;
  const slackToken = secretGetter(secrets, ops.slackSecretArn, slackSecretSchema, fillSlackSecret);
  const slack = slackPosterWithToken(async () => (await slackToken()).botToken, ops.slack, log);
  return new HealthMonitor({
    component: "poller",
    policy: POLLER_HEALTH_POLICY,
    store: new DynamoHealthStore(dynamo, config.table.tableName, { log }),
    ops: slackOpsChannel(ops.channelId, slack),
    clock: systemClock,
    log,
  });
}
const health = buildHealthMonitor();

type PollResult = { report: PollReport; error?: undefined } | { report?: undefined; error: unknown };

async function pollOnce(): Promise<PollResult> {
  let result: PollResult;
  try {
    const report = await poll(ports);
    const { events: _events, failures, ...figures } = report;
    logger.info("poll finished", { ...figures, failures: failures.length });
    result = { report };
  } catch (error) {
    logger.error("poll failed", { reason: describeError(error) });
    result = { error };
  }
  await snapshots.saveIfDue();
  await health?.observe(result.report ? pollObservation(result.report) : errorObservation(result.error));
  return result;
}

function firstProblem(result: PollResult): string | undefined {
  if (result.report) return result.report.failures[0]?.reason;
  return describeError(result.error);
}

export async function handler(
  _event: unknown,
  context: Context,
): Promise<{ polls: number; newReplies: number; eventsQueued: number }> {
  logger.addContext(context);
  try {
    await snapshots.restoreOnce();
    const results = await pollRepeatedly(pollOnce, {
      intervalMs: config.pollIntervalSeconds * 1000,
      remainingMs: () => context.getRemainingTimeInMillis(),
      now: () => Date.now(),
      sleep,
      onStop: ({ polls }) => logger.warn("too close to the timeout for another poll this minute", { polls }),
    });
    const incomplete = results.filter((result) => firstProblem(result) !== undefined);
    const first = incomplete[0];
    if (first) {
      throw new PollIncompleteError(
        `poll incomplete (${incomplete.length} of ${results.length} polls), first: ${firstProblem(first)}; the next tick retries`,
      );
    }
    const reports = results.flatMap((result) => (result.report ? [result.report] : []));
    return {
      polls: results.length,
      newReplies: reports.reduce((sum, report) => sum + report.newReplies, 0),
      eventsQueued: reports.reduce((sum, report) => sum + report.eventsQueued, 0),
    };
  } finally {
    metrics.publishStoredMetrics();
  }
}
