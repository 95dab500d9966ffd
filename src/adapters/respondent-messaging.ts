import { setTimeout as delay } from "node:timers/promises";
import type { RespondentClientSettings } from "../config.ts";
import {
  RespondentAuthError,
  RespondentRequestRejectedError,
  RespondentUnavailableError,
  RespondentWriteUncertainError,
  redactSecrets,
} from "../errors.ts";
import type { ConversationActions, Log, RespondentCredentials } from "../ports.ts";
import { networkErrorCode } from "./respondent-api.ts";

export interface RespondentMessagingOptions
  extends Pick<RespondentClientSettings, "baseUrl" | "timeoutMs" | "maxRetries"> {
  credentials: () => Promise<RespondentCredentials>;
  log: Log;
  sleep?: (ms: number) => Promise<void>;
}

/** Failures before the request left this machine: Respondent cannot have seen it. */
const NEVER_SENT_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "ENETUNREACH", "EHOSTUNREACH"]);

type Attempt =
  | { kind: "answered"; status: number; text: string }
  | { kind: "timeout" }
  | { kind: "network"; code: string; neverSent: boolean };

/**
 * The two Respondent calls an alert's buttons make: send a message to the conversation's
 * participants, and mark the conversation read. Sending is not idempotent (the API takes no
 * idempotency key), so it is tried once and its failures say whether it may have been sent;
 * marking read is, so it gets the usual retries.
 */
export function createRespondentMessaging(options: RespondentMessagingOptions): ConversationActions {
  const base = options.baseUrl.replace(/\/+$/, "");
  const sleep = options.sleep ?? ((ms: number) => delay(ms).then(() => undefined));

  async function attempt(method: "POST" | "PATCH", path: string, body: unknown): Promise<Attempt> {
    const { apiKey, apiSecret } = await options.credentials();
    const timeout = AbortSignal.timeout(options.timeoutMs);
    try {
      const response = await fetch(`${base}${path}`, {
        method,
        headers: {
          accept: "application/json",
          "x-api-key": apiKey,
          "x-api-secret": apiSecret,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: timeout,
      });
      return { kind: "answered", status: response.status, text: await response.text() };
    } catch (error) {
      if (timeout.aborted) return { kind: "timeout" };
      const code = networkErrorCode(error);
      return { kind: "network", code, neverSent: NEVER_SENT_CODES.has(code) };
    }
  }

  /** The final error for an answer or failure that is not a success. */
  function failure(result: Attempt, what: string, hint404: string, mayHaveSent: boolean): Error {
    if (result.kind === "timeout") {
      const message = `Respondent did not answer within ${options.timeoutMs} ms while ${what}`;
      return mayHaveSent ? new RespondentWriteUncertainError(message) : new RespondentUnavailableError(message);
    }
    if (result.kind === "network") {
      const message = `could not reach Respondent (${result.code}) while ${what}`;
      return mayHaveSent && !result.neverSent
        ? new RespondentWriteUncertainError(message)
        : new RespondentUnavailableError(message);
    }
    const { status } = result;
    if (status === 401 || status === 403) return new RespondentAuthError(status);
    if (status === 404) return new RespondentRequestRejectedError(404, hint404);
    if (status === 429)
      return new RespondentUnavailableError(`Respondent is rate-limiting us (429) while ${what}`, 429);
    if (status >= 500 || status === 408) {
      const message = `Respondent failed (${status}) while ${what}`;
      return mayHaveSent
        ? new RespondentWriteUncertainError(message, status)
        : new RespondentUnavailableError(message, status);
    }
    const excerpt = redactSecrets(result.text.replace(/\s+/g, " ").slice(0, 200));
    return new RespondentRequestRejectedError(status, `${what} was refused${excerpt ? `: ${excerpt}` : ""}`);
  }

  const conversationPath = (uid: string) => `/v1/messaging/conversations/${encodeURIComponent(uid)}`;

  return {
    async sendMessage(conversationUid, body) {
      const what = "sending the reply";
      const result = await attempt("POST", `${conversationPath(conversationUid)}/messages`, { body });
      if (result.kind !== "answered" || result.status < 200 || result.status >= 300) {
        throw failure(result, what, "the conversation does not exist (any more) in Respondent", true);
      }
      // Sent: an unreadable answer must not look like a failure, or a retry would send it again.
      try {
        const message = JSON.parse(result.text) as { uid?: unknown };
        return { messageUid: typeof message.uid === "string" ? message.uid : undefined };
      } catch {
        options.log.warn("Respondent accepted the reply but its answer is not JSON", { conversationUid });
        return { messageUid: undefined };
      }
    },

    async markRead(conversationUid) {
      const what = "marking the conversation read";
      const attempts = Math.max(0, options.maxRetries) + 1;
      for (let number = 1; ; number += 1) {
        const result = await attempt("PATCH", `${conversationPath(conversationUid)}/read`, undefined);
        if (result.kind === "answered" && result.status >= 200 && result.status < 300) return;
        const error = failure(result, what, "the conversation does not exist (any more) in Respondent", false);
        if (!(error instanceof RespondentUnavailableError)) throw error;
        if (number >= attempts)
          throw new RespondentUnavailableError(`${error.message} (${attempts} attempts)`, error.status);
        await sleep(Math.min(2_000, 200 * 2 ** (number - 1)));
      }
    },
  };
}
