import { createHash } from "node:crypto";
import {
  ALERT_EVENT_TYPE,
  MARK_READ_ACTION_ID,
  MUTE_ACTION_ID,
  parseAlertButtonValue,
  REPLY_ACTION_ID,
  type SlackMessage,
} from "../domain/alert.ts";
import { eventIdFor } from "../domain/events.ts";
import {
  alertHeadline,
  type BlockActionsPayload,
  MAX_REPLY_CHARS,
  markedReadAlert,
  REPLY_INPUT_ACTION_ID,
  REPLY_INPUT_BLOCK_ID,
  REPLY_RETRY_ACTION_ID,
  replyFailedNote,
  replyModal,
  replyModalMetadataSchema,
  replyNote,
  type ViewSubmissionPayload,
} from "../domain/slack-interactions.ts";
import { asNotifierError, describeError } from "../errors.ts";
import type {
  AlertRecords,
  Clock,
  ConversationActions,
  Log,
  Metrics,
  MuteStore,
  ReadMarks,
  ReplyLedger,
  ReplySubmission,
  SlackPoster,
  SlackResponder,
  StoredReply,
} from "../ports.ts";
import { muteConversation } from "./mutes.ts";

/** What the alert's buttons and the Reply modal need. */
export interface SlackActionPorts {
  alerts: AlertRecords;
  replies: ReplyLedger;
  readMarks: ReadMarks;
  /** Conversation mutes per channel (the Mute button; the same use case as `conversations mute`). */
  mutes: MuteStore;
  respondent: ConversationActions;
  slack: SlackResponder;
  /** Posts the "replied" note in the alert's thread. */
  poster: SlackPoster;
  clock: Clock;
  log: Log;
  metrics: Metrics;
}

/** A send holds its claim this long; one that crashed counts as "may have been sent" after it. */
export const REPLY_LEASE_SECONDS = 60;

/** The alert a button was on, checked against what the notifier stored: never the button's word alone. */
export interface VerifiedAlert {
  conversationUid: string;
  messageUid: string;
  eventId: string;
  channelId: string;
  ts: string;
}

/**
 * The conversation a button acts on, if the button is on an alert this deployment posted in that
 * channel: the event id is recomputed from the button's conversation and message, and the ledger
 * must hold that event as posted in this channel as this very message.
 */
export async function verifyAlert(
  alerts: AlertRecords,
  channelId: string | undefined,
  ts: string | undefined,
  value: string | undefined,
): Promise<VerifiedAlert | undefined> {
  const claimed = parseAlertButtonValue(value);
  if (!claimed || !channelId || !ts) return undefined;
  const eventId = eventIdFor(claimed.conversationUid, claimed.messageUid);
  const postedTs = await alerts.postedAlertTs(eventId, channelId);
  if (postedTs !== ts) return undefined;
  return { ...claimed, eventId, channelId, ts };
}

const NOT_OUR_ALERT =
  "⚠️ This button is not on an alert this app posted in this channel, so nothing was done. Use the buttons on the alert itself.";

/** A click on an alert's button (or on "Try again"): runs after Slack got its answer. */
export async function handleBlockActions(payload: BlockActionsPayload, ports: SlackActionPorts): Promise<void> {
  for (const action of payload.actions) {
    if (action.action_id === REPLY_ACTION_ID) await openReplyModal(payload, action.value, ports);
    else if (action.action_id === MARK_READ_ACTION_ID) await markRead(payload, action.value, ports);
    else if (action.action_id === MUTE_ACTION_ID) await mute(payload, action.value, ports);
    else if (action.action_id === REPLY_RETRY_ACTION_ID) await retryReply(payload, action.value, ports);
    // Other buttons (the "Open conversation" link) need nothing from us.
  }
}

async function refuse(payload: BlockActionsPayload, ports: SlackActionPorts, text: string): Promise<void> {
  const channelId = payload.channel?.id;
  if (!channelId) {
    ports.log.warn("refused a Slack action outside a channel", { userId: payload.user.id });
    return;
  }
  await tell(ports, channelId, payload.user.id, { text }, payload.message?.thread_ts);
}

/** A message only `userId` sees; a failure to tell is logged, never thrown. */
async function tell(
  ports: SlackActionPorts,
  channelId: string,
  userId: string,
  note: { text: string; blocks?: unknown[] },
  threadTs: string | undefined,
): Promise<void> {
  try {
    await ports.slack.postEphemeral(channelId, userId, note, threadTs);
  } catch (error) {
    ports.log.warn("could not tell a Slack user the outcome of their action", {
      channelId,
      userId,
      reason: describeError(error),
    });
  }
}

async function openReplyModal(payload: BlockActionsPayload, value: string | undefined, ports: SlackActionPorts) {
  const alert = await verifyAlert(ports.alerts, payload.channel?.id, payload.message?.ts, value);
  if (!alert) {
    ports.log.warn("Reply clicked on a message that is not one of our alerts", { channelId: payload.channel?.id });
    await refuse(payload, ports, NOT_OUR_ALERT);
    return;
  }
  const threadTs = payload.message?.thread_ts ?? alert.ts;
  const metadata = { c: alert.conversationUid, m: alert.messageUid, ch: alert.channelId, ts: alert.ts, th: threadTs };
  try {
    await ports.slack.openModal(payload.trigger_id, replyModal(metadata, alertHeadline(payload.message?.blocks)));
  } catch (error) {
    ports.log.warn("could not open the Reply modal", { channelId: alert.channelId, reason: describeError(error) });
    await refuse(payload, ports, `⚠️ Could not open the reply window (${describeError(error)}). Click Reply again.`);
  }
}

async function markRead(payload: BlockActionsPayload, value: string | undefined, ports: SlackActionPorts) {
  const alert = await verifyAlert(ports.alerts, payload.channel?.id, payload.message?.ts, value);
  if (!alert) {
    ports.log.warn("Mark as read clicked on a message that is not one of our alerts", {
      channelId: payload.channel?.id,
    });
    await refuse(payload, ports, NOT_OUR_ALERT);
    return;
  }
  const userId = payload.user.id;
  const mark = await ports.readMarks.claim(alert.channelId, alert.ts, userId, ports.clock.now());
  if (mark.status === "taken") {
    await refuse(payload, ports, `✅ Already marked as read by <@${mark.by}>.`);
    return;
  }
  try {
    await ports.respondent.markRead(alert.conversationUid);
  } catch (error) {
    await ports.readMarks
      .release(alert.channelId, alert.ts)
      .catch((releaseError: unknown) =>
        ports.log.warn("could not release a read mark", { reason: describeError(releaseError) }),
      );
    ports.log.warn("could not mark a conversation read", {
      conversationUid: alert.conversationUid,
      reason: describeError(error),
    });
    await refuse(payload, ports, `⚠️ Not marked as read: ${describeError(error)}. Click Mark as read again.`);
    return;
  }
  ports.metrics.count("ConversationsMarkedRead");
  ports.log.info("conversation marked read from Slack", { conversationUid: alert.conversationUid, userId });
  const metadata: SlackMessage["metadata"] = {
    event_type: ALERT_EVENT_TYPE,
    event_payload: { event_id: alert.eventId, conversation_uid: alert.conversationUid },
  };
  try {
    await ports.slack.updateMessage(
      alert.channelId,
      alert.ts,
      markedReadAlert({ text: payload.message?.text, blocks: payload.message?.blocks }, userId, metadata),
    );
  } catch (error) {
    ports.log.warn("marked read, but could not update the alert", { reason: describeError(error) });
    await refuse(payload, ports, `✅ Marked as read (the alert could not be updated: ${describeError(error)}).`);
  }
}

export type ReplyCheck = { ok: true; text: string } | { ok: false; errors: Record<string, string> };

/** The modal's input, checked before Slack closes it (an empty reply keeps the modal open, saying why). */
export function checkReplySubmission(payload: ViewSubmissionPayload): ReplyCheck {
  const value = payload.view.state.values[REPLY_INPUT_BLOCK_ID]?.[REPLY_INPUT_ACTION_ID]?.value ?? "";
  const text = value.trim();
  if (!text) return { ok: false, errors: { [REPLY_INPUT_BLOCK_ID]: "Write the reply to send." } };
  if (text.length > MAX_REPLY_CHARS) {
    return { ok: false, errors: { [REPLY_INPUT_BLOCK_ID]: `At most ${MAX_REPLY_CHARS} characters.` } };
  }
  return { ok: true, text };
}

/** Stable for one submission, however often Slack delivers it: the modal's id and its version. */
export function submissionKey(payload: ViewSubmissionPayload): string {
  return createHash("sha256")
    .update(`${payload.view.id}\n${payload.view.hash ?? ""}`)
    .digest("hex")
    .slice(0, 40);
}

/** A Reply submission, after Slack closed the modal: sent once, the thread told, the submitter told of a failure. */
export async function sendReplySubmission(
  payload: ViewSubmissionPayload,
  text: string,
  ports: SlackActionPorts,
): Promise<void> {
  let metadata: ReturnType<typeof replyModalMetadataSchema.parse>;
  try {
    metadata = replyModalMetadataSchema.parse(JSON.parse(payload.view.private_metadata));
  } catch {
    ports.log.warn("a Reply submission without our modal's metadata; nothing sent", { viewId: payload.view.id });
    return;
  }
  const alert = await verifyAlert(
    ports.alerts,
    metadata.ch,
    metadata.ts,
    JSON.stringify({ c: metadata.c, m: metadata.m }),
  );
  if (!alert) {
    ports.log.warn("a Reply submission for an alert that is not ours; nothing sent", { channelId: metadata.ch });
    return;
  }
  const submission: ReplySubmission = {
    conversationUid: alert.conversationUid,
    channelId: alert.channelId,
    alertTs: alert.ts,
    threadTs: metadata.th,
    userId: payload.user.id,
    text,
  };
  const key = submissionKey(payload);
  const claim = await ports.replies.claim(key, submission, ports.clock.now(), REPLY_LEASE_SECONDS);
  if (claim.status === "taken") {
    ports.log.info("the same Reply submission again; not sent twice", { key, status: claim.stored.status });
    return;
  }
  await send(key, submission, ports);
}

async function retryReply(payload: BlockActionsPayload, key: string | undefined, ports: SlackActionPorts) {
  const stored = key ? await ports.replies.get(key) : undefined;
  if (!key || !stored) {
    await refuse(payload, ports, "This reply is too old to retry: click Reply on the alert and write it again.");
    return;
  }
  if (stored.submission.userId !== payload.user.id) {
    await refuse(payload, ports, `Only <@${stored.submission.userId}>, who wrote this reply, can retry it.`);
    return;
  }
  const claim = await ports.replies.reclaimFailed(key, ports.clock.now(), REPLY_LEASE_SECONDS);
  if (claim.status === "taken") {
    await tell(
      ports,
      stored.submission.channelId,
      payload.user.id,
      statusNote(claim.stored, ports.clock.now()),
      stored.submission.threadTs,
    );
    return;
  }
  await send(key, stored.submission, ports);
}

function statusNote(stored: StoredReply, now: Date): { text: string; blocks?: unknown[] } {
  if (stored.status === "sent") return { text: "✅ This reply was sent already; it is not sent twice." };
  if (stored.status === "sending" && stored.leaseUntil && stored.leaseUntil > now) {
    return { text: "⏳ This reply is being sent right now." };
  }
  return replyFailedNote(stored.reason ?? "the first attempt did not finish", stored.submission.text, undefined);
}

/** One send, under our claim: the outcome is recorded before anyone is told. */
async function send(key: string, submission: ReplySubmission, ports: SlackActionPorts): Promise<void> {
  const context = { key, conversationUid: submission.conversationUid, channelId: submission.channelId };
  let messageUid: string | undefined;
  try {
    ({ messageUid } = await ports.respondent.sendMessage(submission.conversationUid, submission.text));
  } catch (thrown) {
    const error = asNotifierError(thrown);
    const definite = !error.mayHaveTakenEffect;
    ports.metrics.count("RepliesFailed");
    ports.log.warn("a reply from Slack was not sent", { ...context, definite, reason: error.message });
    await ports.replies.markFailed(key, definite ? "failed" : "uncertain", error.message, ports.clock.now());
    await tell(
      ports,
      submission.channelId,
      submission.userId,
      replyFailedNote(error.message, submission.text, definite ? { key } : undefined),
      submission.threadTs,
    );
    return;
  }
  await ports.replies.markSent(key, messageUid, ports.clock.now()).catch((error: unknown) =>
    // Sent, not recorded: the claim stays `sending` and, after its lease, reads as "may have been sent".
    ports.log.error("sent a reply but could not record it", { ...context, reason: describeError(error) }),
  );
  ports.metrics.count("RepliesSent");
  ports.log.info("reply sent to the participant from Slack", { ...context, messageUid });
  try {
    await ports.poster.post(submission.channelId, replyNote(submission.userId, submission.text), submission.threadTs);
  } catch (error) {
    ports.log.warn("sent the reply, but could not note it in the thread", { ...context, reason: describeError(error) });
    await tell(
      ports,
      submission.channelId,
      submission.userId,
      { text: "✅ Your reply was sent to the participant (the thread could not be updated)." },
      submission.threadTs,
    );
  }
}

/**
 * Mute: no more alerts of this conversation in this channel (other channels keep theirs), the
 * same use case as `conversations mute`. Only the one who clicked is told, with the way back.
 */
async function mute(payload: BlockActionsPayload, value: string | undefined, ports: SlackActionPorts) {
  const alert = await verifyAlert(ports.alerts, payload.channel?.id, payload.message?.ts, value);
  if (!alert) {
    ports.log.warn("Mute clicked on a message that is not one of our alerts", { channelId: payload.channel?.id });
    await refuse(payload, ports, NOT_OUR_ALERT);
    return;
  }
  const userId = payload.user.id;
  try {
    const outcome = await muteConversation(
      { conversationUid: alert.conversationUid, channelId: alert.channelId, by: userId },
      { mutes: ports.mutes, clock: ports.clock, log: ports.log },
    );
    const undo = `respondent-notifier conversations unmute --conversation ${alert.conversationUid} --channel ${alert.channelId}`;
    await refuse(
      payload,
      ports,
      outcome.status === "muted"
        ? `🔕 Muted: this conversation's replies no longer alert in this channel (other channels keep theirs). To undo: \`${undo}\``
        : `🔕 Already muted in this channel. To undo: \`${undo}\``,
    );
  } catch (error) {
    ports.log.warn("could not mute a conversation", {
      conversationUid: alert.conversationUid,
      reason: describeError(error),
    });
    await refuse(payload, ports, `⚠️ Not muted: ${describeError(error)}. Click Mute again.`);
  }
}
