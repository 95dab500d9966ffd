import type { SlackMessage } from "./alert.ts";
import { HEALTH_COMPONENT_LABELS, type HealthComponent } from "./health.ts";
import { ALL_PROJECTS } from "./subscriptions.ts";
import { escapeMrkdwn } from "./untrusted-text.ts";

/**
 * Messages for the operators' channel. Reasons are our own error messages (written without
 * secrets, foreign text already redacted), still escaped here like any text we did not type,
 * and kept short: the logs have the rest.
 */

const MAX_REASON_CHARS = 600;

function reasonText(reason: string): string {
  const oneLine = reason.replace(/\s+/g, " ").trim();
  const cut =
    oneLine.length > MAX_REASON_CHARS ? `${Array.from(oneLine).slice(0, MAX_REASON_CHARS).join("")}…` : oneLine;
  return escapeMrkdwn(cut);
}

/** "10:02 UTC", with the date in front when it is not the same UTC day as `now`. */
export function utcTime(iso: string, now: Date): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return escapeMrkdwn(iso);
  const time = `${date.toISOString().slice(11, 16)} UTC`;
  const day = date.toISOString().slice(0, 10);
  return day === now.toISOString().slice(0, 10) ? time : `${day} ${time}`;
}

/** "45 s", "14 min", "2 h 5 min". */
export function duration(fromIso: string, toIso: string): string {
  const seconds = Math.max(0, Math.round((Date.parse(toIso) - Date.parse(fromIso)) / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  return rest === 0 ? `${hours} h` : `${hours} h ${rest} min`;
}

function message(text: string): SlackMessage {
  return { text, blocks: [{ type: "section", text: { type: "mrkdwn", text } }] };
}

export function failingMessage(component: HealthComponent, since: string, reason: string, now: Date): SlackMessage {
  return message(
    `🔴 ${HEALTH_COMPONENT_LABELS[component]} is failing since ${utcTime(since, now)}: ${reasonText(reason)}\n` +
      "_One more message will follow here when it recovers._",
  );
}

export function recoveredMessage(
  component: HealthComponent,
  outage: { from: string; to: string; reason: string },
  now: Date,
): SlackMessage {
  return message(
    `🟢 ${HEALTH_COMPONENT_LABELS[component]} recovered after ${duration(outage.from, outage.to)} ` +
      `(failing since ${utcTime(outage.from, now)}: ${reasonText(outage.reason)})`,
  );
}

const PAUSE_CAUSES: Record<string, { what: string; fix: string }> = {
  not_in_channel: { what: "the app is not in the channel", fix: "Invite it (`/invite @<app>` in the channel)" },
  channel_not_found: {
    what: "Slack does not find the channel (a wrong or deleted id, or a private channel the app was not invited to)",
    fix: "Invite the app to the channel, or subscribe another channel",
  },
  is_archived: { what: "the channel is archived", fix: "Unarchive it" },
};

const OTHER_CAUSE = { what: "Slack refuses posts from the app there", fix: "Allow the app to post in the channel" };

/** Shell-safe: project ids are letters, digits, _ and -, or `*`, which the shell would expand. */
function projectArgument(projectId: string): string {
  return projectId === ALL_PROJECTS ? "'*'" : projectId;
}

/** Channel ids are validated (C/G + capitals and digits), so `<#C…>` is a channel link and nothing else. */
export function channelPausedMessage(
  channelId: string,
  slackError: string,
  projectIds: readonly string[],
): SlackMessage {
  const cause = PAUSE_CAUSES[slackError] ?? OTHER_CAUSE;
  const commands = projectIds.map(
    (projectId) =>
      `\`respondent-notifier subscriptions resume --project ${projectArgument(projectId)} --channel ${channelId}\``,
  );
  return message(
    `⚠️ Alerts to <#${channelId}> are paused: ${cause.what} (${escapeMrkdwn(slackError)}). ` +
      `${cause.fix}, then run ${commands.join(" and ")}.`,
  );
}

/** The poller stopped using the messages feed: why, and how to turn it back on. */
export function feedSweepOnlyMessage(reason: string): SlackMessage {
  return message(
    `⚠️ The poller stopped using Respondent's messages feed: ${reasonText(reason)}. ` +
      "Every poll now lists every conversation (no alert is lost; polls cost more API requests). " +
      "After a look at the poller's logs, run `respondent-notifier doctor --reset-feed` to use the feed again.",
  );
}
