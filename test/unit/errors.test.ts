import { describe, expect, it } from "vitest";
import {
  asNotifierError,
  ConfigError,
  DeliveryInProgressError,
  describeError,
  EnvironmentUnusableError,
  EXIT_FAILURE,
  EXIT_OK,
  EXIT_USAGE,
  InvalidEventError,
  isRetryable,
  LocalPortInUseError,
  LocalServiceError,
  type NotifierError,
  PollIncompleteError,
  QueueUnavailableError,
  RespondentAuthError,
  RespondentBadResponseError,
  RespondentRequestRejectedError,
  RespondentUnavailableError,
  SlackAuthError,
  SlackChannelUnusableError,
  SlackRateLimitedError,
  SlackRejectedError,
  SlackUnavailableError,
  StateConflictError,
  StateUnavailableError,
  UnexpectedError,
  UsageError,
} from "../../src/errors.ts";

/** One of each error class, as the code that understands the failure raises it. */
const EVERY_ERROR: Record<string, NotifierError> = {
  ConfigError: new ConfigError("TABLE_NAME", "is required"),
  UsageError: new UsageError("poll needs --once"),
  EnvironmentUnusableError: new EnvironmentUnusableError("DynamoDB Local needs Java 17+"),
  LocalServiceError: new LocalServiceError("the local SQS emulator did not start"),
  LocalPortInUseError: new LocalPortInUseError("port 8000 is taken"),
  RespondentAuthError: new RespondentAuthError(401),
  RespondentRequestRejectedError: new RespondentRequestRejectedError(404, "no such project"),
  RespondentUnavailableError: new RespondentUnavailableError("Respondent API answered 503", 503),
  RespondentBadResponseError: new RespondentBadResponseError("the page has no results"),
  PollIncompleteError: new PollIncompleteError("2 conversations failed"),
  StateConflictError: new StateConflictError("another poller moved the state"),
  StateUnavailableError: new StateUnavailableError("DynamoDB throttled"),
  QueueUnavailableError: new QueueUnavailableError("SQS unavailable"),
  InvalidEventError: new InvalidEventError("not JSON"),
  SlackRateLimitedError: new SlackRateLimitedError("C0000000001", 30),
  SlackUnavailableError: new SlackUnavailableError("Slack answered HTTP 503", { mayHavePosted: true }),
  SlackChannelUnusableError: new SlackChannelUnusableError("C0000000001", "not_in_channel", "invite the app"),
  SlackAuthError: new SlackAuthError("invalid_auth"),
  SlackRejectedError: new SlackRejectedError("C0000000001", "invalid_blocks"),
  DeliveryInProgressError: new DeliveryInProgressError("another notifier is posting this alert", 65),
  UnexpectedError: new UnexpectedError("TypeError: x is undefined"),
};

const decisions = (error: NotifierError) => ({
  retryable: error.retryable,
  reach: error.reach,
  mayHaveTakenEffect: error.mayHaveTakenEffect,
  retryAfterSeconds: error.retryAfterSeconds,
  exitCode: error.exitCode,
});

describe("the decisions every error carries", () => {
  it("exits 2 (usage) for what the operator must fix in the command or its settings, 1 for every other failure", () => {
    const usage = ["ConfigError", "UsageError", "EnvironmentUnusableError"];

    for (const [name, error] of Object.entries(EVERY_ERROR)) {
      expect(error.exitCode, name).toBe(usage.includes(name) ? EXIT_USAGE : EXIT_FAILURE);
    }
    expect([EXIT_OK, EXIT_FAILURE, EXIT_USAGE]).toEqual([0, 1, 2]);
  });

  it("says what a retry can do and how far each failure reaches", () => {
    expect(Object.fromEntries(Object.entries(EVERY_ERROR).map(([name, error]) => [name, decisions(error)]))).toEqual({
      ConfigError: {
        retryable: false,
        reach: "service",
        mayHaveTakenEffect: false,
        retryAfterSeconds: undefined,
        exitCode: 2,
      },
      UsageError: {
        retryable: false,
        reach: "item",
        mayHaveTakenEffect: false,
        retryAfterSeconds: undefined,
        exitCode: 2,
      },
      EnvironmentUnusableError: {
        retryable: false,
        reach: "service",
        mayHaveTakenEffect: false,
        retryAfterSeconds: undefined,
        exitCode: 2,
      },
      LocalServiceError: {
        retryable: true,
        reach: "service",
        mayHaveTakenEffect: false,
        retryAfterSeconds: undefined,
        exitCode: 1,
      },
      LocalPortInUseError: {
        retryable: true,
        reach: "service",
        mayHaveTakenEffect: false,
        retryAfterSeconds: undefined,
        exitCode: 1,
      },
      RespondentAuthError: {
        retryable: false,
        reach: "service",
        mayHaveTakenEffect: false,
        retryAfterSeconds: undefined,
        exitCode: 1,
      },
      RespondentRequestRejectedError: {
        retryable: false,
        reach: "item",
        mayHaveTakenEffect: false,
        retryAfterSeconds: undefined,
        exitCode: 1,
      },
      RespondentUnavailableError: {
        retryable: true,
        reach: "service",
        mayHaveTakenEffect: false,
        retryAfterSeconds: undefined,
        exitCode: 1,
      },
      RespondentBadResponseError: {
        retryable: true,
        reach: "item",
        mayHaveTakenEffect: false,
        retryAfterSeconds: undefined,
        exitCode: 1,
      },
      PollIncompleteError: {
        retryable: true,
        reach: "item",
        mayHaveTakenEffect: false,
        retryAfterSeconds: undefined,
        exitCode: 1,
      },
      StateConflictError: {
        retryable: false,
        reach: "item",
        mayHaveTakenEffect: false,
        retryAfterSeconds: undefined,
        exitCode: 1,
      },
      StateUnavailableError: {
        retryable: true,
        reach: "item",
        mayHaveTakenEffect: false,
        retryAfterSeconds: undefined,
        exitCode: 1,
      },
      QueueUnavailableError: {
        retryable: true,
        reach: "item",
        mayHaveTakenEffect: false,
        retryAfterSeconds: undefined,
        exitCode: 1,
      },
      InvalidEventError: {
        retryable: false,
        reach: "item",
        mayHaveTakenEffect: false,
        retryAfterSeconds: undefined,
        exitCode: 1,
      },
      SlackRateLimitedError: {
        retryable: true,
        reach: "channel",
        mayHaveTakenEffect: false,
        retryAfterSeconds: 30,
        exitCode: 1,
      },
      SlackUnavailableError: {
        retryable: true,
        reach: "service",
        mayHaveTakenEffect: true,
        retryAfterSeconds: undefined,
        exitCode: 1,
      },
      SlackChannelUnusableError: {
        retryable: false,
        reach: "channel",
        mayHaveTakenEffect: false,
        retryAfterSeconds: undefined,
        exitCode: 1,
      },
      SlackAuthError: {
        retryable: false,
        reach: "service",
        mayHaveTakenEffect: false,
        retryAfterSeconds: undefined,
        exitCode: 1,
      },
      SlackRejectedError: {
        retryable: false,
        reach: "item",
        mayHaveTakenEffect: false,
        retryAfterSeconds: undefined,
        exitCode: 1,
      },
      DeliveryInProgressError: {
        retryable: true,
        reach: "item",
        mayHaveTakenEffect: false,
        retryAfterSeconds: 65,
        exitCode: 1,
      },
      UnexpectedError: {
        retryable: true,
        reach: "item",
        mayHaveTakenEffect: false,
        retryAfterSeconds: undefined,
        exitCode: 1,
      },
    });
  });

  it("takes 'may have posted' from where the Slack failure is understood", () => {
    expect(new SlackUnavailableError("connect ECONNREFUSED", { mayHavePosted: false }).mayHaveTakenEffect).toBe(false);
    expect(
      new SlackUnavailableError("Slack did not answer within 5000 ms", { mayHavePosted: true }).mayHaveTakenEffect,
    ).toBe(true);
  });

  it("names each error by its class and keeps a stable code to branch on", () => {
    expect(EVERY_ERROR.SlackAuthError?.name).toBe("SlackAuthError");
    expect(EVERY_ERROR.LocalPortInUseError?.code).toBe("local_service_failed");
    expect(new Set(Object.values(EVERY_ERROR).map((error) => error.code)).size).toBe(20);
  });
});

describe("asNotifierError", () => {
  it("keeps our own errors as they are", () => {
    const error = new StateUnavailableError("DynamoDB throttled");

    expect(asNotifierError(error)).toBe(error);
  });

  it("turns anything else into a retried UnexpectedError that keeps it as its cause, scrubbed of tokens", () => {
    const foreign = new TypeError("token xoxb-1234-5678-abcdef rejected");

    const error = asNotifierError(foreign);

    expect(error).toBeInstanceOf(UnexpectedError);
    expect(error.cause).toBe(foreign);
    expect(error.message).toBe("TypeError: token [redacted] rejected");
    expect(isRetryable(foreign)).toBe(true);
    expect(error.exitCode).toBe(EXIT_FAILURE);
    expect(asNotifierError("a string").message).toBe("a string");
  });
});

describe("describeError", () => {
  it("prints our own message, and for foreign errors only the class and a scrubbed message", () => {
    const leaky = Object.assign(new Error("failed with x-api-secret: s3cr3t-value"), {
      request: { headers: { authorization: "Bearer xoxb-never-printed" } },
    });

    expect(describeError(new RespondentAuthError(401))).toBe(new RespondentAuthError(401).message);
    expect(describeError(leaky)).toBe("Error: failed with x-api-secret: [redacted]");
    expect(describeError(leaky)).not.toContain("xoxb-never-printed");
  });
});
