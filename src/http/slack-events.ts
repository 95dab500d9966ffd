// Bolt's own request verification (the function its HTTPReceiver and ExpressReceiver call),
// imported from its module so the Lambda bundle does not pull in Bolt's App and receivers.
import { verifySlackRequest } from "@slack/bolt/dist/receivers/verify-request.js";
import { parseSlashCommand } from "../cli/slash-command.ts";
import {
  blockActionsSchema,
  REPLY_MODAL_CALLBACK_ID,
  slashCommandSchema,
  viewSubmissionSchema,
} from "../domain/slack-interactions.ts";
import type { Clock, Log, Metrics } from "../ports.ts";
import {
  checkReplySubmission,
  handleBlockActions,
  type SlackActionPorts,
  sendReplySubmission,
} from "../usecases/slack-actions.ts";
import { answerSlashCommand, type SlashCommandPorts } from "../usecases/slash-command.ts";
import type { InboundRequest, Route, RouteAnswer } from "./route.ts";

/** Slack's interactivity and slash-command Request URL (one URL for both, as Bolt's receivers use). */
export const SLACK_EVENTS_PATH = "/slack/events";
/** Slack signs with the request's time; one more than this far from ours is refused (replay guard). */
export const MAX_CLOCK_SKEW_SECONDS = 5 * 60;

export interface SlackEventsRouteOptions {
  /** The app's Signing Secret; undefined: not configured, and every request is refused. */
  signingSecret: () => Promise<string | undefined>;
  actions: SlackActionPorts;
  slashCommands: SlashCommandPorts;
  clock: Clock;
  log: Log;
  metrics: Metrics;
}

const EMPTY_OK: RouteAnswer = { status: 200, headers: { "content-type": "text/plain" }, body: "" };

function json(body: unknown): RouteAnswer {
  return { status: 200, headers: { "content-type": "application/json; charset=utf-8" }, body: JSON.stringify(body) };
}

/**
 * `POST /slack/events`: verifies the request's signature and age first (401 and nothing else
 * otherwise), then answers at once (Slack wants its answer within 3 seconds) and does the slow
 * work (Respondent, views.open, chat.update, the thread note) in `afterAnswer`.
 */
export function slackEventsRoute(options: SlackEventsRouteOptions): Route {
  const { log, metrics, clock } = options;

  async function refused(request: InboundRequest, reason: string): Promise<RouteAnswer> {
    metrics.count("SlackRequestsRefused");
    log.warn("refused a request to /slack/events", { reason, userAgent: request.headers["user-agent"] });
    return { status: 401, headers: { "content-type": "text/plain" }, body: "unverified request\n" };
  }

  return {
    method: "POST",
    path: SLACK_EVENTS_PATH,
    async handle(request) {
      const secret = await options.signingSecret();
      if (!secret)
        return refused(
          request,
          "no signing secret is configured (SLACK_SIGNING_SECRET, or signingSecret in the Slack secret)",
        );
      const signature = request.headers["x-slack-signature"];
      const timestampText = request.headers["x-slack-request-timestamp"];
      if (!signature || !timestampText || !/^\d{1,12}$/.test(timestampText)) {
        return refused(request, "missing or malformed X-Slack-Signature / X-Slack-Request-Timestamp");
      }
      const timestamp = Number(timestampText);
      const nowMs = clock.now().getTime();
      // Bolt refuses a request older than five minutes; one stamped more than five minutes ahead is refused here too.
      if (Math.abs(nowMs / 1000 - timestamp) > MAX_CLOCK_SKEW_SECONDS) {
        return refused(request, `timestamp ${timestamp} is more than 5 minutes from now`);
      }
      const body = request.rawBody.toString("utf8");
      try {
        verifySlackRequest({
          signingSecret: secret,
          body,
          headers: { "x-slack-signature": signature, "x-slack-request-timestamp": timestamp },
          nowMilliseconds: nowMs,
        });
      } catch (error) {
        return refused(request, error instanceof Error ? error.message : "signature check failed");
      }
      return dispatch(request, body);
    },
  };

  function dispatch(request: InboundRequest, body: string): RouteAnswer {
    const contentType = request.headers["content-type"] ?? "";
    if (contentType.startsWith("application/json")) {
      // The Events API's one-time URL check, should the app ever subscribe to events.
      const parsed = safeJson(body) as { type?: unknown; challenge?: unknown } | undefined;
      if (parsed?.type === "url_verification" && typeof parsed.challenge === "string") {
        return json({ challenge: parsed.challenge });
      }
      return EMPTY_OK;
    }
    const form = new URLSearchParams(body);
    const payloadText = form.get("payload");
    if (payloadText !== null) return interaction(safeJson(payloadText));
    if (form.has("command")) return slashCommand(Object.fromEntries(form));
    return badRequest("neither an interaction payload nor a slash command");
  }

  function interaction(payload: unknown): RouteAnswer {
    const type = (payload as { type?: unknown } | undefined)?.type;
    if (type === "block_actions") {
      const parsed = blockActionsSchema.safeParse(payload);
      if (!parsed.success) return badRequest("a block_actions payload without the fields we need");
      return { ...EMPTY_OK, afterAnswer: () => handleBlockActions(parsed.data, options.actions) };
    }
    if (type === "view_submission") {
      const parsed = viewSubmissionSchema.safeParse(payload);
      if (!parsed.success) return badRequest("a view_submission payload without the fields we need");
      if (parsed.data.view.callback_id !== REPLY_MODAL_CALLBACK_ID) return EMPTY_OK;
      const check = checkReplySubmission(parsed.data);
      // Errors keep the modal open, saying what to fix; an empty answer closes it, and the send follows.
      if (!check.ok) return json({ response_action: "errors", errors: check.errors });
      return { ...EMPTY_OK, afterAnswer: () => sendReplySubmission(parsed.data, check.text, options.actions) };
    }
    // view_closed, shortcuts, ...: nothing to do, but Slack wants its 200.
    return EMPTY_OK;
  }

  function slashCommand(fields: Record<string, string>): RouteAnswer {
    const parsed = slashCommandSchema.safeParse(fields);
    if (!parsed.success) return badRequest("a slash command without the fields we need");
    const { text, channel_id: channelId, user_id: userId, response_url: responseUrl } = parsed.data;
    const answer = answerSlashCommand(
      { request: parseSlashCommand(text, channelId, clock.now()), userId, channelId, responseUrl },
      options.slashCommands,
    );
    if ("now" in answer) return json({ response_type: "ephemeral", ...answer.now });
    return { ...EMPTY_OK, afterAnswer: answer.work };
  }

  function badRequest(reason: string): RouteAnswer {
    log.warn("a verified request to /slack/events we cannot read", { reason });
    return { status: 400, headers: { "content-type": "text/plain" }, body: `${reason}\n` };
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
