import type { z } from "zod";
import { createDynamoDbClient } from "../adapters/dynamo/client.ts";
import {
  createSecretsManagerClient,
  fillSecretCommand,
  type JsonSecretSpec,
  readJsonSecret,
  regionOfArn,
  type SecretReading,
  SecretsManagerCredentialsStore,
} from "../adapters/secret-values.ts";
import { createSecretsProvider, secretGetter } from "../adapters/secrets.ts";
import { createSqsClient } from "../adapters/sqs-queue.ts";
import {
  type QueueSettings,
  RESPONDENT_SECRET_PLACEHOLDERS,
  type RespondentClientSettings,
  respondentSecretSchema,
  SLACK_SECRET_PLACEHOLDERS,
  type SlackClientSettings,
  slackSecretSchema,
  type TableSettings,
} from "../config.ts";
import { registerSecret } from "../errors.ts";
import {
  type Clock,
  type CredentialsSecretStore,
  type Log,
  type Metrics,
  type RespondentCredentials,
  systemClock,
} from "../ports.ts";
import type { Platform } from "./platform.ts";

/**
 * The platform of the deployed stack: the Lambdas' own, and the CLI's with NOTIFIER_TARGET=aws.
 * Credentials come from Secrets Manager by ARN (cached, so a rotation is picked up within five
 * minutes) or, for the CLI, from the environment.
 */
export interface AwsPlatformConfig {
  table: TableSettings;
  queue?: QueueSettings | undefined;
  respondent?: RespondentSource | undefined;
  slack?: SlackSource | undefined;
  opsChannelId?: string | undefined;
  conversationUrlTemplate?: string | undefined;
  slackAdminUsers?: readonly string[] | undefined;
}

export type RespondentSource = { settings: RespondentClientSettings } & (
  | { secretArn: string }
  | { credentials: RespondentCredentials; webhookSecret?: string | undefined }
);

export type SlackSource = { settings: SlackClientSettings } & (
  | { secretArn: string }
  | { token: string; signingSecret?: string | undefined }
);

export function awsPlatform(
  config: AwsPlatformConfig,
  observability: { log: Log; metrics: Metrics; clock?: Clock },
): Platform {
  const region = config.table.region;
  const client = createDynamoDbClient(config.table);
  return {
    table: {
      client,
      name: config.table.tableName,
      where: config.table.endpoint
        ? `"${config.table.tableName}" at ${config.table.endpoint}`
        : `"${config.table.tableName}" in AWS ${region ?? "(your default region)"}`,
    },
    queue: config.queue ? { client: createSqsClient({ region }), urls: config.queue } : undefined,
    respondent: config.respondent && {
      settings: config.respondent.settings,
      credentials:
        "secretArn" in config.respondent
          ? respondentSecretGetter(config.respondent.secretArn, region)
          : constant(registered(config.respondent.credentials)),
      webhookSecret:
        "secretArn" in config.respondent
          ? respondentSecretWebhookGetter(config.respondent.secretArn, region)
          : constant(config.respondent.webhookSecret),
    },
    slack: config.slack && {
      settings: config.slack.settings,
      token:
        "secretArn" in config.slack
          ? slackSecretTokenGetter(config.slack.secretArn, region)
          : constant(config.slack.token),
      signingSecret:
        "secretArn" in config.slack
          ? slackSecretSigningGetter(config.slack.secretArn, region)
          : constant(config.slack.signingSecret),
    },
    slackAdminUsers: config.slackAdminUsers,
    opsChannelId: config.opsChannelId,
    conversationUrlTemplate: config.conversationUrlTemplate,
    clock: observability.clock ?? systemClock,
    log: observability.log,
    metrics: observability.metrics,
  };
}

/** The Respondent key pair from its secret (cached for five minutes, so a rotation is picked up). */
export function respondentSecretGetter(arn: string, region: string | undefined): () => Promise<RespondentCredentials> {
  return secretGetter(
    secretsFor(arn, region),
    arn,
    respondentSecretSchema,
    fillSecretCommand(arn, RESPONDENT_SECRET_PLACEHOLDERS),
  );
}

/** The Respondent webhook's privateKey from the secret (its optional `webhookSecret` field). */
export function respondentSecretWebhookGetter(
  arn: string,
  region: string | undefined,
): () => Promise<string | undefined> {
  const read = secretGetter(
    secretsFor(arn, region),
    arn,
    respondentSecretSchema,
    fillSecretCommand(arn, RESPONDENT_SECRET_PLACEHOLDERS),
  );
  return async () => (await read()).webhookSecret;
}

/** The Slack bot token from its secret (cached for five minutes, so a rotation is picked up). */
export function slackSecretTokenGetter(arn: string, region: string | undefined): () => Promise<string> {
  const read = secretGetter(
    secretsFor(arn, region),
    arn,
    slackSecretSchema,
    fillSecretCommand(arn, SLACK_SECRET_PLACEHOLDERS),
  );
  return async () => (await read()).botToken;
}

/** The Slack app's signing secret from the Slack secret (its optional `signingSecret` field). */
export function slackSecretSigningGetter(arn: string, region: string | undefined): () => Promise<string | undefined> {
  const read = secretGetter(
    secretsFor(arn, region),
    arn,
    slackSecretSchema,
    fillSecretCommand(arn, SLACK_SECRET_PLACEHOLDERS),
  );
  return async () => (await read()).signingSecret;
}

function registered(credentials: RespondentCredentials): RespondentCredentials {
  registerSecret(credentials.apiKey);
  registerSecret(credentials.apiSecret);
  return credentials;
}

function constant<T>(value: T): () => Promise<T> {
  if (typeof value === "string") registerSecret(value);
  return async () => value;
}

/** A secret is read in the region its ARN names (else the table's). */
function secretsFor(arn: string, region: string | undefined): ReturnType<typeof createSecretsProvider> {
  return createSecretsProvider(regionOfArn(arn) ?? region);
}

/**
 * Reads one of the stack's secrets and says, as data, what is wrong with it and the command that
 * fixes it (empty, not JSON, missing, forbidden): what `doctor` prints as a check line.
 */
export function inspectRespondentSecret(
  arn: string,
  region: string | undefined,
): Promise<SecretReading<z.output<typeof respondentSecretSchema>>> {
  return inspectSecret(region, {
    arn,
    variable: "RESPONDENT_SECRET_ARN",
    stackOutput: "SecretArn",
    schema: respondentSecretSchema,
    placeholders: RESPONDENT_SECRET_PLACEHOLDERS,
  });
}

export function inspectSlackSecret(
  arn: string,
  region: string | undefined,
): Promise<SecretReading<z.output<typeof slackSecretSchema>>> {
  return inspectSecret(region, {
    arn,
    variable: "SLACK_SECRET_ARN",
    stackOutput: "SecretArn",
    schema: slackSecretSchema,
    placeholders: SLACK_SECRET_PLACEHOLDERS,
  });
}

async function inspectSecret<T extends z.ZodType>(
  region: string | undefined,
  spec: JsonSecretSpec<T>,
): Promise<SecretReading<z.output<T>>> {
  const client = createSecretsManagerClient(regionOfArn(spec.arn) ?? region);
  try {
    return await readJsonSecret(client, spec);
  } finally {
    client.destroy();
  }
}

/** The one credentials secret, read and written whole (`secret fill`), in the region its ARN names. */
export function credentialsSecretStore(arn: string, region: string | undefined): CredentialsSecretStore {
  return new SecretsManagerCredentialsStore(createSecretsManagerClient(regionOfArn(arn) ?? region), arn);
}
