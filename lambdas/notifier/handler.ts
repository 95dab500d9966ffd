import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { powertoolsLog, powertoolsMetrics, publishAlarmedMetrics } from "../../src/adapters/observability.ts";
import { awsPlatform } from "../../src/app/aws.ts";
import { composeNotifier, deliveryQueue } from "../../src/app/compose.ts";
import { loadNotifierLambdaConfig } from "../../src/config.ts";
import type { QueuedMessage } from "../../src/ports.ts";
import { deliverBatch } from "../../src/usecases/deliver.ts";

// Built once per container: warm invocations reuse clients and the cached secret.
const config = loadNotifierLambdaConfig(process.env);
const logger = new Logger();
const metrics = new Metrics();
// Only the alarmed counts become CloudWatch metrics; the rest go into one `counts` line per invocation.
const counts = powertoolsMetrics(metrics);
const platform = awsPlatform(
  {
    table: config.table,
    queue: config.queue,
    slack: { settings: config.slack, secretArn: config.slackSecretArn },
    opsChannelId: config.opsChannelId,
    conversationUrlTemplate: config.conversationUrlTemplate,
  },
  { log: powertoolsLog(logger), metrics: counts },
);
const notifier = composeNotifier(platform);
const queue = deliveryQueue(platform);

/**
 * The batch is decided and settled by the same use case the local consumer runs; Lambda removes
 * the messages that are not reported back, so a delivered (or dead-lettered) one is simply not
 * listed, and a retried one is listed after its visibility was moved to the retry time.
 */
export async function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  logger.addContext(context);
  try {
    const messages = event.Records.map(toQueuedMessage);
    const { unsettled } = await deliverBatch(messages, notifier, {
      retryLater: (message, seconds) => queue.retryLater(message, seconds),
      deadLetter: (message, reason) => queue.deadLetter(message, reason),
    });
    return { batchItemFailures: unsettled.map(({ message }) => ({ itemIdentifier: message.messageId })) };
  } finally {
    const logged = counts.takeLogged();
    if (Object.keys(logged).length > 0) logger.info("counts", { counts: logged });
    publishAlarmedMetrics(metrics);
  }
}

function toQueuedMessage(record: SQSRecord): QueuedMessage {
  const receives = Number(record.attributes.ApproximateReceiveCount);
  return {
    messageId: record.messageId,
    receiptHandle: record.receiptHandle,
    groupId: record.attributes.MessageGroupId,
    body: record.body,
    receiveCount: Number.isFinite(receives) && receives > 0 ? receives : 1,
  };
}
