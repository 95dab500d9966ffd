import { processPartialResponse, SqsFifoPartialProcessorAsync } from "@aws-lambda-powertools/batch";
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { ChangeMessageVisibilityCommand } from "@aws-sdk/client-sqs";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { createDynamoDbClient } from "../../src/adapters/dynamo/client.ts";
import { DynamoDeliveryLedger } from "../../src/adapters/dynamo/ledger.ts";
import { DynamoThreadStore } from "../../src/adapters/dynamo/thread-store.ts";
import { powertoolsLog, powertoolsMetrics } from "../../src/adapters/observability.ts";
import { createSecretsProvider, secretGetter } from "../../src/adapters/secrets.ts";
import { createSlackPoster } from "../../src/adapters/slack.ts";
import { createSqsClient } from "../../src/adapters/sqs-queue.ts";
import { loadNotifierLambdaConfig, slackSecretSchema } from "../../src/config.ts";
import { newReplyEventSchema } from "../../src/domain/events.ts";
import { describeError, InvalidEventError } from "../../src/errors.ts";
import type { SlackPoster } from "../../src/ports.ts";
import { systemClock } from "../../src/ports.ts";
import {
  DEFAULT_CLAIM_LEASE_SECONDS,
  type NotifyPorts,
  notify,
  RetryDeliveryError,
} from "../../src/usecases/notify.ts";

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

/** The poster is rebuilt only when the token changes (rotation), so the client's connections are reused. */
let slackPoster: { token: string; poster: SlackPoster } | undefined;
async function currentSlackPoster(): Promise<SlackPoster> {
  const { botToken } = await slackToken();
  if (slackPoster?.token !== botToken) {
    slackPoster = {
      token: botToken,
      poster: createSlackPoster({
        token: botToken,
        apiUrl: config.slack.apiUrl,
        timeoutMs: config.slack.timeoutMs,
        log,
      }),
    };
  }
  return slackPoster.poster;
}

const basePorts: Omit<NotifyPorts, "slack"> = {
  ledger: new DynamoDeliveryLedger(dynamo, config.table.tableName),
  threads: new DynamoThreadStore(dynamo, config.table.tableName),
  clock: systemClock,
  log,
  metrics: powertoolsMetrics(metrics),
  conversationUrlTemplate: config.conversationUrlTemplate,
};

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
    await notify(event, { ...basePorts, slack: await currentSlackPoster() });
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
