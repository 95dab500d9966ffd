import type { NewReplyEvent } from "../domain/events.ts";
import type { PollReport } from "../usecases/poll.ts";

export function senderLabel(event: NewReplyEvent): string {
  if (!event.sender.known) return "unknown sender";
  const last = event.sender.lastName ? ` ${event.sender.lastName.slice(0, 1)}.` : "";
  return `${event.sender.firstName ?? "participant"}${last}`;
}

export function describeEvent(event: NewReplyEvent): string {
  const channels = event.targets.map((target) => target.channelId).join(", ");
  const project = event.conversation.projectId ?? "no project";
  return `new reply: ${senderLabel(event)} in "${event.conversation.name}" (project ${project}) -> ${channels}`;
}

export function summarizePoll(report: PollReport, alertsPosted: number | undefined): string {
  const parts = [
    `${report.pagesFetched} page${report.pagesFetched === 1 ? "" : "s"}`,
    `${report.conversationsScanned} conversations`,
    `${report.newReplies} new repl${report.newReplies === 1 ? "y" : "ies"}`,
  ];
  if (alertsPosted !== undefined) parts.push(`${alertsPosted} alert${alertsPosted === 1 ? "" : "s"} posted`);
  if (report.malformedConversations > 0) parts.push(`${report.malformedConversations} malformed skipped`);
  if (report.stateConflicts > 0) parts.push(`${report.stateConflicts} left to another poller`);
  if (report.failures.length > 0) parts.push(`${report.failures.length} failures`);
  return `poll: ${parts.join(", ")} (${(report.durationMs / 1000).toFixed(1)} s)`;
}
