import { Command, CommanderError } from "commander";
import { projectIdSchema, type Subscription } from "../domain/subscriptions.ts";
import { asNotifierError, UsageError } from "../errors.ts";
import type { SlashRequest } from "../usecases/slash-command.ts";
import { addSubscriptionFlags, flag, type SubscriptionFlags, subscriptionFromFlags } from "./subscription-flags.ts";

/**
 * Words of the text, quotes kept together; Slack's escapes become the ids the flags take
 * (`<@U…|jane>` → `U…`, `<!subteam^S…|@team>` → `S…`, `<!here>` → `here`), and the long dash some
 * keyboards make of `--` is read as `--`.
 */
export function slashWords(text: string): string[] {
  const words: string[] = [];
  for (const match of text.matchAll(/"([^"]*)"|“([^”]*)”|(\S+)/g)) {
    const word = match[1] ?? match[2] ?? match[3] ?? "";
    words.push(unescapeSlack(word));
  }
  return words;
}

function unescapeSlack(word: string): string {
  const user = /^<@([UW][A-Z0-9]+)(\|[^>]*)?>$/.exec(word);
  if (user?.[1]) return user[1];
  const group = /^<!subteam\^(S[A-Z0-9]+)(\|[^>]*)?>$/.exec(word);
  if (group?.[1]) return group[1];
  const special = /^<!(here|channel)(\|[^>]*)?>$/.exec(word);
  if (special?.[1]) return special[1];
  return word.replace(/^[—–]/, "--");
}

export function parseSlashCommand(text: string, channelId: string, now: Date): SlashRequest {
  const [verb = "help", ...rest] = slashWords(text);
  try {
    switch (verb.toLowerCase()) {
      case "help":
        return { kind: "help" };
      case "list":
        if (rest.length > 0) throw new UsageError("`list` takes nothing more");
        return { kind: "list" };
      case "unsubscribe": {
        const [projectId, ...extra] = rest;
        if (!projectId || extra.length > 0) throw new UsageError("usage: `/respondent unsubscribe <projectId|*>`");
        return { kind: "unsubscribe", projectId: flag("project", projectIdSchema, projectId) };
      }
      case "subscribe":
        return { kind: "subscribe", subscription: parseSubscribe(rest, channelId, now) };
      default:
        throw new UsageError(`unknown command \`${verb.slice(0, 40)}\`: try \`/respondent help\``);
    }
  } catch (error) {
    return { kind: "invalid", problem: asNotifierError(error).message };
  }
}

function parseSubscribe(words: string[], channelId: string, now: Date): Subscription {
  let problem = "";
  let parsed: { projectId: string; options: SubscriptionFlags } | undefined;
  const command = addSubscriptionFlags(new Command("subscribe").argument("<projectId>", "project id or *"))
    .exitOverride()
    .allowExcessArguments(false)
    .configureOutput({ writeOut: () => undefined, writeErr: (message) => (problem += message) })
    .action((projectId: string, options: SubscriptionFlags) => {
      parsed = { projectId, options };
    });
  try {
    command.parse(words, { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError) {
      throw new UsageError(`${(problem || error.message).replace(/^error: /, "").trim()} (see \`/respondent help\`)`);
    }
    throw error;
  }
  if (!parsed) throw new UsageError("usage: `/respondent subscribe <projectId|*> [options]`");
  return subscriptionFromFlags(parsed.projectId, channelId, parsed.options, now);
}
