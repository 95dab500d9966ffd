import { WebClient } from "@slack/web-api";
import type { SlackClientSettings } from "../config.ts";
import { SlackRejectedError, SlackUnavailableError } from "../errors.ts";
import type { Log, SlackResponder } from "../ports.ts";
import { classifySlackError, SLACK_RETRY_CONFIG } from "./slack.ts";

export interface SlackResponderOptions extends SlackClientSettings {
  /** Read on each call, so a rotated secret is picked up. */
  token: () => Promise<string>;
  log: Log;
}

/**
 * Where a slash command's `response_url` may point: Slack's hooks host, or (locally, tests) the
 * origin of the configured Slack API, the fake Slack. The URL comes in a signed request, yet an
 * answer never goes anywhere else.
 */
export function allowedResponseUrl(responseUrl: string, apiUrl: string): boolean {
  let url: URL;
  try {
    url = new URL(responseUrl);
  } catch {
    return false;
  }
  const api = new URL(apiUrl);
  if (api.hostname === "slack.com") return url.protocol === "https:" && url.hostname === "hooks.slack.com";
  return url.origin === api.origin;
}

/**
 * The Slack calls that answer a person. `views.open` is tried once (its trigger is valid for three
 * seconds, a retry would come too late); updates and ephemeral messages get the quick retries.
 */
export function createSlackResponder(options: SlackResponderOptions): SlackResponder {
  const common = {
    slackApiUrl: options.apiUrl,
    timeout: options.timeoutMs,
    rejectRateLimitedCalls: true,
  };
  let clients: { token: string; once: WebClient; retried: WebClient } | undefined;
  const clientsFor = async () => {
    const token = await options.token();
    if (clients?.token !== token) {
      clients = {
        token,
        once: new WebClient(token, { ...common, retryConfig: { retries: 0 } }),
        retried: new WebClient(token, { ...common, retryConfig: SLACK_RETRY_CONFIG }),
      };
    }
    return clients;
  };
  const classify = (error: unknown, channelId: string, neededScope: string) =>
    classifySlackError(error, { channelId, neededScope, token: clients?.token ?? "", timeoutMs: options.timeoutMs });

  return {
    async openModal(triggerId, view) {
      try {
        await (await clientsFor()).once.views.open({ trigger_id: triggerId, view: view as never });
      } catch (error) {
        throw classify(error, "views.open", "commands");
      }
    },

    async updateMessage(channelId, ts, message) {
      try {
        await (await clientsFor()).retried.chat.update({
          channel: channelId,
          ts,
          text: message.text,
          blocks: message.blocks,
          ...(message.metadata ? { metadata: message.metadata } : {}),
        });
      } catch (error) {
        throw classify(error, channelId, "chat:write");
      }
    },

    async postEphemeral(channelId, userId, note, threadTs) {
      try {
        await (await clientsFor()).retried.chat.postEphemeral({
          channel: channelId,
          user: userId,
          text: note.text,
          ...(note.blocks ? { blocks: note.blocks as never } : {}),
          ...(threadTs ? { thread_ts: threadTs } : {}),
        });
      } catch (error) {
        throw classify(error, channelId, "chat:write");
      }
    },

    async respond(responseUrl, note) {
      if (!allowedResponseUrl(responseUrl, options.apiUrl)) {
        throw new SlackRejectedError("response_url", "response_url_not_slack");
      }
      let response: Response;
      try {
        response = await fetch(responseUrl, {
          method: "POST",
          headers: { "content-type": "application/json; charset=utf-8" },
          body: JSON.stringify({ response_type: "ephemeral", replace_original: false, ...note }),
          signal: AbortSignal.timeout(options.timeoutMs),
        });
        await response.text();
      } catch (error) {
        options.log.warn("could not answer a slash command", { reason: error instanceof Error ? error.name : "error" });
        throw new SlackUnavailableError("Slack's response_url did not answer", { mayHavePosted: true });
      }
      if (!response.ok) throw new SlackRejectedError("response_url", `http_${response.status}`);
    },
  };
}
