import { processPartialResponse, SqsFifoPartialProcessorAsync } from "@aws-lambda-powertools/batch";
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { ChangeMessageVisibilityCommand } from "@aws-sdk/client-sqs";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { createDynamoDbClient } from "../../src/adapters/dynamo/client.ts";
import { DynamoHealthStore, DynamoSubscriptionPauses } from "../../src/adapters/dynamo/health-store.ts";
import { DynamoDeliveryLedger } from "../../src/adapters/dynamo/ledger.ts";
import { DynamoSubscriptionStore } from "../../src/adapters/dynamo/subscription-store.ts";
import { DynamoThreadStore } from "../../src/adapters/dynamo/thread-store.ts";
import { powertoolsLog, powertoolsMetrics } from "../../src/adapters/observability.ts";
import { slackOpsChannel, slackPosterWithToken } from "../../src/adapters/ops-channel.ts";
import { createSecretsProvider, secretGetter } from "../../src/adapters/secrets.ts";
import { createSqsClient } from "../../src/adapters/sqs-queue.ts";
import { loadNotifierLambdaConfig, slackSecretSchema } from "../../src/config.ts";
import { newReplyEventSchema } from "../../src/domain/events.ts";
import { describeError, InvalidEventError } from "../../src/errors.ts";
import { systemClock } from "../../src/ports.ts";
import { DeliveryWatch, notifyAndWatch } from "../../src/usecases/delivery-watch.ts";
import { HealthMonitor, NOTIFIER_HEALTH_POLICY } from "../../src/usecases/health.ts";
import { DEFAULT_CLAIM_LEASE_SECONDS, type NotifyPorts, RetryDeliveryError } from "../../src/usecases/notify.ts";

// Built once per container: warm invocations reuse clients and the cached secret.
const config = loadNotifierLambdaConfig(process.env);
const logger = new Logger();
const metrics = new Metrics();
const log = powertoolsLog(logger);
const dynamo = createDynamoDbClient(config.table);
const sqs = createSqsClient(config.table.region);
const secrets = createSecretsProvider(config.table.region);
const fillSlackSecret = `aws secretsmanager put-secret-value --secret-id ${config.slackSecretArn} --secret-string '{"botToken":"xoxb-..."}'`;
const slackToken = secretGetter(secrets, config.slackSecretArn, slackSecretSchema, fillSlackSecret);
const slack = slackPosterWithToken(async () => (await slackToken()).botToken, config.slack, log);

const basePorts: Omit<NotifyPorts, "slack"> = {
  ledger: new DynamoDeliveryLedger(dynamo, config.table.tableName),
  threads: new DynamoThreadStore(dynamo, config.table.tableName),
  clock: systemClock,
  log,
  metrics: powertoolsMetrics(metrics),
  conversationUrlTemplate: config.conversationUrlTemplate,
};

/** With an ops channel: a rejected token is reported there, and a dead channel's subscriptions are paused. */
function buildDeliveryWatch(): DeliveryWatch | undefined {
  if (!config.opsChannelId) return undefined;
  const ops = slackOpsChannel(config.opsChannelId, slack);
  return new DeliveryWatch({
    health: new HealthMonitor({
      component: "notifier",
      policy: NOTIFIER_HEALTH_POLICY,
      store: new DynamoHealthStore(dynamo, config.table.tableName, { log }),
      ops,
      clock: systemClock,
      log,
    }),
    subscriptions: new DynamoSubscriptionStore(dynamo, config.table.tableName, { log }),
    pauses: new DynamoSubscriptionPauses(dynamo, config.table.tableName),
    ops,
    clock: systemClock,
    log,
  });
}
const deliveryWatch = buildDeliveryWatch();

async function handleRecord(record: SQSRecord): Promise<void> {
  let event: ReturnType<typeof newReplyEventSchema.parse>;
  try {
    event = newReplyEventSchema.parse(JSON.parse(record.body));
  } catch {
    // Failing it sends it to the DLQ after the redrive limit, where an operator can see it.
    throw new InvalidEventError(`message ${record.messageId} is not a valid new-reply event (version 1)`);
  }
  logger.appendKeys({ eventId: event.eventId, conversationUid: event.conversation.uid });
  try {
    await notifyAndWatch(event, { ...basePorts, slack: await slack.current() }, deliveryWatch);
  } catch (error) {
    if (error instanceof RetryDeliveryError) {
      // Slack's Retry-After when it gave one; otherwise just past the claim lease, so the
      // retry finds an interrupted claim reclaimable instead of waiting the queue's full timeout.
      await delayRedelivery(record, error.retryAfterSeconds ?? DEFAULT_CLAIM_LEASE_SECONDS + 5);
    }
    log.warn("record failed; it returns to the queue", { messageId: record.messageId, reason: describeError(error) });
    throw error;
  } finally {
    logger.removeKeys(["eventId", "conversationUid"]);
  }
}

/** Slack said when to come back: make the message visible again then, not sooner. */
async function delayRedelivery(record: SQSRecord, seconds: number): Promise<void> {
  const queueUrl = queueUrlFromArn(record.eventSourceARN);
  try {
    await sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: queueUrl,
        ReceiptHandle: record.receiptHandle,
        VisibilityTimeout: Math.min(Math.ceil(seconds), 43_200),
      }),
    );
  } catch (error) {
    log.warn("could not delay the redelivery; the queue's visibility timeout applies", {
      reason: describeError(error),
    });
  }
}

function queueUrlFromArn(arn: string): string {
  const [, , , region, account, name] = arn.split(":");
  return `https://sqs.${region}.amazonaws.com/${account}/${name}`;
}

// FIFO: after a failure, the rest of that conversation's messages in the batch are failed
// too (kept in order); other conversations in the batch carry on.
const processor = new SqsFifoPartialProcessorAsync();

export async function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  logger.addContext(context);
  try {
    return await processPartialResponse(event, handleRecord, processor, { context, skipGroupOnError: true });
  } finally {
    metrics.publishStoredMetrics();
  }
}
