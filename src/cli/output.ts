import { participantLabel } from "../domain/alert.ts";
import type { NewReplyEvent } from "../domain/events.ts";
import { stripInvisibleControls } from "../domain/untrusted-text.ts";
import type { PollReport } from "../usecases/poll.ts";
import { describeProject, type ProjectLabel } from "../usecases/project-names.ts";

/** The project's name, when known, for the lines below. */
export type ProjectNameOf = (projectId: string) => ProjectLabel | undefined;

/** Who replied in which conversation: `Ada L. in "Scheduling" (project Onboarding interviews (p1))`. */
export function describeReply(event: NewReplyEvent, nameOf?: ProjectNameOf): string {
  const id = event.conversation.projectId;
  const project = id ? describeProject(nameOf?.(id), id) : "no project";
  // Names are participant-controlled: no control characters reach the terminal.
  const name = stripInvisibleControls(event.conversation.name);
  return `${stripInvisibleControls(participantLabel(event.sender))} in "${name}" (project ${stripInvisibleControls(project)})`;
}

export function describeEvent(event: NewReplyEvent, nameOf?: ProjectNameOf): string {
  const channels = event.targets.map((target) => target.channelId).join(", ");
  return `new reply: ${describeReply(event, nameOf)} -> ${channels}`;
}

const PREVIEW_CHARS = 100;

/** The reply on one line, cleaned of control characters and cut to a short preview. */
export function previewReply(event: NewReplyEvent): string {
  if (event.targets.every((target) => target.body === "hidden")) return "(reply text hidden: body=hidden)";
  const oneLine = stripInvisibleControls(event.message.body)
    .replace(/\p{Cc}+/gu, " ")
    .replace(/\s+/g, " ")
    .trim();
  const codePoints = Array.from(oneLine);
  const preview = codePoints.length > PREVIEW_CHARS ? `${codePoints.slice(0, PREVIEW_CHARS - 1).join("")}…` : oneLine;
  return preview ? `"${preview}"` : "(empty reply)";
}

/** What a dry run shows for each alert it would post: where, who, and the start of the reply. */
export function describeWouldAlert(event: NewReplyEvent, nameOf?: ProjectNameOf): string[] {
  const where = event.targets
    .map(
      (target) => `${target.channelId}${target.mentions.length > 0 ? ` (mentions ${target.mentions.join(", ")})` : ""}`,
    )
    .join(", ");
  return [`(dry run) would alert ${where}: ${describeReply(event, nameOf)}`, `    ${previewReply(event)}`];
}

export function summarizePoll(report: PollReport, alertsPosted: number | undefined): string {
  const parts = [
    `${report.pagesFetched} page${report.pagesFetched === 1 ? "" : "s"}`,
    report.source === "feed"
      ? `${report.feedMessages} message${report.feedMessages === 1 ? "" : "s"} from the feed`
      : `${report.conversationsScanned} conversations`,
    `${report.newReplies} new repl${report.newReplies === 1 ? "y" : "ies"}`,
  ];
  if (alertsPosted !== undefined) parts.push(`${alertsPosted} alert${alertsPosted === 1 ? "" : "s"} posted`);
  if (report.malformedConversations > 0) parts.push(`${report.malformedConversations} malformed skipped`);
  if (report.stateConflicts > 0)
    parts.push(`${report.stateConflicts} moved meanwhile by a webhook or another poller (alerted once)`);
  if (report.missedByFeed > 0) parts.push(`${report.missedByFeed} missed by the feed`);
  if (report.failures.length > 0) parts.push(`${report.failures.length} failures`);
  return `poll: ${parts.join(", ")} (${(report.durationMs / 1000).toFixed(1)} s)`;
}
