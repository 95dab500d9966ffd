import { messagesCreatedResourceSchema, summarizeIssues, webhookEnvelopeSchema } from "../domain/respondent.ts";
import { checkWebhookSignature, WEBHOOK_SIGNATURE_HEADER } from "../domain/webhook-signature.ts";
import { describeError } from "../errors.ts";
import type { Clock, ConversationReader, Log, Metrics, WebhookHintStore } from "../ports.ts";
import { checkConversation, type PollPorts } from "../usecases/poll.ts";
import type { InboundRequest, Route, RouteAnswer } from "./route.ts";

export const RESPONDENT_WEBHOOK_PATH = "/respondent/webhook";

/** Respondent retries a failed delivery up to 5 times, 10 minutes apart: a day covers every retry. */
export const WEBHOOK_DEDUPE_SECONDS = 86_400;
/** At most one read of a conversation per this window, whatever the number of hints (forged or not). */
export const WEBHOOK_READ_WINDOW_MS = 3_000;

export interface RespondentWebhookPorts {
  /** The webhook's `privateKey` (RESPONDENT_WEBHOOK_SECRET, or the secret's `webhookSecret`); undefined: not checked. */
  secret: () => Promise<string | undefined>;
  hints: WebhookHintStore;
  reader: ConversationReader;
  /** The poller's ports: the hinted conversation goes through the sweep's detection (state, marks, queue). */
  poll: PollPorts;
  clock: Clock;
  log: Log;
  metrics: Metrics;
  readWindowMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

const text = (status: number, body: string, afterAnswer?: () => Promise<void>): RouteAnswer => ({
  status,
  headers: { "content-type": "text/plain; charset=utf-8" },
  body: `${body}\n`,
  ...(afterAnswer ? { afterAnswer } : {}),
});

/**
 * `POST /respondent/webhook`: a `MESSAGES.CREATED` delivery is a hint that a conversation has
 * something new. The answer comes at once (Respondent wants a 2xx within 3 s): 401 for a bad
 * signature when a secret is set, 400 for what is not a delivery, 200 for a duplicate `uuid`
 * or another event, 202 otherwise. After the answer, the conversation is read through the
 * authenticated API (at most once per conversation per read window) and goes through the
 * normal detection: nothing in the payload is ever alerted, so a forged hint costs at most a
 * read and alerts nothing.
 */
export function respondentWebhookRoute(ports: RespondentWebhookPorts): Route {
  const windowMs = ports.readWindowMs ?? WEBHOOK_READ_WINDOW_MS;
  const sleep = ports.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));

  const readAndDetect = async (conversationUid: string, uuid: string) => {
    let claim = await ports.hints.claimRead(conversationUid, ports.clock.now(), windowMs);
    if (!claim.claimed) {
      // The read in progress may have started before this message existed; the next one cannot.
      await sleep(Math.max(0, claim.until.getTime() - ports.clock.now().getTime()));
      claim = await ports.hints.claimRead(conversationUid, ports.clock.now(), windowMs);
      if (!claim.claimed) {
        ports.log.debug("a read of this conversation started after this hint: nothing more to do", {
          conversationUid,
          uuid,
        });
        return;
      }
    }
    const conversation = await ports.reader.getConversation(conversationUid);
    if (!conversation) {
      ports.log.warn("a webhook hint names a conversation the API does not know; ignored", { conversationUid, uuid });
      return;
    }
    const report = await checkConversation(ports.poll, conversation);
    ports.log.info("webhook hint checked", {
      conversationUid,
      uuid,
      newReplies: report.newReplies,
      eventsQueued: report.eventsQueued,
      failures: report.failures.length,
    });
    const failure = report.failures[0];
    if (failure)
      throw new Error(`the hinted conversation was not processed: ${failure.reason}; the next poll covers it`);
  };

  return {
    method: "POST",
    path: RESPONDENT_WEBHOOK_PATH,
    async handle(request: InboundRequest): Promise<RouteAnswer> {
      const secret = await ports.secret();
      if (secret) {
        const check = checkWebhookSignature(request.rawBody, request.headers[WEBHOOK_SIGNATURE_HEADER], secret);
        if (!check.ok) {
          ports.log.warn("refused a Respondent webhook delivery: signature", { reason: check.reason });
          return text(401, `signature ${check.reason}`);
        }
        // Which bytes Respondent signs is not documented: this says which it was.
        ports.log.info("webhook signature matched", {
          over: check.matched === "raw" ? "the raw body" : "the re-serialised JSON",
        });
      }
      let json: unknown;
      try {
        json = JSON.parse(request.rawBody.toString("utf8"));
      } catch {
        return text(400, "not JSON");
      }
      const envelope = webhookEnvelopeSchema.safeParse(json);
      if (!envelope.success) return text(400, `not a webhook delivery (${summarizeIssues(envelope.error)})`);
      const { event, uuid } = envelope.data;
      if (event !== "MESSAGES.CREATED") return text(200, `ignored: ${event}`);
      const resource = messagesCreatedResourceSchema.safeParse(envelope.data.payload.resource);
      if (!resource.success) return text(400, `not a MESSAGES.CREATED resource (${summarizeIssues(resource.error)})`);
      const { conversationId } = resource.data;
      let first: boolean;
      try {
        first = await ports.hints.recordDelivery(uuid, request.receivedAt, WEBHOOK_DEDUPE_SECONDS);
      } catch (error) {
        // Respondent retries a non-2xx: better than losing the hint (the poll still covers it).
        ports.log.error("could not record a webhook delivery", { uuid, reason: describeError(error) });
        return text(503, "try again later");
      }
      if (!first) return text(200, "duplicate");
      ports.metrics.count("WebhookHints");
      return text(202, "accepted", () => readAndDetect(conversationId, uuid));
    },
  };
}
