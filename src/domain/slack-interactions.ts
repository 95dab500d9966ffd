import * as z from "zod";
import type { SlackModal } from "../ports.ts";
import type { SlackMessage } from "./alert.ts";
import { ALERT_ACTIONS_BLOCK_ID, MARK_READ_ACTION_ID } from "./alert.ts";
import { cleanUntrusted, escapedPieces, fitPieces, fitPlainText } from "./untrusted-text.ts";

/**
 * What Slack sends to POST /slack/events (interactions as `payload=<json>`, slash commands as
 * form fields), validated once at the boundary after the signature check. Only the fields the
 * handlers read are required; Slack adds many more, which are kept but not trusted.
 */

const slackId = z.string().regex(/^[A-Z0-9]{2,32}$/);

export const blockActionsSchema = z.looseObject({
  type: z.literal("block_actions"),
  user: z.looseObject({ id: slackId }),
  trigger_id: z.string().min(1).max(200),
  channel: z.looseObject({ id: slackId }).optional(),
  message: z
    .looseObject({
      ts: z.string().min(1).max(40),
      thread_ts: z.string().min(1).max(40).optional(),
      text: z.string().optional(),
      blocks: z.array(z.unknown()).optional(),
    })
    .optional(),
  container: z.looseObject({ thread_ts: z.string().optional() }).optional(),
  actions: z.array(z.looseObject({ action_id: z.string().max(255), value: z.string().max(2_000).optional() })).min(1),
});
export type BlockActionsPayload = z.infer<typeof blockActionsSchema>;

export const viewSubmissionSchema = z.looseObject({
  type: z.literal("view_submission"),
  user: z.looseObject({ id: slackId }),
  view: z.looseObject({
    id: z.string().min(1).max(64),
    hash: z.string().max(200).optional(),
    callback_id: z.string().max(255),
    private_metadata: z.string().max(3_000).default(""),
    state: z.looseObject({
      values: z.record(z.string(), z.record(z.string(), z.looseObject({ value: z.string().nullish() }))),
    }),
  }),
});
export type ViewSubmissionPayload = z.infer<typeof viewSubmissionSchema>;

export const slashCommandSchema = z.looseObject({
  command: z.string().min(1).max(100),
  text: z.string().max(4_000).default(""),
  user_id: slackId,
  channel_id: slackId,
  response_url: z.string().url(),
});
export type SlashCommandPayload = z.infer<typeof slashCommandSchema>;

/** The callback_id of the Reply modal and the ids of its one input. */
export const REPLY_MODAL_CALLBACK_ID = "respondent_reply_modal";
export const REPLY_INPUT_BLOCK_ID = "reply";
export const REPLY_INPUT_ACTION_ID = "text";
/** The action_id of the "Try again" button in the message telling the submitter a send failed. */
export const REPLY_RETRY_ACTION_ID = "respondent_reply_retry";
/** What one reply may hold: Slack's largest plain-text input. */
export const MAX_REPLY_CHARS = 3_000;

/** What the modal carries from the click to the submission (Slack keeps it; only our app can set it). */
export const replyModalMetadataSchema = z.strictObject({
  c: z.string().min(1),
  m: z.string().min(1),
  ch: slackId,
  ts: z.string().min(1),
  th: z.string().min(1),
});
export type ReplyModalMetadata = z.infer<typeof replyModalMetadataSchema>;

/** The alert's header ("💬 José B. replied in …"), to remind the writer whom they answer. */
export function alertHeadline(blocks: readonly unknown[] | undefined): string | undefined {
  const header = blocks?.find(
    (block): block is { type: "header"; text: { text: string } } =>
      typeof block === "object" &&
      block !== null &&
      (block as { type?: unknown }).type === "header" &&
      typeof (block as { text?: { text?: unknown } }).text?.text === "string",
  );
  return header?.text.text;
}

export function replyModal(metadata: ReplyModalMetadata, headline: string | undefined): SlackModal {
  const about = headline ? fitPlainText(cleanUntrusted(headline).text, 2_000, "…") : "A participant's conversation";
  return {
    type: "modal",
    callback_id: REPLY_MODAL_CALLBACK_ID,
    title: { type: "plain_text", text: "Reply to participant" },
    submit: { type: "plain_text", text: "Send" },
    close: { type: "plain_text", text: "Cancel" },
    private_metadata: JSON.stringify(metadata),
    blocks: [
      { type: "section", text: { type: "plain_text", text: about, emoji: true } },
      {
        type: "input",
        block_id: REPLY_INPUT_BLOCK_ID,
        label: { type: "plain_text", text: "Your reply" },
        element: {
          type: "plain_text_input",
          action_id: REPLY_INPUT_ACTION_ID,
          multiline: true,
          max_length: MAX_REPLY_CHARS,
          focus_on_load: true,
          placeholder: { type: "plain_text", text: "Sent to the participant through Respondent" },
        },
      },
      {
        type: "context",
        elements: [
          { type: "mrkdwn", text: "The participant gets it in Respondent; this channel's thread shows it too." },
        ],
      },
    ],
  };
}

/** Text a person typed, as mrkdwn that pings nobody, quoted, within one section. */
function quoted(text: string, max: number): string {
  return fitPieces(escapedPieces(cleanUntrusted(text).text.trim(), true), { max, prefix: "> ", maxChunks: 1 }).join("");
}

/** "↩️ <@U…> replied: …" in the alert's thread. */
export function replyNote(userId: string, text: string): SlackMessage {
  const body = quoted(text, 2_900);
  return {
    text: `↩️ <@${userId}> replied to the participant`,
    blocks: [{ type: "section", text: { type: "mrkdwn", text: `↩️ <@${userId}> replied:\n${body}` } }],
  };
}

/** The alert once marked read: the same blocks, without the Mark as read button, and who marked it. */
export function markedReadAlert(
  original: { text: string | undefined; blocks: readonly unknown[] | undefined },
  userId: string,
  metadata: SlackMessage["metadata"],
): SlackMessage {
  const blocks = (original.blocks ?? []).flatMap((block) => {
    if (typeof block !== "object" || block === null) return [];
    const candidate = block as { type?: unknown; block_id?: unknown; elements?: unknown };
    if (
      candidate.type !== "actions" ||
      candidate.block_id !== ALERT_ACTIONS_BLOCK_ID ||
      !Array.isArray(candidate.elements)
    )
      return [block];
    const elements = candidate.elements.filter(
      (element) => (element as { action_id?: unknown }).action_id !== MARK_READ_ACTION_ID,
    );
    return elements.length > 0 ? [{ ...candidate, elements }] : [];
  });
  blocks.push({ type: "context", elements: [{ type: "mrkdwn", text: `✅ Marked as read by <@${userId}>` }] });
  return {
    text: original.text || "A participant replied",
    blocks: blocks as SlackMessage["blocks"],
    metadata,
  };
}

/** Tells the submitter their reply did not go, why, and (when it certainly did not reach Respondent) offers a retry. */
export function replyFailedNote(
  reason: string,
  text: string,
  retry: { key: string } | undefined,
): { text: string; blocks: unknown[] } {
  const headline = retry
    ? "⚠️ Your reply was *not sent*: Respondent refused or could not be reached. Nothing reached the participant."
    : "⚠️ Your reply *may not have been sent*: Respondent did not confirm it. Check the conversation in Respondent before writing again; it will not be sent twice from here.";
  const blocks: unknown[] = [
    { type: "section", text: { type: "mrkdwn", text: `${headline}\n_${escapeInline(reason)}_` } },
    { type: "section", text: { type: "mrkdwn", text: quoted(text, 2_900) } },
  ];
  if (retry) {
    blocks.push({
      type: "actions",
      elements: [
        {
          type: "button",
          text: { type: "plain_text", text: "Try again" },
          action_id: REPLY_RETRY_ACTION_ID,
          value: retry.key,
        },
      ],
    });
  }
  return { text: retry ? "Your reply was not sent" : "Your reply may not have been sent", blocks };
}

function escapeInline(text: string): string {
  return fitPieces(escapedPieces(cleanUntrusted(text).text.replace(/\s+/g, " ").trim(), false), {
    max: 500,
    maxChunks: 1,
  }).join("");
}
