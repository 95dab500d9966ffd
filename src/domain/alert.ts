import type { KnownBlock } from "@slack/web-api";
import type { AlertTarget, NewReplyEvent } from "./events.ts";

/** What the notifier posts: Block Kit plus the plain-text fallback used by notifications. */
export interface SlackMessage {
  text: string;
  blocks: KnownBlock[];
}

export interface AlertContext {
  /** e.g. https://app.respondent.io/messages/{conversationUid}; no link when absent. */
  conversationUrlTemplate?: string | undefined;
  /** An earlier attempt may have posted this alert already (see DeliveryLedger). */
  possiblyRepeated: boolean;
}

export function formatAlert(_event: NewReplyEvent, _target: AlertTarget, _context: AlertContext): SlackMessage {
  throw new Error("formatAlert: being written");
}
