import * as z from "zod";
import { channelIdSchema } from "../domain/subscriptions.ts";
import { UsageError } from "../errors.ts";
import type { Clock, ConversationMute, Log, MuteStore } from "../ports.ts";

/**
 * Muting one conversation in one channel: its replies are no longer alerted there (the notifier
 * still records each of them as handled, so unmuting later does not flood the channel with what
 * was missed), in every other channel they still are. The CLI (`conversations mute|unmute`) and,
 * once the Slack endpoint exists, the alert's Mute button (`respondent_mute`) call these.
 */

export const conversationUidSchema = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, "must be a Respondent conversation uid (the alert's footer shows it)");

export interface MutePorts {
  mutes: MuteStore;
  clock: Clock;
  log: Log;
}

export interface MuteRequest {
  conversationUid: string;
  channelId: string;
  /** Who asks: `cli`, or the Slack user id of whoever pressed Mute. */
  by: string;
}

export type MuteOutcome = { status: "muted" | "already_muted"; mute: ConversationMute };
export type UnmuteOutcome = { status: "unmuted" | "was_not_muted" };

function validated(request: Pick<MuteRequest, "conversationUid" | "channelId">): {
  conversationUid: string;
  channelId: string;
} {
  const conversationUid = conversationUidSchema.safeParse(request.conversationUid);
  if (!conversationUid.success) {
    throw new UsageError(
      `conversation ${JSON.stringify(request.conversationUid)}: ${conversationUid.error.issues[0]?.message}`,
    );
  }
  const channelId = channelIdSchema.safeParse(request.channelId);
  if (!channelId.success) {
    throw new UsageError(`channel ${JSON.stringify(request.channelId)}: ${channelId.error.issues[0]?.message}`);
  }
  return { conversationUid: conversationUid.data, channelId: channelId.data };
}

export async function muteConversation(request: MuteRequest, ports: MutePorts): Promise<MuteOutcome> {
  const { conversationUid, channelId } = validated(request);
  const mute: ConversationMute = {
    conversationUid,
    channelId,
    mutedAt: ports.clock.now().toISOString(),
    mutedBy: request.by,
  };
  const created = await ports.mutes.mute(mute);
  ports.log.info(created ? "conversation muted" : "conversation was muted already", {
    conversationUid,
    channelId,
    by: request.by,
  });
  return { status: created ? "muted" : "already_muted", mute };
}

export async function unmuteConversation(
  request: Pick<MuteRequest, "conversationUid" | "channelId"> & { by?: string },
  ports: MutePorts,
): Promise<UnmuteOutcome> {
  const { conversationUid, channelId } = validated(request);
  const removed = await ports.mutes.unmute(conversationUid, channelId);
  ports.log.info(removed ? "conversation unmuted" : "conversation was not muted", {
    conversationUid,
    channelId,
    by: request.by,
  });
  return { status: removed ? "unmuted" : "was_not_muted" };
}
