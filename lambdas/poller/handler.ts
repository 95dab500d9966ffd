import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import type { Context } from "aws-lambda";
import { createDynamoDbClient } from "../../src/adapters/dynamo/client.ts";
import { DynamoStateStore } from "../../src/adapters/dynamo/state-store.ts";
import { DynamoSubscriptionStore } from "../../src/adapters/dynamo/subscription-store.ts";
import { powertoolsLog, powertoolsMetrics } from "../../src/adapters/observability.ts";
import { RespondentApiClient } from "../../src/adapters/respondent-api.ts";
import { createSecretsProvider, secretGetter } from "../../src/adapters/secrets.ts";
import { createSqsClient, SqsEventQueue } from "../../src/adapters/sqs-queue.ts";
import { loadPollerLambdaConfig, respondentSecretSchema } from "../../src/config.ts";
import { NotifierError } from "../../src/errors.ts";
import { systemClock } from "../../src/ports.ts";
import { poll, type SeenCache } from "../../src/usecases/poll.ts";

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
  cache: new Map() as SeenCache,
};

export async function handler(
  _event: unknown,
  context: Context,
): Promise<{ newReplies: number; eventsQueued: number }> {
  logger.addContext(context);
  try {
    const report = await poll(ports);
    const { events: _events, failures, ...figures } = report;
    logger.info("poll finished", { ...figures, failures: failures.length });
    if (failures.length > 0) {
      throw new PollIncompleteError(
        `poll incomplete: ${failures.length} failures, first: ${failures[0]?.reason}; the next tick retries them`,
      );
    }
    return { newReplies: report.newReplies, eventsQueued: report.eventsQueued };
  } finally {
    metrics.publishStoredMetrics();
  }
}
