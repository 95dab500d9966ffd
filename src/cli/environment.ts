import { join } from "node:path";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { z } from "zod";
import { createDynamoDbClient } from "../adapters/dynamo/client.ts";
import { describeTableProblem, ensureTable } from "../adapters/dynamo/table.ts";
import {
  createSecretsManagerClient,
  type JsonSecretSpec,
  readJsonSecret,
  regionOfArn,
  type SecretReading,
} from "../adapters/secret-values.ts";
import { type LocalConfig, respondentSecretSchema, slackSecretSchema, type TableSettings } from "../config.ts";
import { ConfigError, StateUnavailableError, UsageError } from "../errors.ts";
import { startDynamoDbLocal } from "../local/dynamodb-local.ts";
import { repoRoot } from "../local/runtime.ts";
import type { CliContext } from "./main.ts";

/**
 * Where the operator commands work: this machine (embedded stand-ins where nothing is
 * configured) or the deployed stack (NOTIFIER_TARGET=aws, secrets by ARN, the SQS DLQ).
 */

export interface OpenedTable {
  client: DynamoDBClient;
  settings: TableSettings;
  /** Where the table is, for messages: `"name" at http://...`, `"name" in AWS eu-west-1`. */
  where: string;
  embedded: boolean;
  close(): Promise<void>;
}

/**
 * `use`: the caller reads and writes; locally the table is created when missing, in AWS it
 * must exist (the stack owns it; the CLI never creates tables there).
 * `inspect`: nothing is created or checked (doctor checks it itself).
 */
export async function openTable(context: CliContext, mode: "use" | "inspect"): Promise<OpenedTable> {
  const operator = context.operator();
  let settings = operator.table;
  let stopEmbedded: (() => Promise<void>) | undefined;
  let where: string;
  if (operator.target === "aws") {
    where = settings.endpoint
      ? `"${settings.tableName}" at ${settings.endpoint}`
      : `"${settings.tableName}" in AWS ${settings.region}`;
  } else if (settings.endpoint) {
    where = `"${settings.tableName}" at ${settings.endpoint}`;
  } else {
    const dataDir = join(repoRoot(), ".data", "dynamodb");
    const dynamo = await startDynamoDbLocal({ dataDir });
    stopEmbedded = () => dynamo.stop();
    settings = { ...settings, endpoint: dynamo.endpoint };
    where = `"${settings.tableName}" in the embedded DynamoDB Local (data in .data/dynamodb)`;
  }
  const client = createDynamoDbClient(settings);
  const close = async () => {
    client.destroy();
    await stopEmbedded?.();
  };
  try {
    if (mode === "use" && operator.target === "aws") {
      const problem = await describeTableProblem(client, settings.tableName);
      if (problem) {
        throw new StateUnavailableError(
          `${problem}: check TABLE_NAME (stack output TableName) and AWS_REGION (the CLI never creates tables in AWS)`,
        );
      }
    } else if (mode === "use") {
      await ensureTable(client, settings.tableName, { log: context.log });
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { client, settings, where, embedded: stopEmbedded !== undefined, close };
}

export async function withTable<T>(
  context: CliContext,
  mode: "use" | "inspect",
  work: (table: OpenedTable) => Promise<T>,
): Promise<T> {
  const table = await openTable(context, mode);
  try {
    return await work(table);
  } finally {
    await table.close();
  }
}

/** The local pipeline (start, poll --once, local dlq redrive) runs only against this machine's table. */
export function requireLocalTarget(context: CliContext, what: string, instead: string): void {
  if (context.operator().target === "aws") {
    throw new UsageError(`${what} runs the local pipeline and cannot run with NOTIFIER_TARGET=aws: ${instead}`);
  }
}

export const RESPONDENT_SECRET_PLACEHOLDERS = { apiKey: "YOUR_API_KEY", apiSecret: "YOUR_API_SECRET" };
export const SLACK_SECRET_PLACEHOLDERS = { botToken: "xoxb-YOUR-BOT-TOKEN" };

export function respondentSecretSpec(arn: string): JsonSecretSpec<typeof respondentSecretSchema> {
  return {
    arn,
    variable: "RESPONDENT_SECRET_ARN",
    stackOutput: "RespondentSecretArn",
    schema: respondentSecretSchema,
    placeholders: RESPONDENT_SECRET_PLACEHOLDERS,
  };
}

export function slackSecretSpec(arn: string): JsonSecretSpec<typeof slackSecretSchema> {
  return {
    arn,
    variable: "SLACK_SECRET_ARN",
    stackOutput: "SlackSecretArn",
    schema: slackSecretSchema,
    placeholders: SLACK_SECRET_PLACEHOLDERS,
  };
}

export async function readSecret<T extends z.ZodType>(
  context: CliContext,
  spec: JsonSecretSpec<T>,
): Promise<SecretReading<z.output<T>>> {
  const client = createSecretsManagerClient(regionOfArn(spec.arn) ?? context.operator().table.region);
  try {
    return await readJsonSecret(client, spec);
  } finally {
    client.destroy();
  }
}

function secretValue<T>(reading: SecretReading<T>, spec: { variable: string; arn: string }): T {
  if (reading.ok) return reading.value;
  throw new ConfigError(spec.variable, `secret ${spec.arn} ${reading.problem}: ${reading.fix}`);
}

/**
 * The local config with the deployed secrets read in, when their ARNs are set: the rest of
 * the CLI (and the local runtime) then sees credentials as if they came from the environment.
 * Without a credential in either form, the embedded stand-ins are used, except for
 * NOTIFIER_TARGET=aws, where a stand-in would only hide the deployed setup's problem.
 */
export async function configWithSecrets(context: CliContext): Promise<LocalConfig> {
  const config = context.config();
  const operator = context.operator();
  let { respondentCredentials, slackBotToken } = config;
  if (!respondentCredentials && operator.respondentSecretArn) {
    const spec = respondentSecretSpec(operator.respondentSecretArn);
    respondentCredentials = secretValue(await readSecret(context, spec), spec);
  }
  if (!slackBotToken && operator.slackSecretArn) {
    const spec = slackSecretSpec(operator.slackSecretArn);
    slackBotToken = secretValue(await readSecret(context, spec), spec).botToken;
  }
  if (operator.target === "aws" && !respondentCredentials) {
    throw new ConfigError(
      "RESPONDENT_SECRET_ARN",
      "is required with NOTIFIER_TARGET=aws (stack output RespondentSecretArn), or set RESPONDENT_API_KEY/RESPONDENT_API_SECRET",
    );
  }
  return { ...config, respondentCredentials, slackBotToken };
}
