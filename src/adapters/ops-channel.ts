import type { SlackClientSettings } from "../config.ts";
import type { Log, OpsChannel, SlackPoster } from "../ports.ts";
import { createSlackPoster } from "./slack.ts";

/**
 * A SlackPoster whose token is read on each post (from a cached secret getter) and whose
 * client is rebuilt only when the token changes (rotation), so warm invocations reuse its
 * connections.
 */
export function slackPosterWithToken(
  token: () => Promise<string>,
  settings: SlackClientSettings,
  log: Log,
): SlackPoster & { current(): Promise<SlackPoster> } {
  let built: { token: string; poster: SlackPoster } | undefined;
  const current = async (): Promise<SlackPoster> => {
    const value = await token();
    if (built?.token !== value) {
      built = {
        token: value,
        poster: createSlackPoster({ ...settings, token: value, log }),
      };
    }
    return built.poster;
  };
  return {
    current,
    async post(channelId, message, threadTs) {
      return (await current()).post(channelId, message, threadTs);
    },
    async findAlert(channelId, search) {
      return (await current()).findAlert(channelId, search);
    },
  };
}

/** The operators' channel, posted to at the top level with the given poster. */
export function slackOpsChannel(channelId: string, slack: SlackPoster): OpsChannel {
  return {
    channelId,
    async post(message) {
      await slack.post(channelId, message, undefined);
    },
  };
}
