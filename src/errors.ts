/**
 * Typed errors. Whether a retry can help is a property of the error (`retryable`), decided
 * where the failure is understood, so callers branch on `code`/`retryable` instead of
 * re-deriving it. Messages say what was wrong and what to do; they never carry secrets,
 * request headers or raw upstream bodies.
 */
export type ErrorCode =
  | "config_invalid"
  | "usage_invalid"
  | "respondent_auth"
  | "respondent_request_rejected"
  | "respondent_unavailable"
  | "respondent_bad_response"
  | "state_conflict"
  | "state_unavailable"
  | "queue_unavailable"
  | "event_invalid"
  | "slack_rate_limited"
  | "slack_unavailable"
  | "slack_channel_unusable"
  | "slack_auth"
  | "slack_rejected"
  | "delivery_in_progress";

export abstract class NotifierError extends Error {
  abstract readonly code: ErrorCode;
  abstract readonly retryable: boolean;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A configuration value is missing or bad. Never retryable: fix the setting and restart. */
export class ConfigError extends NotifierError {
  readonly code = "config_invalid";
  readonly retryable = false;
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`${field}: ${problem}`);
  }
}

/** A CLI argument or input file is wrong. */
export class UsageError extends NotifierError {
  readonly code = "usage_invalid";
  readonly retryable = false;
}

export class RespondentAuthError extends NotifierError {
  readonly code = "respondent_auth";
  readonly retryable = false;
  constructor(
    readonly status: number,
    options?: { cause?: unknown },
  ) {
    super(
      `Respondent API credentials rejected (${status}): check RESPONDENT_API_KEY / RESPONDENT_API_SECRET (or the Respondent secret) and that they belong to this base URL (production and staging keys differ)`,
      options,
    );
  }
}

/** 400/404 and other answers a retry cannot change. */
export class RespondentRequestRejectedError extends NotifierError {
  readonly code = "respondent_request_rejected";
  readonly retryable = false;
  constructor(
    readonly status: number,
    hint: string,
  ) {
    super(`Respondent API rejected the request (${status}): ${hint}`);
  }
}

/** Network errors, timeouts, 429 and 5xx that outlasted the client's retries. */
export class RespondentUnavailableError extends NotifierError {
  readonly code = "respondent_unavailable";
  readonly retryable = true;
  constructor(
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The body of a page is not what the contract says (not JSON, missing `results`, ...). */
export class RespondentBadResponseError extends NotifierError {
  readonly code = "respondent_bad_response";
  readonly retryable = true;
}

/** Another writer moved the state first; the caller re-reads instead of overwriting. */
export class StateConflictError extends NotifierError {
  readonly code = "state_conflict";
  readonly retryable = false;
}

export class StateUnavailableError extends NotifierError {
  readonly code = "state_unavailable";
  readonly retryable = true;
}

export class QueueUnavailableError extends NotifierError {
  readonly code = "queue_unavailable";
  readonly retryable = true;
}

/** A queue message that is not a valid event: retrying cannot fix it. */
export class InvalidEventError extends NotifierError {
  readonly code = "event_invalid";
  readonly retryable = false;
}

export class SlackRateLimitedError extends NotifierError {
  readonly code = "slack_rate_limited";
  readonly retryable = true;
  constructor(
    readonly channelId: string,
    readonly retryAfterSeconds: number,
    options?: { cause?: unknown },
  ) {
    super(`Slack rate-limited posting to ${channelId}; retry after ${retryAfterSeconds}s`, options);
  }
}

export class SlackUnavailableError extends NotifierError {
  readonly code = "slack_unavailable";
  readonly retryable = true;
}

/** The channel cannot receive posts until someone acts (invite the app, unarchive, ...). */
export class SlackChannelUnusableError extends NotifierError {
  readonly code = "slack_channel_unusable";
  readonly retryable = false;
  constructor(
    readonly channelId: string,
    readonly slackError: string,
    fix: string,
  ) {
    super(`Slack channel ${channelId} cannot receive alerts (${slackError}): ${fix}`);
  }
}

export class SlackAuthError extends NotifierError {
  readonly code = "slack_auth";
  readonly retryable = false;
  constructor(readonly slackError: string) {
    super(
      `Slack rejected the bot token (${slackError}): check SLACK_BOT_TOKEN (or the Slack secret) and that the app is still installed in the workspace`,
    );
  }
}

/** Any other Slack platform error (invalid_blocks, msg_too_long, ...): a retry will not help. */
export class SlackRejectedError extends NotifierError {
  readonly code = "slack_rejected";
  readonly retryable = false;
  constructor(
    readonly channelId: string,
    readonly slackError: string,
  ) {
    super(`Slack refused the alert for ${channelId} (${slackError})`);
  }
}

/** Another notifier holds the delivery claim for this alert; try again after it finishes. */
export class DeliveryInProgressError extends NotifierError {
  readonly code = "delivery_in_progress";
  readonly retryable = true;
}

export function isRetryable(error: unknown): boolean {
  if (error instanceof NotifierError) return error.retryable;
  // Unknown failures (bugs, SDK surprises) are retried: a retry can only delay an alert,
  // while giving up could drop one. The queue's redrive policy bounds the attempts.
  return true;
}

/**
 * A one-line description of an error that is safe to log or print: our own messages are
 * written without secrets; for foreign errors only the class name and message are kept,
 * never attached request/response objects (which can carry headers and tokens).
 */
export function describeError(error: unknown): string {
  if (error instanceof NotifierError) return error.message;
  if (error instanceof Error) return `${error.name}: ${redactSecrets(error.message)}`;
  return redactSecrets(String(error));
}

const SECRET_PATTERNS: RegExp[] = [/xox[abposr]-[A-Za-z0-9-]+/g, /(x-api-(?:key|secret)["':= ]+)[^\s"',}]+/gi];

/** Last line of defence for text we did not write ourselves. */
export function redactSecrets(text: string, knownSecrets: readonly string[] = registeredSecrets): string {
  let redacted = text;
  for (const secret of knownSecrets) {
    if (secret.length >= 6) redacted = redacted.split(secret).join("[redacted]");
  }
  for (const pattern of SECRET_PATTERNS) {
    redacted = redacted.replace(pattern, (_match, prefix?: string) =>
      typeof prefix === "string" ? `${prefix}[redacted]` : "[redacted]",
    );
  }
  return redacted;
}

const registeredSecrets: string[] = [];

/** Secret values loaded at run time are registered so that describeError can scrub them. */
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 6 && !registeredSecrets.includes(value)) registeredSecrets.push(value);
}
