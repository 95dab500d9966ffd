import type { Command } from "commander";
import { muteStore } from "../app/compose.ts";
import { muteConversation, unmuteConversation } from "../usecases/mutes.ts";
import { type CliContext, withPlatform } from "./context.ts";

/**
 * `conversations mute|unmute --conversation <uid> --channel <C…>` and `conversations muted`:
 * one conversation's alerts stop (or start again) in one channel, every other channel keeps
 * them. Its replies while muted are recorded as handled, so unmuting does not replay them.
 */
export function registerConversationCommands(program: Command, context: () => CliContext): void {
  const conversations = program
    .command("conversations")
    .description("mute or unmute one conversation's alerts in one channel");

  conversations
    .command("mute")
    .description("no more alerts of this conversation in this channel (other channels keep them)")
    .requiredOption("--conversation <uid>", "Respondent conversation uid (each alert's footer shows it)")
    .requiredOption("--channel <id>", "Slack channel id, e.g. C0123456789")
    .action(async (options: { conversation: string; channel: string }) => {
      const ctx = context();
      const outcome = await withPlatform(ctx, { needs: {} }, (platform) =>
        muteConversation(
          { conversationUid: options.conversation, channelId: options.channel, by: "cli" },
          { mutes: muteStore(platform), clock: platform.clock, log: platform.log },
        ),
      );
      const { conversationUid, channelId } = outcome.mute;
      ctx.out(
        outcome.status === "muted"
          ? `muted: conversation ${conversationUid} in ${channelId}; its replies are no longer alerted there`
          : `conversation ${conversationUid} was muted in ${channelId} already; nothing changed`,
      );
    });

  conversations
    .command("unmute")
    .description("alert this conversation's replies in this channel again, from its next reply")
    .requiredOption("--conversation <uid>", "Respondent conversation uid")
    .requiredOption("--channel <id>", "Slack channel id, e.g. C0123456789")
    .action(async (options: { conversation: string; channel: string }) => {
      const ctx = context();
      const outcome = await withPlatform(ctx, { needs: {} }, (platform) =>
        unmuteConversation(
          { conversationUid: options.conversation, channelId: options.channel, by: "cli" },
          { mutes: muteStore(platform), clock: platform.clock, log: platform.log },
        ),
      );
      ctx.out(
        outcome.status === "unmuted"
          ? `unmuted: conversation ${options.conversation.trim()} in ${options.channel.trim()}; its next reply is alerted there (replies while muted are not replayed)`
          : `conversation ${options.conversation.trim()} was not muted in ${options.channel.trim()}; nothing changed`,
      );
    });

  conversations
    .command("muted")
    .description("list the muted conversations")
    .option("--json", "print JSON (one array) for scripts")
    .action(async (options: { json?: boolean }) => {
      const ctx = context();
      const mutes = await withPlatform(ctx, { needs: {} }, (platform) => muteStore(platform).list());
      if (options.json) {
        ctx.out(JSON.stringify(mutes, null, 2));
        return;
      }
      if (mutes.length === 0) {
        ctx.out("no muted conversations");
        return;
      }
      for (const mute of mutes) {
        ctx.out(`${mute.conversationUid}  in  ${mute.channelId}  muted ${mute.mutedAt} by ${mute.mutedBy}`);
      }
    });
}
