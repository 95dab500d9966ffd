import { describeTableProblem } from "../adapters/dynamo/table.ts";
import { regionOfQueueUrl } from "../adapters/sqs-dead-letters.ts";
import { createSqsClient } from "../adapters/sqs-queue.ts";
import type { LocalConfig, OperatorConfig } from "../config.ts";
import { ConfigError, StateUnavailableError } from "../errors.ts";
import type { Log, Metrics } from "../ports.ts";
import { awsPlatform } from "./aws.ts";
import { type LocalPlatform, type LocalPlatformNeeds, type LocalPlatformOptions, openLocalPlatform } from "./local.ts";

/**
 * The platform of the operator CLI: this machine (embedded stand-ins where nothing is
 * configured), or the deployed stack (NOTIFIER_TARGET=aws: its table, its secrets by ARN, its
 * dead-letter queue with DLQ_URL). Commands say what they need; nothing else is started.
 */
export interface OperatorPlatformOptions {
  needs: LocalPlatformNeeds & { deadLetters?: boolean };
  tableMode?: "use" | "inspect";
  log: Log;
  metrics: Metrics;
  onFakeSlackPost?: LocalPlatformOptions["onFakeSlackPost"];
}

export type OperatorPlatform = LocalPlatform & { target: "local" | "aws" };

export async function openOperatorPlatform(
  config: LocalConfig,
  operator: OperatorConfig,
  options: OperatorPlatformOptions,
): Promise<OperatorPlatform> {
  // DLQ_URL names the deployed dead-letter queue: `dlq` then works on it instead of this machine's.
  const deployedDeadLetters = options.needs.deadLetters === true && operator.deadLetterQueueUrl !== undefined;
  if (operator.target === "local") {
    const platform = await openLocalPlatform(config, {
      needs: { ...options.needs, queue: (options.needs.queue || options.needs.deadLetters) && !deployedDeadLetters },
      tableMode: options.tableMode ?? "use",
      log: options.log,
      metrics: options.metrics,
      respondentSecretArn: operator.respondentSecretArn,
      slackSecretArn: operator.slackSecretArn,
      ...(options.onFakeSlackPost ? { onFakeSlackPost: options.onFakeSlackPost } : {}),
    });
    if (deployedDeadLetters) platform.queue = deployedDeadLetterQueue(operator);
    return { ...platform, target: "local" };
  }

  const respondent = config.respondentCredentials
    ? { settings: config.respondent, credentials: config.respondentCredentials }
    : operator.respondentSecretArn
      ? { settings: config.respondent, secretArn: operator.respondentSecretArn }
      : undefined;
  if (options.needs.respondent && !respondent) {
    throw new ConfigError(
      "SECRET_ARN",
      "is required with NOTIFIER_TARGET=aws (stack output SecretArn), or set RESPONDENT_SECRET_ARN or RESPONDENT_API_KEY/RESPONDENT_API_SECRET",
    );
  }
  const slack = config.slackBotToken
    ? { settings: config.slack, token: config.slackBotToken }
    : operator.slackSecretArn
      ? { settings: config.slack, secretArn: operator.slackSecretArn }
      : undefined;
  const platform = awsPlatform(
    {
      table: operator.table,
      respondent: options.needs.respondent ? respondent : undefined,
      slack: options.needs.slack ? slack : undefined,
      opsChannelId: config.opsChannelId,
      conversationUrlTemplate: config.conversationUrlTemplate,
    },
    { log: options.log, metrics: options.metrics },
  );
  const close = async () => {
    platform.table.client.destroy();
    platform.queue?.client.destroy();
  };
  try {
    if (options.needs.deadLetters && operator.deadLetterQueueUrl) platform.queue = deployedDeadLetterQueue(operator);
    if ((options.tableMode ?? "use") === "use") {
      const problem = await describeTableProblem(platform.table.client, platform.table.name);
      if (problem) {
        throw new StateUnavailableError(
          `${problem}: check TABLE_NAME (stack output TableName) and AWS_REGION (the CLI never creates tables in AWS)`,
        );
      }
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { ...platform, embedded: [], simulator: undefined, fakeSlack: undefined, close, target: "aws" };
}

function deployedDeadLetterQueue(operator: OperatorConfig): NonNullable<LocalPlatform["queue"]> {
  const url = operator.deadLetterQueueUrl;
  if (!url) throw new ConfigError("DLQ_URL", "is required here: set it to the stack output DeadLetterQueueUrl");
  return {
    client: createSqsClient({ region: regionOfQueueUrl(url) ?? operator.table.region }),
    urls: { queueUrl: undefined, deadLetterQueueUrl: url },
  };
}
