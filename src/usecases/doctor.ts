import { DEFAULT_RESPONDENT_API_URL } from "../config.ts";
import type { FeedState } from "../domain/feed.ts";
import { chainStaleAfterMs, type PollChainState } from "../domain/poll-chain.ts";
import type { Subscription } from "../domain/subscriptions.ts";
import { describeError, RespondentAuthError, RespondentRequestRejectedError, SlackAuthError } from "../errors.ts";
import type { ConversationSource, SlackDirectory, SlackIdentity } from "../ports.ts";
import { POLLER_TIMEOUT_SECONDS } from "./poll-chain.ts";
import { describeProject, type ProjectLabel } from "./project-names.ts";

/**
 * `doctor`: one line per check, each with a clear verdict and, when it is not a pass, the fix.
 * The checks here turn what the adapters answer into those lines; which checks run (and with
 * which adapters: real services, embedded stand-ins, the deployed stack) is decided by the CLI.
 */

/** `note`: passes, but with a stand-in or a default the operator should know about. `warn` never fails the run. */
export type CheckStatus = "pass" | "note" | "warn" | "fail" | "skip";

export interface CheckOutcome {
  status: CheckStatus;
  detail: string;
  fix?: string | undefined;
  /** Replaces the check's name once the check knows more (a channel's #name). */
  label?: string | undefined;
}

export interface CheckResult extends CheckOutcome {
  check: string;
}

export interface DoctorHooks {
  onStart?: (check: string) => void;
  onResult?: (result: CheckResult) => void;
}

/** Runs checks one at a time and keeps their results; a check that throws is a failed check, not a crash. */
export class DoctorRun {
  readonly results: CheckResult[] = [];

  constructor(private readonly hooks: DoctorHooks = {}) {}

  async check(check: string, run: () => Promise<CheckOutcome> | CheckOutcome): Promise<CheckResult> {
    this.hooks.onStart?.(check);
    let outcome: CheckOutcome;
    try {
      outcome = await run();
    } catch (error) {
      outcome = { status: "fail", detail: describeError(error) };
    }
    const { label, ...rest } = outcome;
    const result = { check: label ?? check, ...rest };
    this.results.push(result);
    this.hooks.onResult?.(result);
    return result;
  }

  get failed(): number {
    return this.results.filter((result) => result.status === "fail").length;
  }
}

export const STAGING_RESPONDENT_API_URL = "https://api-staging.respondent.io";

/** "production", "staging" or "custom URL": which Respondent environment a base URL is. */
export function respondentEnvironment(baseUrl: string): string {
  const url = baseUrl.replace(/\/+$/, "");
  if (url === DEFAULT_RESPONDENT_API_URL) return "production";
  if (url === STAGING_RESPONDENT_API_URL) return "staging";
  return "custom URL";
}

function otherEnvironmentHint(environment: string): string {
  if (environment === "production") return `staging keys need RESPONDENT_API_URL=${STAGING_RESPONDENT_API_URL}`;
  if (environment === "staging") return `production keys need RESPONDENT_API_URL unset (${DEFAULT_RESPONDENT_API_URL})`;
  return `production is ${DEFAULT_RESPONDENT_API_URL}, staging ${STAGING_RESPONDENT_API_URL}`;
}

/** Reads the first page of conversations with the configured credentials. */
export async function checkRespondentCredentials(
  source: ConversationSource,
  options: { baseUrl: string; credentialsFrom: string },
): Promise<CheckOutcome> {
  const where = `${options.baseUrl} (${respondentEnvironment(options.baseUrl)})`;
  try {
    for await (const page of source.listConversations({})) {
      const visible =
        page.totalResults === undefined
          ? `${page.conversations.length} conversations on it`
          : `${page.totalResults} conversations visible`;
      return { status: "pass", detail: `accepted by ${where}, 1 page read, ${visible}` };
    }
    return { status: "pass", detail: `accepted by ${where}, no conversations yet` };
  } catch (error) {
    if (error instanceof RespondentAuthError) {
      return {
        status: "fail",
        detail: `rejected (${error.status}) by ${where}`,
        fix: `check ${options.credentialsFrom}; production and staging keys differ: ${otherEnvironmentHint(respondentEnvironment(options.baseUrl))}`,
      };
    }
    if (error instanceof RespondentRequestRejectedError) {
      return { status: "fail", detail: `${where}: ${error.message}` };
    }
    return {
      status: "fail",
      detail: `${where}: ${describeError(error)}`,
      fix: "check RESPONDENT_API_URL and the network; Respondent may be down",
    };
  }
}

export async function checkSlackToken(
  slack: SlackDirectory,
  options: { tokenFrom: string; apiUrl: string; defaultApiUrl: string },
): Promise<{ outcome: CheckOutcome; identity: SlackIdentity | undefined }> {
  try {
    const identity = await slack.identity();
    const where = options.apiUrl === options.defaultApiUrl ? "" : ` at ${options.apiUrl}`;
    return {
      outcome: {
        status: "pass",
        detail: `accepted${where}: workspace "${identity.team}", app user @${identity.user}`,
      },
      identity,
    };
  } catch (error) {
    if (error instanceof SlackAuthError) {
      return {
        outcome: { status: "fail", detail: error.message.replace("SLACK_BOT_TOKEN", options.tokenFrom) },
        identity: undefined,
      };
    }
    return {
      outcome: { status: "fail", detail: describeError(error), fix: "check SLACK_API_URL and the network" },
      identity: undefined,
    };
  }
}

/** Can the app post in this channel: it exists, is not archived, and the app is in it (or may post to public channels). */
export async function checkSlackChannel(
  slack: SlackDirectory,
  channelId: string,
  identity: SlackIdentity,
  subscriptions: readonly Subscription[],
  /** `Name (id)` of a project, when its name is known; default its id. */
  describeProject: (projectId: string) => string = (projectId) => projectId,
): Promise<CheckOutcome> {
  const app = `@${identity.user || "<your app>"}`;
  const projects = subscriptions.map((subscription) => describeProject(subscription.projectId)).join(", ");
  const forWhat = `subscribed to ${projects}`;
  const info = await slack.channel(channelId);
  if (!info.exists) {
    return {
      status: "fail",
      detail: `not found (${forWhat})`,
      fix: `check the channel id (channel details > About > Channel ID); a private channel also answers this until the app is invited: /invite ${app} in it`,
    };
  }
  const label = info.name ? `Slack channel ${channelId} (#${info.name})` : undefined;
  if (info.isArchived) {
    return {
      status: "fail",
      label,
      detail: `is archived (${forWhat})`,
      fix: `unarchive it, or remove its subscriptions: respondent-notifier subscriptions remove --project <id> --channel ${channelId}`,
    };
  }
  if (info.isMember) return { status: "pass", label, detail: `the app is a member (${forWhat})` };
  if (!info.isPrivate && identity.scopes?.includes("chat:write.public")) {
    return { status: "pass", label, detail: `the app is not a member but may post (chat:write.public) (${forWhat})` };
  }
  return {
    status: "fail",
    label,
    detail: `the app is not a member (${forWhat})`,
    fix: `invite it: /invite ${app} in that channel`,
  };
}

/**
 * A retried alert reads its channel back (by its message metadata) before it posts again, so an
 * alert Slack took but whose answer was lost is never repeated. Without the history scopes the
 * read is refused, and such an alert is posted again, marked as a possible repeat.
 */
export function checkHistoryScopes(identity: SlackIdentity, subscriptions: readonly Subscription[]): CheckOutcome {
  if (!identity.scopes) {
    return { status: "note", detail: "the token's scopes are not known (Slack did not send them); not checked" };
  }
  const privateChannels = subscriptions.some((subscription) => subscription.channelId.startsWith("G"));
  const needed = ["channels:history", ...(privateChannels ? ["groups:history"] : [])];
  const missing = needed.filter((scope) => !identity.scopes?.includes(scope));
  if (missing.length === 0) {
    return {
      status: "pass",
      detail: `${needed.join(", ")}: a retried alert reads its channel back before posting again`,
    };
  }
  return {
    status: "warn",
    detail: `missing ${missing.join(", ")}: after a lost answer from Slack a retried alert cannot look whether it is already in the channel, and is posted again marked "may repeat"`,
    fix: "add the scope in OAuth & Permissions (or from slack-app-manifest.yaml) and reinstall the app",
  };
}

/** The subscribed projects by name, with the id beside; a note when some names are not cached yet. */
export function checkProjectNames(
  subscriptions: readonly Subscription[],
  labels: ReadonlyMap<string, ProjectLabel>,
): CheckOutcome {
  const ids = [...new Set(subscriptions.map((subscription) => subscription.projectId))];
  const shown = ids.map((id) => describeProject(labels.get(id), id));
  const unnamed = ids.filter((id) => id !== "*" && !labels.get(id)?.name).length;
  if (unnamed === 0) return { status: "pass", detail: shown.join(", ") };
  return {
    status: "note",
    detail: `${shown.join(", ")} (${unnamed} without a name yet: alerts show the id until the poller has looked it up)`,
  };
}

export function checkSubscriptions(subscriptions: readonly Subscription[]): CheckOutcome {
  if (subscriptions.length === 0) {
    return {
      status: "warn",
      detail: "none stored: nothing will alert",
      fix: "add one: respondent-notifier subscriptions add --project <id|*> --channel <C...>, or subscriptions apply -f subscriptions.yaml",
    };
  }
  const paused = subscriptions.filter((subscription) => subscription.paused).length;
  const channels = new Set(subscriptions.map((subscription) => subscription.channelId)).size;
  return {
    status: "pass",
    detail: `${subscriptions.length} stored (${subscriptions.length - paused} active, ${paused} paused) for ${channels} channel${channels === 1 ? "" : "s"}`,
  };
}

export function checkDeadLetters(count: number, where: string): CheckOutcome {
  if (count === 0) return { status: "pass", detail: `none in ${where}` };
  return {
    status: "warn",
    detail: `${count} alert${count === 1 ? "" : "s"} failed delivery and wait${count === 1 ? "s" : ""} in ${where}`,
    fix: "see them: respondent-notifier dlq list; re-send them: respondent-notifier dlq redrive",
  };
}

/**
 * Is Slack's signing secret there for POST /slack/events? Needed as soon as a subscription shows
 * the Reply / Mark as read buttons (and for /respondent): without it every click is refused.
 */
export function checkSigningSecret(input: {
  /** Where the secret came from, or undefined when none is configured. */
  from: string | undefined;
  /** The built-in fake Slack signs with a secret it makes up, and the local server knows it. */
  fakeSlack: boolean;
  /** Stored subscriptions, undefined when they could not be read. */
  subscriptions: readonly { actions?: boolean | undefined }[] | undefined;
  /** How to set it where this runs (SLACK_SIGNING_SECRET, or the Slack secret's fill command). */
  howToSet: string;
}): CheckOutcome {
  if (input.fakeSlack) {
    return { status: "note", detail: "the built-in fake Slack signs its requests with a secret made up at start" };
  }
  if (input.from)
    return { status: "pass", detail: `set (${input.from}): Slack's requests to /slack/events are verified` };
  const withButtons = (input.subscriptions ?? []).filter((subscription) => subscription.actions !== false).length;
  if (withButtons > 0) {
    return {
      status: "fail",
      detail: `not set, but ${withButtons} subscription${withButtons === 1 ? " shows" : "s show"} Reply / Mark as read buttons: every click is refused`,
      fix: `${input.howToSet} (Slack app > Basic Information > App Credentials > Signing Secret), or turn the buttons off with --no-actions`,
    };
  }
  return {
    status: "warn",
    detail: "not set: /respondent and any button would be refused (no subscription shows buttons)",
    fix: input.howToSet,
  };
}

/**
 * The fast-poll chain's line (deployed below 60 s; no line without a chain item): when its last
 * tick started. Stale past the longest live gap (30 s interval + 55 s timeout + 15 s), the
 * watchdog should have restarted it within a minute; much older, the chain is simply not in use.
 */
export function checkPollChain(state: PollChainState, now: Date): CheckOutcome {
  const agoSeconds = Math.max(0, Math.round((now.getTime() - state.tickedAt.getTime()) / 1000));
  const ago = agoSeconds < 120 ? `${agoSeconds} s ago` : `${Math.round(agoSeconds / 60)} min ago`;
  const which = `tick ${state.seq} of chain ${state.chainId.slice(0, 8)}, started ${ago} (${state.tickedAt.toISOString()})`;
  if (agoSeconds * 1000 <= chainStaleAfterMs(30, POLLER_TIMEOUT_SECONDS)) {
    return { status: "pass", detail: `polling below a minute: ${which}` };
  }
  if (agoSeconds <= 15 * 60) {
    return {
      status: "warn",
      detail: `stopped: ${which}; the poller's one-minute watchdog restarts a stopped chain`,
      fix: "if this stays, look at the poller's log for `the poll chain had stopped` and `could not check or start the poll chain`",
    };
  }
  return {
    status: "note",
    detail: `not ticking (${which}): not in use (pollIntervalSeconds 60 or more), or the poller is not running (the NoSuccessfulPoll alarm would say)`,
  };
}

/** The messages feed's line: on and working, sweep-only (why, and the reset), or off. */
export function checkFeedState(
  settings: { enabled: boolean; reconcileIntervalMinutes: number },
  stored: FeedState | undefined,
  reset: boolean,
): CheckOutcome {
  if (!settings.enabled) {
    return { status: "note", detail: "off (RESPONDENT_FEED=off): every poll lists every conversation" };
  }
  if (reset) {
    return {
      status: "pass",
      detail: "reset: the next poll sweeps every conversation, then the polls between sweeps use the feed again",
    };
  }
  if (!stored?.lastSweepAt) {
    return { status: "note", detail: "on; no sweep yet (the first poll lists every conversation, then uses the feed)" };
  }
  if (stored.mode === "sweep-only") {
    return {
      status: "warn",
      detail: `sweep-only since ${stored.sweepOnlySince ?? "?"}: ${stored.sweepOnlyReason ?? "no reason stored"}`,
      fix: "look at the poller's logs, then run `respondent-notifier doctor --reset-feed` to use the feed again",
    };
  }
  const lastFeed = stored.lastFeedPollAt ? `, last feed poll ${stored.lastFeedPollAt}` : "";
  return {
    status: "pass",
    detail: `on: the feed between sweeps, a sweep every ${settings.reconcileIntervalMinutes} min (last ${stored.lastSweepAt}${lastFeed})`,
  };
}
