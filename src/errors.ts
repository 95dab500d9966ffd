/**
 * Every error class of the service. An error carries the decisions its callers make, as its own
 * properties, set where the failure is understood:
 * - `retryable`: a later attempt can succeed without anyone changing anything;
 * - `reach`: how far the failure goes (one item, every alert to one channel, the whole service);
 * - `mayHaveTakenEffect`: the side effect may have happened although the call failed (Slack may
 *   have posted), so a retry must find out before doing it again;
 * - `retryAfterSeconds`: the other side said when to come back;
 * - `exitCode`: what the CLI exits with when the error ends a command.
 * Retry policy, exit codes and health read these, never lists of classes. Messages say what was
 * wrong and what to do; they never carry secrets, request headers or raw upstream bodies, and
 * `cause` (kept for debuggers) is never printed: describeError() reads only our own message.
 */
export type ErrorCode =
  | "config_invalid"
  | "usage_invalid"
  | "environment_unusable"
  | "local_service_failed"
  | "respondent_auth"
  | "respondent_request_rejected"
  | "respondent_unavailable"
  | "respondent_bad_response"
  | "poll_incomplete"
  | "state_conflict"
  | "state_unavailable"
  | "queue_unavailable"
  | "event_invalid"
  | "slack_rate_limited"
  | "slack_unavailable"
  | "slack_channel_unusable"
  | "slack_auth"
  | "slack_rejected"
  | "delivery_in_progress"
  | "slack_request_unverified"
  | "unexpected";

/**
 * `item`: this request, page, conversation or alert only. `channel`: every alert to one Slack
 * channel until someone acts there. `service`: everything that uses the same credentials or
 * service (a rejected key or token, an API that is down).
 */
export type FailureReach = "item" | "channel" | "service";

/** Exit codes scripts can rely on. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export interface NotifierErrorOptions {
  cause?: unknown;
}

export abstract class NotifierError extends Error {
  abstract readonly code: ErrorCode;
  abstract readonly retryable: boolean;
  readonly reach: FailureReach = "item";
  readonly mayHaveTakenEffect: boolean = false;
  readonly retryAfterSeconds: number | undefined = undefined;
  readonly exitCode: number = EXIT_FAILURE;

  constructor(message: string, options?: NotifierErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A configuration value is missing or bad. Never retryable: fix the setting and restart. */
export class ConfigError extends NotifierError {
  readonly code = "config_invalid";
  readonly retryable = false;
  override readonly reach = "service";
  override readonly exitCode = EXIT_USAGE;
  constructor(
    readonly field: string,
    problem: string,
    options?: NotifierErrorOptions,
  ) {
    super(`${field}: ${problem}`, options);
  }
}

/** A CLI argument or input file is wrong. */
export class UsageError extends NotifierError {
  readonly code = "usage_invalid";
  readonly retryable = false;
  override readonly exitCode = EXIT_USAGE;
}

/** This machine lacks what an embedded stand-in needs (e.g. Java for DynamoDB Local). */
export class EnvironmentUnusableError extends NotifierError {
  readonly code = "environment_unusable";
  readonly retryable = false;
  override readonly reach = "service";
  override readonly exitCode = EXIT_USAGE;
}

/** Downloading, unpacking or starting an embedded stand-in (DynamoDB Local, the SQS emulator) failed. */
export class LocalServiceError extends NotifierError {
  readonly code = "local_service_failed";
  readonly retryable = true;
  override readonly reach = "service";
}

/** The port an embedded stand-in was to listen on was taken in the meantime: pick another. */
export class LocalPortInUseError extends LocalServiceError {}

export class RespondentAuthError extends NotifierError {
  readonly code = "respondent_auth";
  readonly retryable = false;
  override readonly reach = "service";
  constructor(
    readonly status: number,
    options?: NotifierErrorOptions,
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
    options?: NotifierErrorOptions,
  ) {
    super(`Respondent API rejected the request (${status}): ${hint}`, options);
  }
}

/** Network errors, timeouts, 429 and 5xx that outlasted the client's retries: every scope would meet them. */
export class RespondentUnavailableError extends NotifierError {
  readonly code = "respondent_unavailable";
  readonly retryable = true;
  override readonly reach = "service";
  constructor(
    message: string,
    readonly status?: number,
    options?: NotifierErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * A write to Respondent (sending a message) failed in a way that may have carried it out: a
 * timeout, a 5xx, a dropped connection. Never repeated blindly: the message may have been sent.
 */
export class RespondentWriteUncertainError extends RespondentUnavailableError {
  override readonly mayHaveTakenEffect = true;
}

/** The body of a page is not what the contract says (not JSON, missing `results`, ...). */
export class RespondentBadResponseError extends NotifierError {
  readonly code = "respondent_bad_response";
  readonly retryable = true;
}

/** A poll left something for the next one (a page, a scope, conversations that failed). */
export class PollIncompleteError extends NotifierError {
  readonly code = "poll_incomplete";
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

/** Slack did not post (it answered 429): come back after `retryAfterSeconds`. */
export class SlackRateLimitedError extends NotifierError {
  readonly code = "slack_rate_limited";
  readonly retryable = true;
  override readonly reach = "channel";
  override readonly retryAfterSeconds: number;
  constructor(
    readonly channelId: string,
    retryAfterSeconds: number,
    options?: NotifierErrorOptions,
  ) {
    super(`Slack rate-limited posting to ${channelId}; retry after ${retryAfterSeconds}s`, options);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/**
 * Slack failed or did not answer. `mayHavePosted` is false only when the request certainly never
 * reached Slack (connection refused, unknown host); after a timeout, a 5xx or a reset connection
 * the message may be in the channel.
 */
export class SlackUnavailableError extends NotifierError {
  readonly code = "slack_unavailable";
  readonly retryable = true;
  override readonly reach = "service";
  override readonly mayHaveTakenEffect: boolean;
  constructor(message: string, options: NotifierErrorOptions & { mayHavePosted: boolean }) {
    super(message, options);
    this.mayHaveTakenEffect = options.mayHavePosted;
  }
}

/** The channel cannot receive posts until someone acts (invite the app, unarchive, ...). */
export class SlackChannelUnusableError extends NotifierError {
  readonly code = "slack_channel_unusable";
  readonly retryable = false;
  override readonly reach = "channel";
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
  override readonly reach = "service";
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

/** Another notifier holds the delivery claim for this alert; try again once its lease has run out. */
export class DeliveryInProgressError extends NotifierError {
  readonly code = "delivery_in_progress";
  readonly retryable = true;
  override readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds: number) {
    super(message);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** A request claiming to come from Slack failed its signature check (or came too late): refused with 401. */
export class SlackRequestUnverifiedError extends NotifierError {
  readonly code = "slack_request_unverified";
  readonly retryable = false;
}

/**
 * A failure none of our adapters classified (a bug, an SDK surprise). Retried: a retry can only
 * delay an alert, while giving up could drop one; the queue's redrive policy bounds the attempts.
 */
export class UnexpectedError extends NotifierError {
  readonly code = "unexpected";
  readonly retryable = true;
}

/** Our own errors as they are; anything else as an UnexpectedError carrying it as its cause. */
export function asNotifierError(error: unknown): NotifierError {
  if (error instanceof NotifierError) return error;
  return new UnexpectedError(describeError(error), { cause: error });
}

export function isRetryable(error: unknown): boolean {
  return asNotifierError(error).retryable;
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
