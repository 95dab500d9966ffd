import { participantLabel, stripInvisibleControls } from "../domain/alert.ts";
import type { NewReplyEvent } from "../domain/events.ts";
import type { PollReport } from "../usecases/poll.ts";

export function describeEvent(event: NewReplyEvent): string {
  const channels = event.targets.map((target) => target.channelId).join(", ");
  const project = event.conversation.projectId ?? "no project";
  // Names are participant-controlled: no control characters reach the terminal.
  const name = stripInvisibleControls(event.conversation.name);
  return `new reply: ${stripInvisibleControls(participantLabel(event.sender))} in "${name}" (project ${stripInvisibleControls(project)}) -> ${channels}`;
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
