import { z } from "zod";
import { DEFAULT_RESPONDENT_API_URL, LAMBDA_POLL_INTERVALS, loadNotifierLambdaConfig } from "../src/config.ts";
import { channelIdSchema } from "../src/domain/subscriptions.ts";
import { ConfigError } from "../src/errors.ts";

/**
 * Deployment settings, read from CDK context (`cdk.json` "context" or `-c name=value`) and
 * validated once at synth time: a bad value fails `cdk synth` naming the setting.
 */

/** The retention periods CloudWatch Logs accepts (infinite retention is deliberately not offered). */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

export type LogRetentionDays = (typeof LOG_RETENTION_DAYS)[number];

/** A CloudWatch alarm evaluates at most one day of one-minute periods. */
const MAX_ALARM_MINUTES = 1440;

// Context values from `-c name=value` arrive as strings, values from cdk.json as JSON types.
const fromText = (value: unknown) => (typeof value === "string" ? value.trim() : value);
const absentIfBlank = (value: unknown) => (value === "" || value === null ? undefined : value);

const wholeNumber = (min: number, max: number) =>
  z.preprocess(
    (value) => {
      const text = fromText(value);
      return typeof text === "string" && /^-?\d+$/.test(text) ? Number(text) : text;
    },
    z
      .number({ error: `must be a whole number from ${min} to ${max}` })
      .int(`must be a whole number from ${min} to ${max}`)
      .min(min, `must be a whole number from ${min} to ${max}`)
      .max(max, `must be a whole number from ${min} to ${max}`),
  );

/** For settings with a fixed list of allowed numbers: "30" becomes 30, anything else is left to be refused. */
const digitsToNumber = (value: unknown) => {
  const text = fromText(value);
  return typeof text === "string" && /^\d+$/.test(text) ? Number(text) : text;
};

const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => absentIfBlank(fromText(value)), schema.optional());

const withDefault = <T extends z.ZodType>(schema: T, fallback: z.input<T>) =>
  z.preprocess((value) => absentIfBlank(fromText(value)) ?? fallback, schema);

/**
 * A secret to import instead of creating one: its name, or its complete ARN (with the six
 * characters Secrets Manager appends, as the console shows it). Partial ARNs are refused: a
 * name that itself ends in "-" and six characters would make them ambiguous.
 */
const existingSecret = z
  .string({ error: "must be a Secrets Manager secret name or complete ARN" })
  .regex(
    /^(arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}|[A-Za-z0-9/_+=.@-]{1,512})$/,
    "must be a Secrets Manager secret name (A-Z a-z 0-9 /_+=.@-) or a complete secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 characters>)",
  );

const fieldSchemas = {
  stackName: withDefault(
    z
      .string()
      .regex(
        /^[A-Za-z][A-Za-z0-9-]{0,127}$/,
        "must be a CloudFormation stack name: a letter, then up to 127 letters, digits or hyphens",
      ),
    "RespondentNotifier",
  ),
  respondentApiUrl: withDefault(
    z
      .url({ protocol: /^https$/, error: "must be an https URL such as https://api.respondent.io" })
      .transform((value) => value.replace(/\/+$/, "")),
    DEFAULT_RESPONDENT_API_URL,
  ),
  pollRateMinutes: withDefault(wholeNumber(1, 60), 1),
  pollIntervalSeconds: withDefault(
    z.preprocess(
      digitsToNumber,
      z.literal(LAMBDA_POLL_INTERVALS, {
        error: `must be one of ${LAMBDA_POLL_INTERVALS.join(", ")} (seconds that divide the scheduled minute)`,
      }),
    ),
    60,
  ),
  opsChannelId: optional(channelIdSchema),
  noPollAlarmMinutes: withDefault(wholeNumber(2, MAX_ALARM_MINUTES), 10),
  logRetentionDays: withDefault(
    z.preprocess(
      digitsToNumber,
      z.literal(LOG_RETENTION_DAYS, {
        error: `must be one of the retention periods CloudWatch Logs allows: ${LOG_RETENTION_DAYS.join(", ")}`,
      }),
    ),
    30,
  ),
  alarmEmail: optional(z.email({ error: "must be an e-mail address" })),
  conversationUrlTemplate: optional(z.string()),
  existingSecret: optional(existingSecret),
  /**
   * Reserve a concurrency of 1 for the poller. Off by default: a new account's quota (10) cannot
   * spare a reservation, and the poll lease already makes an overlapping tick skip.
   */
  reservePollerConcurrency: withDefault(
    z.preprocess(
      (value) => {
        const text = fromText(value);
        return text === "true" ? true : text === "false" ? false : text;
      },
      z.boolean({ error: "must be true or false" }),
    ),
    false,
  ),
  /** Who may change subscriptions from Slack (/respondent subscribe): Slack user ids, comma-separated. */
  slackAdminUsers: z.preprocess(
    (value) => {
      const parts = Array.isArray(value) ? value : typeof value === "string" ? value.split(",") : value;
      if (parts === undefined || parts === null) return [];
      return Array.isArray(parts) ? parts.map(fromText).filter((part) => part !== "") : parts;
    },
    z.array(z.string().regex(/^[UW][A-Z0-9]{8,}$/, "must be Slack user ids (U...) separated by commas"), {
      error: "must be Slack user ids (U...) separated by commas",
    }),
  ),
} as const;

export type SettingName = keyof typeof fieldSchemas;

export const SETTING_NAMES = Object.keys(fieldSchemas) as SettingName[];

export type Settings = { [K in SettingName]: z.output<(typeof fieldSchemas)[K]> };

function invalid(name: string, problem: string, raw: unknown): ConfigError {
  const got = raw === undefined ? "" : ` (got ${JSON.stringify(raw)})`;
  return new ConfigError(
    name,
    `${problem}${got}. Set it in cdk.json under "context" or with \`cdk synth -c ${name}=<value>\``,
  );
}

/**
 * Validates the settings. `context` maps setting names to raw context values; anything not a
 * setting is ignored here (CDK keeps its own keys in the same context).
 */
export function parseSettings(context: Readonly<Record<string, unknown>>): Settings {
  const settings: Record<string, unknown> = {};
  for (const name of SETTING_NAMES) {
    const raw = context[name];
    const parsed = fieldSchemas[name].safeParse(raw);
    if (!parsed.success) throw invalid(name, parsed.error.issues[0]?.message ?? "is invalid", raw);
    settings[name] = parsed.data;
  }
  const result = settings as Settings;
  checkConversationUrlTemplate(result.conversationUrlTemplate);
  if (result.pollIntervalSeconds < 60 && result.pollRateMinutes !== 1) {
    throw invalid(
      "pollIntervalSeconds",
      `polls below 60 s are a chain whose watchdog is scheduled every minute, so pollRateMinutes must be 1 (it is ${result.pollRateMinutes})`,
      context.pollIntervalSeconds,
    );
  }
  if (result.noPollAlarmMinutes < 2 * result.pollRateMinutes) {
    throw invalid(
      "noPollAlarmMinutes",
      `must be at least twice pollRateMinutes (${result.pollRateMinutes}), so one late or failed poll does not raise the alarm`,
      context.noPollAlarmMinutes,
    );
  }
  return result;
}

/**
 * The notifier validates the template at start-up; running the same loader here means a
 * template `cdk synth` accepts is one the deployed function accepts too.
 */
function checkConversationUrlTemplate(template: string | undefined): void {
  if (template === undefined) return;
  try {
    loadNotifierLambdaConfig({
      SLACK_SECRET_ARN: "arn:aws:secretsmanager:us-east-1:123456789012:secret:synth-check",
      TABLE_NAME: "synth-check",
      QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/123456789012/synth-check.fifo",
      DLQ_URL: "https://sqs.us-east-1.amazonaws.com/123456789012/synth-check-dlq.fifo",
      CONVERSATION_URL_TEMPLATE: template,
    });
  } catch (error) {
    if (error instanceof ConfigError && error.field === "CONVERSATION_URL_TEMPLATE") {
      throw invalid("conversationUrlTemplate", error.message.replace(/^CONVERSATION_URL_TEMPLATE: /, ""), template);
    }
    throw error;
  }
}

/**
 * Context keys shaped like a setting (camelCase) that are not one: almost always a typo, which
 * would otherwise be ignored silently. CDK's own keys are namespaced (`aws:cdk:...`,
 * `@aws-cdk/...`) or kebab-case (`acknowledged-issue-numbers`, `cli-telemetry`), so they pass.
 */
export function unknownSettingNames(contextKeys: readonly string[]): string[] {
  const known = new Set<string>(SETTING_NAMES);
  return contextKeys.filter((key) => /^[a-z][A-Za-z0-9]*$/.test(key) && !known.has(key));
}
