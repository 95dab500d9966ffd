import type { Subscription } from "../domain/subscriptions.ts";
import { escapeMrkdwn } from "../domain/untrusted-text.ts";
import { asNotifierError, describeError } from "../errors.ts";
import type { Log, SlackNote, SlackResponder, SubscriptionStore } from "../ports.ts";

/**
 * `/respondent …` as Slack sends its text: the same words and flags as the CLI's
 * `subscriptions add/remove/list`, for the channel the command is typed in.
 */
export type SlashRequest =
  | { kind: "help" }
  | { kind: "list" }
  | { kind: "subscribe"; subscription: Subscription }
  | { kind: "unsubscribe"; projectId: string }
  | { kind: "invalid"; problem: string };

export const SLASH_HELP = [
  "*`/respondent` manages this channel's Respondent alerts*",
  "• `/respondent subscribe <projectId|*> [options]`: alert this channel about a project (`*`: every project), from now on",
  "    options: `--researcher <externalResearcherId>` · `--mention <@user|@group|here|channel>…` · `--no-thread` · `--body full|preview|hidden` · `--no-actions` · `--paused` · `--quiet-hours 19:00-08:00` · `--timezone Europe/Berlin` · `--digest 30m`",
  "• `/respondent unsubscribe <projectId|*>`: stop alerting this channel about a project",
  "• `/respondent list`: this channel's subscriptions",
  "• `/respondent help`: this text",
  "Subscribing and unsubscribing are for the admins in `SLACK_ADMIN_USERS`.",
].join("\n");

export interface SlashCommandPorts {
  subscriptions: SubscriptionStore;
  slack: SlackResponder;
  /** Who may subscribe and unsubscribe from Slack (SLACK_ADMIN_USERS); empty: nobody. */
  adminUsers: readonly string[];
  log: Log;
}

export interface SlashCommandCall {
  request: SlashRequest;
  userId: string;
  channelId: string;
  responseUrl: string;
}

/**
 * What `/respondent` answers: at once when no I/O is needed (help, a usage problem, a refusal),
 * or, for the commands that read or write the table, a `work` step that runs after Slack got its
 * empty answer and replies through the `response_url`.
 */
export function answerSlashCommand(
  call: SlashCommandCall,
  ports: SlashCommandPorts,
): { now: SlackNote } | { work: () => Promise<void> } {
  const { request } = call;
  if (request.kind === "help") return { now: { text: SLASH_HELP } };
  if (request.kind === "invalid") return { now: { text: `⚠️ ${request.problem}` } };
  if ((request.kind === "subscribe" || request.kind === "unsubscribe") && !ports.adminUsers.includes(call.userId)) {
    ports.log.warn("refused a subscription change from a Slack user who is not an admin", {
      userId: call.userId,
      channelId: call.channelId,
    });
    return {
      now: {
        text: `⛔ Only the admins listed in SLACK_ADMIN_USERS may ${request.kind} from Slack: participant text is personal data, and routing it to a channel is an admin decision. You can still use \`/respondent list\` and \`/respondent help\`.`,
      },
    };
  }
  return { work: () => runInBackground(call, ports) };
}

async function runInBackground(call: SlashCommandCall, ports: SlashCommandPorts): Promise<void> {
  let note: SlackNote;
  try {
    note = await run(call, ports);
  } catch (error) {
    const problem = asNotifierError(error);
    ports.log.warn("a /respondent command failed", { channelId: call.channelId, reason: problem.message });
    note = { text: `⚠️ ${problem.message}` };
  }
  try {
    await ports.slack.respond(call.responseUrl, note);
  } catch (error) {
    ports.log.warn("could not answer a /respondent command", { reason: describeError(error) });
  }
}

async function run(call: SlashCommandCall, ports: SlashCommandPorts): Promise<SlackNote> {
  const { request, channelId } = call;
  switch (request.kind) {
    case "subscribe": {
      await ports.subscriptions.add(request.subscription);
      ports.log.info("subscription added from Slack", { channelId, userId: call.userId });
      return {
        text: `✅ <#${channelId}> now gets alerts for ${projectLabel(request.subscription.projectId)} (${options(request.subscription)}). Messages written from now on alert; earlier ones never do.`,
      };
    }
    case "unsubscribe": {
      const removed = await ports.subscriptions.remove(request.projectId, channelId);
      if (removed) ports.log.info("subscription removed from Slack", { channelId, userId: call.userId });
      return removed
        ? { text: `✅ <#${channelId}> gets no more alerts for ${projectLabel(request.projectId)}.` }
        : {
            text: `<#${channelId}> has no subscription for ${projectLabel(request.projectId)}: see \`/respondent list\`.`,
          };
    }
    case "list": {
      const here = (await ports.subscriptions.list()).filter((subscription) => subscription.channelId === channelId);
      if (here.length === 0) return { text: `<#${channelId}> has no subscriptions.` };
      const lines = here.map((subscription) => `• ${projectLabel(subscription.projectId)}: ${options(subscription)}`);
      return { text: [`*<#${channelId}>'s subscriptions*`, ...lines].join("\n") };
    }
    default:
      return { text: SLASH_HELP };
  }
}

function projectLabel(projectId: string): string {
  return projectId === "*" ? "every project" : `project \`${escapeMrkdwn(projectId)}\``;
}

function options(subscription: Subscription): string {
  return [
    subscription.externalResearcherId ? `researcher ${escapeMrkdwn(subscription.externalResearcherId)}` : undefined,
    subscription.mentions.length > 0 ? `mentions ${subscription.mentions.join(", ")}` : undefined,
    `thread ${subscription.threadPerConversation ? "on" : "off"}`,
    `body ${subscription.body}`,
    `buttons ${subscription.actions === false ? "off" : "on"}`,
    subscription.quietHours ? `quiet hours ${subscription.quietHours}` : undefined,
    subscription.timezone ? `zone ${subscription.timezone}` : undefined,
    subscription.digest ? `digest every ${subscription.digest}` : undefined,
    subscription.paused ? "*paused*" : undefined,
    `since ${subscription.createdAt}`,
  ]
    .filter(Boolean)
    .join(" · ");
}
