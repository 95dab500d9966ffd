import { LogLevel, WebAPIPlatformError, WebClient } from "@slack/web-api";
import type { SlackDirectory } from "../ports.ts";
import { classifySlackError } from "./slack.ts";

/**
 * The read-only Slack calls `doctor` makes (auth.test, conversations.info), with what deciding
 * "can the app post here" needs: the token's scopes (a public channel
 * accepts posts from a non-member app with chat:write.public) and whether a channel is private.
 */
export function createSlackDirectory(options: { token: string; apiUrl: string; timeoutMs: number }): SlackDirectory {
  const client = new WebClient(options.token, {
    slackApiUrl: options.apiUrl,
    timeout: options.timeoutMs,
    retryConfig: { retries: 1, factor: 2, minTimeout: 200, maxTimeout: 1_000 },
    rejectRateLimitedCalls: true,
    // Failures come back classified as one doctor line; the client's own log would repeat them.
    logLevel: LogLevel.ERROR,
  });
  return {
    async identity() {
      try {
        const result = await client.auth.test();
        return {
          team: result.team ?? "",
          user: result.user ?? "",
          scopes: result.response_metadata?.scopes,
        };
      } catch (error) {
        throw classifySlackError(error, { channelId: "auth.test", neededScope: "none", token: options.token });
      }
    },
    async channel(channelId) {
      try {
        const result = await client.conversations.info({ channel: channelId });
        return {
          exists: true,
          name: result.channel?.name,
          isMember: result.channel?.is_member ?? false,
          isArchived: result.channel?.is_archived ?? false,
          isPrivate: result.channel?.is_private ?? false,
        };
      } catch (error) {
        if (error instanceof WebAPIPlatformError && error.data.error === "channel_not_found") {
          return { exists: false, name: undefined, isMember: false, isArchived: false, isPrivate: false };
        }
        throw classifySlackError(error, {
          channelId,
          neededScope: "channels:read (groups:read for private channels)",
          token: options.token,
        });
      }
    },
  };
}
