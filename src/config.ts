import * as z from "zod";
import { channelIdSchema } from "./domain/subscriptions.ts";
import { ConfigError } from "./errors.ts";

/**
 * The one place that reads configuration. Each runtime (poller Lambda, notifier Lambda, the
 * local CLI) gets a typed object; a missing or bad variable fails at start-up naming it.
 */
export type Env = Record<string, string | undefined>;

export const DEFAULT_RESPONDENT_API_URL = "https://api.respondent.io";
export const DEFAULT_SLACK_API_URL = "https://slack.com/api/";
export const DEFAULT_TABLE_NAME = "respondent-notifier";
export const DEFAULT_REGION = "us-east-1";

const optionalText = z
  .string()
  .trim()
  .transform((value) => (value === "" ? undefined : value))
  .optional();

const httpUrl = z
  .url({ protocol: /^https?$/, error: "must be an http(s) URL" })
  .transform((value) => value.replace(/\/+$/, ""));

const integer = (min: number, max: number) =>
  z.coerce
    .number({ error: "must be a whole number" })
    .int("must be a whole number")
    .min(min, `must be at least ${min}`)
    .max(max, `must be at most ${max}`);

const slackToken = z
  .string()
  .regex(
    /^xox[bp]-[A-Za-z0-9-]+$/,
    "must be a Slack bot token starting with xoxb- (OAuth & Permissions > Bot User OAuth Token)",
  );

/** Slack's signing secret (Basic Information > App Credentials > Signing Secret): hex, 32 characters today. */
const SIGNING_SECRET_PLACEHOLDER = "YOURSIGNINGSECRET";
const slackSigningSecret = z
  .string()
  .regex(/^[A-Za-z0-9]{16,128}$/, "must be the app's Signing Secret (Basic Information > App Credentials)")
  .refine(
    (value) => value !== SIGNING_SECRET_PLACEHOLDER,
    "is still the placeholder: paste the app's Signing Secret (Basic Information > App Credentials)",
  );

/** `U0123456789,U0987654321`: who may change subscriptions from Slack. */
const slackUserList = z
  .string()
  .transform((value) =>
    value
      .split(",")
      .map((part) => part.trim())
      .filter((part) => part !== ""),
  )
  .pipe(z.array(z.string().regex(/^[UW][A-Z0-9]{8,}$/, "must be Slack user ids (U...) separated by commas")))
  .optional();

/** `{conversationUid}` and `{projectId}` are replaced; the result must be an https link. */
const urlTemplate = z
  .string()
  .refine((value) => value.includes("{conversationUid}"), "must contain {conversationUid}")
  .refine(
    (value) => /^https:\/\/[^\s<>|]+$/.test(value.replaceAll(/\{(conversationUid|projectId)\}/g, "x")),
    "must be an https URL without spaces, <, > or |",
  );

const fields = {
  RESPONDENT_API_URL: httpUrl.default(DEFAULT_RESPONDENT_API_URL),
  RESPONDENT_API_KEY: optionalText,
  RESPONDENT_API_SECRET: optionalText,
  RESPONDENT_SECRET_ARN: z.string().startsWith("arn:", "must be a Secrets Manager ARN"),
  RESPONDENT_PAGE_SIZE: integer(1, 1000).default(100),
  RESPONDENT_MAX_CONCURRENCY: integer(1, 64).default(4),
  RESPONDENT_TIMEOUT_MS: integer(100, 120_000).default(10_000),
  RESPONDENT_MAX_RETRIES: integer(0, 10).default(4),
  SLACK_BOT_TOKEN: optionalText.pipe(slackToken.optional()),
  SLACK_SECRET_ARN: z.string().startsWith("arn:", "must be a Secrets Manager ARN"),
  /** The stack's one credentials secret (stack output SecretArn): stands for both ARNs above when they are unset. */
  SECRET_ARN: z.string().startsWith("arn:", "must be a Secrets Manager ARN (stack output SecretArn)"),
  SLACK_API_URL: z
    .url({ protocol: /^https?$/, error: "must be an http(s) URL" })
    .transform((value) => (value.endsWith("/") ? value : `${value}/`))
    .default(DEFAULT_SLACK_API_URL),
  SLACK_TIMEOUT_MS: integer(100, 60_000).default(5_000),
  DYNAMODB_ENDPOINT: optionalText.pipe(httpUrl.optional()),
  SQS_ENDPOINT: optionalText.pipe(httpUrl.optional()),
  TABLE_NAME: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{3,255}$/, "must be a DynamoDB table name (3-255 of A-Z a-z 0-9 _ . -)")
    .default(DEFAULT_TABLE_NAME),
  AWS_REGION: optionalText.pipe(
    z
      .string()
      .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, "must be an AWS region like us-east-1")
      .optional(),
  ),
  POLL_INTERVAL_SECONDS: integer(1, 3600).default(60),
  QUEUE_URL: z.url({ error: "must be the SQS queue URL" }),
  POLL_TICK_QUEUE_URL: z.url({ error: "must be the URL of the poller's tick queue (SQS standard)" }),
  CONVERSATION_URL_TEMPLATE: optionalText.pipe(urlTemplate.optional()),
  OPS_SLACK_CHANNEL: optionalText.pipe(channelIdSchema.optional()),
  NOTIFIER_TARGET: z.enum(["local", "aws"], { error: "must be local or aws" }).default("local"),
  DLQ_URL: z.url({ error: "must be the SQS dead-letter queue URL (stack output DeadLetterQueueUrl)" }),
  SLACK_SIGNING_SECRET: optionalText.pipe(slackSigningSecret.optional()),
  SLACK_ADMIN_USERS: optionalText.pipe(slackUserList),
  HTTP_PORT: integer(0, 65_535).default(3000),
  RESPONDENT_FEED: z.enum(["on", "off"], { error: "must be on or off" }).default("on"),
  RECONCILE_INTERVAL_MINUTES: integer(1, 1440).default(10),
  RESPONDENT_WEBHOOK_SECRET: optionalText,
} as const;

type Fields = typeof fields;
type FieldName = keyof Fields;

function parse<const Names extends FieldName>(
  env: Env,
  names: readonly Names[],
  overrides: Partial<Record<Names, z.ZodType>> = {},
): { [K in Names]: z.output<Fields[K]> } {
  const result: Record<string, unknown> = {};
  for (const name of names) {
    const schema = (overrides[name] ?? fields[name]) as z.ZodType;
    const raw = env[name];
    const parsed = schema.safeParse(raw === "" ? undefined : raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const problem = raw === undefined || raw === "" ? "is required" : (issue?.message ?? "is invalid");
      throw new ConfigError(name, problem);
    }
    result[name] = parsed.data;
  }
  return result as { [K in Names]: z.output<Fields[K]> };
}

export interface RespondentClientSettings {
  baseUrl: string;
  pageSize: number;
  maxConcurrency: number;
  timeoutMs: number;
  maxRetries: number;
  /** The one attempt of a project name lookup (default 2,000 ms): a name never holds up an alert. */
  projectLookupTimeoutMs?: number;
}

export interface SlackClientSettings {
  apiUrl: string;
  timeoutMs: number;
  /**
   * The least time between two posts to one channel from this process (Slack allows about one
   * message per second per channel). Default 1,100 ms (DEFAULT_POST_INTERVAL_MS); the reliability suite, which is about
   * order and exactly-once rather than pace, sets 0.
   */
  postIntervalMs?: number;
}

export interface TableSettings {
  tableName: string;
  /**
   * Undefined: the AWS SDK's default chain decides (AWS_REGION, the profile's region). Against a
   * local endpoint the region is only a label, so DEFAULT_REGION stands in.
   */
  region: string | undefined;
  endpoint: string | undefined;
}

/** The notifier's queue and its dead-letter queue (stack outputs QueueUrl, DeadLetterQueueUrl). */
export interface QueueSettings {
  /** Absent where only the dead-letter queue is used (the CLI's `dlq` with DLQ_URL). */
  queueUrl: string | undefined;
  /** Absent where nothing is moved there (the poller only sends). */
  deadLetterQueueUrl: string | undefined;
  /** The fast-poll chain's delay queue (the poller below 60 s); absent everywhere else. */
  pollTickQueueUrl?: string | undefined;
}

function respondentSettings(env: Env): RespondentClientSettings {
  const values = parse(env, [
    "RESPONDENT_API_URL",
    "RESPONDENT_PAGE_SIZE",
    "RESPONDENT_MAX_CONCURRENCY",
    "RESPONDENT_TIMEOUT_MS",
    "RESPONDENT_MAX_RETRIES",
  ]);
  return {
    baseUrl: values.RESPONDENT_API_URL,
    pageSize: values.RESPONDENT_PAGE_SIZE,
    maxConcurrency: values.RESPONDENT_MAX_CONCURRENCY,
    timeoutMs: values.RESPONDENT_TIMEOUT_MS,
    maxRetries: values.RESPONDENT_MAX_RETRIES,
  };
}

function slackSettings(env: Env): SlackClientSettings {
  const values = parse(env, ["SLACK_API_URL", "SLACK_TIMEOUT_MS"]);
  return { apiUrl: values.SLACK_API_URL, timeoutMs: values.SLACK_TIMEOUT_MS };
}

function tableSettings(env: Env, target: "local" | "aws"): TableSettings {
  const values = parse(
    env,
    ["TABLE_NAME", "AWS_REGION", "DYNAMODB_ENDPOINT"],
    target === "aws" ? { TABLE_NAME: fields.TABLE_NAME.removeDefault() } : {},
  );
  return {
    tableName: values.TABLE_NAME,
    region: values.AWS_REGION ?? (target === "local" ? DEFAULT_REGION : undefined),
    endpoint: values.DYNAMODB_ENDPOINT,
  };
}

/**
 * The messages feed (RESPONDENT_FEED, default on): between two sweeps of every conversation, a
 * poll reads only the messages since the last one. `enabled: false` is the poll as it was.
 */
export interface FeedSettings {
  enabled: boolean;
  reconcileIntervalMinutes: number;
}

function feedSettings(env: Env): FeedSettings {
  const values = parse(env, ["RESPONDENT_FEED", "RECONCILE_INTERVAL_MINUTES"]);
  return { enabled: values.RESPONDENT_FEED === "on", reconcileIntervalMinutes: values.RECONCILE_INTERVAL_MINUTES };
}

/** What the `POST /respondent/webhook` route needs: the webhook's `privateKey`, when signatures are checked. */
export interface WebhookSettings {
  /** Absent: deliveries are not signature-checked (they are hints only; nothing is alerted from them). */
  secret: string | undefined;
}

export function loadWebhookSettings(env: Env): WebhookSettings {
  return { secret: parse(env, ["RESPONDENT_WEBHOOK_SECRET"]).RESPONDENT_WEBHOOK_SECRET };
}

/**
 * The poll intervals the poller Lambda accepts. 60 is one scheduled invocation a minute; below it
 * each poll is its own invocation, chained through a delay queue (src/usecases/poll-chain.ts).
 * Each divides the minute, so the schedule's watchdog minute holds a whole number of polls.
 */
export const LAMBDA_POLL_INTERVALS = [10, 15, 20, 30, 60] as const;

const lambdaPollInterval = integer(1, 3600)
  .refine((value) => (LAMBDA_POLL_INTERVALS as readonly number[]).includes(value), {
    error: `must be one of ${LAMBDA_POLL_INTERVALS.join(", ")} (seconds that divide the scheduled minute)`,
  })
  .default(60);

export interface OpsChannelSettings {
  channelId: string;
  slack: SlackClientSettings;
  slackSecretArn: string;
}

export interface PollerLambdaConfig {
  respondent: RespondentClientSettings;
  respondentSecretArn: string;
  table: TableSettings;
  queueUrl: string;
  /** Below 60, each poll is its own invocation, chained through the tick queue (usecases/poll-chain.ts). */
  pollIntervalSeconds: number;
  /** The tick queue of the fast-poll chain; set exactly when pollIntervalSeconds is below 60. */
  pollTickQueueUrl: string | undefined;
  /** Absent: no health messages (the poller then never reads the Slack secret). */
  ops: OpsChannelSettings | undefined;
  feed: FeedSettings;
}

export function loadPollerLambdaConfig(env: Env): PollerLambdaConfig {
  const values = parse(env, ["RESPONDENT_SECRET_ARN", "QUEUE_URL", "POLL_INTERVAL_SECONDS", "OPS_SLACK_CHANNEL"], {
    POLL_INTERVAL_SECONDS: lambdaPollInterval,
  });
  const opsChannelId = values.OPS_SLACK_CHANNEL;
  const { POLL_TICK_QUEUE_URL: pollTickQueueUrl } = parse(env, ["POLL_TICK_QUEUE_URL"], {
    POLL_TICK_QUEUE_URL: fields.POLL_TICK_QUEUE_URL.optional(),
  });
  if (values.POLL_INTERVAL_SECONDS < 60 && !pollTickQueueUrl) {
    throw new ConfigError(
      "POLL_TICK_QUEUE_URL",
      `is required when POLL_INTERVAL_SECONDS is below 60 (it is ${values.POLL_INTERVAL_SECONDS}): polls that fast are chained through this queue; deploy the stack with that pollIntervalSeconds, which creates it`,
    );
  }
  return {
    respondent: respondentSettings(env),
    respondentSecretArn: values.RESPONDENT_SECRET_ARN,
    table: tableSettings(env, "aws"),
    queueUrl: values.QUEUE_URL,
    pollIntervalSeconds: values.POLL_INTERVAL_SECONDS,
    pollTickQueueUrl,
    feed: feedSettings(env),
    ops: opsChannelId
      ? {
          channelId: opsChannelId,
          slack: slackSettings(env),
          slackSecretArn: parse(env, ["SLACK_SECRET_ARN"]).SLACK_SECRET_ARN,
        }
      : undefined,
  };
}

export interface NotifierLambdaConfig {
  slack: SlackClientSettings;
  slackSecretArn: string;
  table: TableSettings;
  /** Where retried messages wait and invalid ones are moved (the event source hands over the messages). */
  queue: QueueSettings;
  conversationUrlTemplate: string | undefined;
  /** Absent: no health messages and no automatic pausing of unusable channels. */
  opsChannelId: string | undefined;
}

export function loadNotifierLambdaConfig(env: Env): NotifierLambdaConfig {
  const values = parse(env, [
    "SLACK_SECRET_ARN",
    "CONVERSATION_URL_TEMPLATE",
    "OPS_SLACK_CHANNEL",
    "QUEUE_URL",
    "DLQ_URL",
  ]);
  return {
    slack: slackSettings(env),
    slackSecretArn: values.SLACK_SECRET_ARN,
    table: tableSettings(env, "aws"),
    queue: { queueUrl: values.QUEUE_URL, deadLetterQueueUrl: values.DLQ_URL },
    conversationUrlTemplate: values.CONVERSATION_URL_TEMPLATE,
    opsChannelId: values.OPS_SLACK_CHANNEL,
  };
}

export interface LocalConfig {
  respondent: RespondentClientSettings;
  /** Absent: the built-in Respondent API simulator is started and used. */
  respondentCredentials: { apiKey: string; apiSecret: string } | undefined;
  slack: SlackClientSettings;
  /** Absent: alerts go to an embedded fake Slack and are printed to the terminal. */
  slackBotToken: string | undefined;
  /** `table.endpoint` absent: an embedded DynamoDB Local is started with the process. */
  table: TableSettings;
  /** Absent: an embedded SQS emulator is started with the process (its queues are named after the table). */
  sqsEndpoint: string | undefined;
  pollIntervalSeconds: number;
  conversationUrlTemplate: string | undefined;
  /** Health transitions and paused channels are posted here (to the fake Slack too). */
  opsChannelId: string | undefined;
  /** Where `start` serves Slack's requests (POST /slack/events) on 127.0.0.1; 0 picks a free port. */
  httpPort: number;
  /** Verifies Slack's requests; absent with the fake Slack, which then signs with one made up at start. */
  slackSigningSecret: string | undefined;
  /** Who may change subscriptions from Slack (`/respondent subscribe`); empty: nobody. */
  slackAdminUsers: string[];
  feed: FeedSettings;
  webhook: WebhookSettings;
}

export function loadLocalConfig(env: Env): LocalConfig {
  const values = parse(env, [
    "RESPONDENT_API_KEY",
    "RESPONDENT_API_SECRET",
    "SLACK_BOT_TOKEN",
    "POLL_INTERVAL_SECONDS",
    "CONVERSATION_URL_TEMPLATE",
    "OPS_SLACK_CHANNEL",
    "SQS_ENDPOINT",
    "HTTP_PORT",
    "SLACK_SIGNING_SECRET",
    "SLACK_ADMIN_USERS",
  ]);
  const { RESPONDENT_API_KEY: apiKey, RESPONDENT_API_SECRET: apiSecret } = values;
  if (apiKey && !apiSecret)
    throw new ConfigError("RESPONDENT_API_SECRET", "is required when RESPONDENT_API_KEY is set");
  if (apiSecret && !apiKey)
    throw new ConfigError("RESPONDENT_API_KEY", "is required when RESPONDENT_API_SECRET is set");
  return {
    respondent: respondentSettings(env),
    respondentCredentials: apiKey && apiSecret ? { apiKey, apiSecret } : undefined,
    slack: slackSettings(env),
    slackBotToken: values.SLACK_BOT_TOKEN,
    table: tableSettings(env, "local"),
    sqsEndpoint: values.SQS_ENDPOINT,
    pollIntervalSeconds: values.POLL_INTERVAL_SECONDS,
    conversationUrlTemplate: values.CONVERSATION_URL_TEMPLATE,
    opsChannelId: values.OPS_SLACK_CHANNEL,
    httpPort: values.HTTP_PORT,
    slackSigningSecret: values.SLACK_SIGNING_SECRET,
    slackAdminUsers: values.SLACK_ADMIN_USERS ?? [],
    feed: feedSettings(env),
    webhook: loadWebhookSettings(env),
  };
}

/** The http Lambda: Slack's requests (buttons, the modal, the slash command) behind the Function URL. */
export interface HttpLambdaConfig {
  slack: SlackClientSettings;
  /** The Slack secret carries the bot token and the signing secret. */
  slackSecretArn: string;
  respondent: RespondentClientSettings;
  respondentSecretArn: string;
  table: TableSettings;
  slackAdminUsers: string[];
  /** Where a Respondent webhook's hint queues what it finds; absent: POST /respondent/webhook is not served. */
  queueUrl: string | undefined;
}

export function loadHttpLambdaConfig(env: Env): HttpLambdaConfig {
  const values = parse(env, ["SLACK_SECRET_ARN", "RESPONDENT_SECRET_ARN", "SLACK_ADMIN_USERS", "QUEUE_URL"], {
    QUEUE_URL: z.url({ error: "must be the SQS queue URL" }).optional(),
  });
  return {
    queueUrl: values.QUEUE_URL,
    slack: slackSettings(env),
    slackSecretArn: values.SLACK_SECRET_ARN,
    respondent: respondentSettings(env),
    respondentSecretArn: values.RESPONDENT_SECRET_ARN,
    table: tableSettings(env, "aws"),
    slackAdminUsers: values.SLACK_ADMIN_USERS ?? [],
  };
}

/** Shape of the Respondent secret in Secrets Manager (`webhookSecret`: the webhook's privateKey, optional). */
export const respondentSecretSchema = z.object({
  apiKey: z.string().min(1, "apiKey is empty"),
  apiSecret: z.string().min(1, "apiSecret is empty"),
  // The one secret is created with every field empty: an empty webhookSecret is "not set".
  webhookSecret: z.preprocess(
    (value) => (typeof value === "string" && value.trim() === "" ? undefined : value),
    z.string().optional(),
  ),
});

/**
 * Shape of the Slack secret in Secrets Manager. `signingSecret` verifies Slack's requests to the
 * http function; the poller and notifier need only the token, so a secret without it still works
 * for them (the http function refuses every request and `doctor` says what to add).
 */
export const slackSecretSchema = z.object({
  botToken: slackToken,
  signingSecret: z
    .string()
    .transform((value) => (value.trim() === "" ? undefined : value.trim()))
    .pipe(slackSigningSecret.optional())
    .optional(),
});

/**
 * The one secret of the deployed stack: every credential in one JSON object (one secret costs
 * $0.40 a month). The Respondent and Slack schemas above read their fields out of it.
 * `apiKey`, `apiSecret` and `botToken` are required: no alert can be found or posted without them.
 * `signingSecret` (Slack's, for its requests to our HTTP endpoint) and `webhookSecret` (the
 * Respondent webhook's privateKey) are optional: only the features that receive requests need them,
 * and they refuse requests while it is unset.
 */
const optionalSecretText = z.preprocess((value) => (value === "" ? undefined : value), z.string().optional());
export const credentialsSecretSchema = z.object({
  apiKey: z.string().min(1, "apiKey is empty"),
  apiSecret: z.string().min(1, "apiSecret is empty"),
  botToken: slackToken,
  signingSecret: optionalSecretText,
  webhookSecret: optionalSecretText,
});
export type CredentialsSecret = z.output<typeof credentialsSecretSchema>;
export type CredentialsField = keyof CredentialsSecret;

/** Each field of the one secret: the variable `secret fill` takes it from, and its placeholder. */
export const CREDENTIALS_SECRET_FIELDS: readonly {
  field: CredentialsField;
  variable:
    | "RESPONDENT_API_KEY"
    | "RESPONDENT_API_SECRET"
    | "SLACK_BOT_TOKEN"
    | "SLACK_SIGNING_SECRET"
    | "RESPONDENT_WEBHOOK_SECRET";
  required: boolean;
  placeholder: string;
  what: string;
}[] = [
  {
    field: "apiKey",
    variable: "RESPONDENT_API_KEY",
    required: true,
    placeholder: "YOUR_API_KEY",
    what: "Respondent Partner API key",
  },
  {
    field: "apiSecret",
    variable: "RESPONDENT_API_SECRET",
    required: true,
    placeholder: "YOUR_API_SECRET",
    what: "Respondent Partner API secret",
  },
  {
    field: "botToken",
    variable: "SLACK_BOT_TOKEN",
    required: true,
    placeholder: "xoxb-YOUR-BOT-TOKEN",
    what: "Slack Bot User OAuth Token",
  },
  {
    field: "signingSecret",
    variable: "SLACK_SIGNING_SECRET",
    required: false,
    placeholder: "YOUR_SLACK_SIGNING_SECRET",
    what: "Slack app Signing Secret (Basic Information), for Slack's requests to the HTTP endpoint",
  },
  {
    field: "webhookSecret",
    variable: "RESPONDENT_WEBHOOK_SECRET",
    required: false,
    placeholder: "YOUR_WEBHOOK_PRIVATE_KEY",
    what: "Respondent webhook privateKey, for Respondent webhooks",
  },
];

/** What `respondent-notifier secret fill` reads: the secret's ARN and the values given for its fields. */
export interface SecretFillConfig {
  secretArn: string | undefined;
  values: Partial<Record<CredentialsField, string>>;
}

export function loadSecretFillConfig(env: Env): SecretFillConfig {
  const { SECRET_ARN } = parse(env, ["SECRET_ARN"], { SECRET_ARN: fields.SECRET_ARN.optional() });
  const values: Partial<Record<CredentialsField, string>> = {};
  for (const { field, variable } of CREDENTIALS_SECRET_FIELDS) {
    const value = env[variable]?.trim();
    if (value) values[field] = value;
  }
  return { secretArn: SECRET_ARN, values };
}

/** Each secret field with the placeholder its fill command shows (stack outputs, doctor, error messages). */
export const RESPONDENT_SECRET_PLACEHOLDERS = { apiKey: "YOUR_API_KEY", apiSecret: "YOUR_API_SECRET" };
export const SLACK_SECRET_PLACEHOLDERS = { botToken: "xoxb-YOUR-BOT-TOKEN", signingSecret: SIGNING_SECRET_PLACEHOLDER };

/**
 * Operator commands (doctor, subscriptions, dlq, poll --dry-run) can also work on the deployed
 * stack. `NOTIFIER_TARGET=aws` puts the table in AWS DynamoDB (never created by the CLI, so
 * TABLE_NAME is required); the secret ARNs, when set, replace RESPONDENT_API_KEY/SECRET and
 * SLACK_BOT_TOKEN; DLQ_URL makes `dlq` use the SQS dead-letter queue.
 */
export interface OperatorConfig {
  target: "local" | "aws";
  table: TableSettings;
  respondentSecretArn: string | undefined;
  slackSecretArn: string | undefined;
  deadLetterQueueUrl: string | undefined;
}

export function loadOperatorConfig(env: Env): OperatorConfig {
  const parsed = parse(env, ["NOTIFIER_TARGET", "RESPONDENT_SECRET_ARN", "SLACK_SECRET_ARN", "SECRET_ARN", "DLQ_URL"], {
    RESPONDENT_SECRET_ARN: fields.RESPONDENT_SECRET_ARN.optional(),
    SLACK_SECRET_ARN: fields.SLACK_SECRET_ARN.optional(),
    SECRET_ARN: fields.SECRET_ARN.optional(),
    DLQ_URL: fields.DLQ_URL.optional(),
  });
  // The stack's one secret holds both parts; the two specific variables still win when set.
  const values = {
    ...parsed,
    RESPONDENT_SECRET_ARN: parsed.RESPONDENT_SECRET_ARN ?? parsed.SECRET_ARN,
    SLACK_SECRET_ARN: parsed.SLACK_SECRET_ARN ?? parsed.SECRET_ARN,
  };
  if (values.RESPONDENT_SECRET_ARN && env.RESPONDENT_API_KEY?.trim()) {
    throw new ConfigError(
      "RESPONDENT_SECRET_ARN",
      "set either it or RESPONDENT_API_KEY/RESPONDENT_API_SECRET, not both",
    );
  }
  if (values.SLACK_SECRET_ARN && env.SLACK_BOT_TOKEN?.trim()) {
    throw new ConfigError("SLACK_SECRET_ARN", "set either it or SLACK_BOT_TOKEN, not both");
  }
  return {
    target: values.NOTIFIER_TARGET,
    table: tableSettings(env, values.NOTIFIER_TARGET),
    respondentSecretArn: values.RESPONDENT_SECRET_ARN,
    slackSecretArn: values.SLACK_SECRET_ARN,
    deadLetterQueueUrl: values.DLQ_URL,
  };
}
