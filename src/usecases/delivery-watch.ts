import type { NewReplyEvent } from "../domain/events.ts";
import type { HealthObservation } from "../domain/health.ts";
import { channelPausedMessage } from "../domain/ops-messages.ts";
import type { Subscription } from "../domain/subscriptions.ts";
import { describeError, type NotifierError } from "../errors.ts";
import type { Clock, Log, OpsChannel, SubscriptionPauses } from "../ports.ts";
import type { HealthMonitor } from "./health.ts";
import type { TargetOutcome } from "./notify.ts";

export interface DeliveryWatchPorts {
  /** The notifier's health: does Slack accept our token? */
  health: HealthMonitor;
  subscriptions: { list(): Promise<Subscription[]> };
  pauses: SubscriptionPauses;
  ops: OpsChannel;
  clock: Clock;
  log: Log;
}

/** The longest pause reason stored on a subscription. */
const MAX_DISABLED_REASON_CHARS = 500;

/**
 * Looks at what each delivery did and tells the operators what needs a person:
 * - a failure of the whole service that no retry fixes (a rejected token) turns the notifier's
 *   health to failing, and the next posted alert recovers it. It is not a channel's fault, so
 *   no subscription is paused.
 * - a channel that cannot take posts until someone acts (not_in_channel, channel_not_found,
 *   is_archived, ...) pauses every active subscription to it, with the reason, and posts one
 *   message saying how to resume. Paused subscriptions are neither polled nor alerted, so the
 *   failure does not repeat on every reply.
 */
export class DeliveryWatch {
  constructor(private readonly ports: DeliveryWatchPorts) {}

  /** Never throws: what the watch fails to do is logged, and the delivery's own result stands. */
  async afterDelivery(event: NewReplyEvent, outcomes: readonly TargetOutcome[]): Promise<void> {
    const observation = slackObservation(outcomes);
    if (observation) await this.ports.health.observe(observation);
    for (const outcome of outcomes) {
      if (outcome.status === "failed_permanently" && outcome.error.reach === "channel") {
        await this.pauseChannel(outcome.channelId, outcome.error, event);
      }
    }
  }

  private async pauseChannel(channelId: string, error: NotifierError, event: NewReplyEvent): Promise<void> {
    const { subscriptions, pauses, ops, clock, log } = this.ports;
    const slackError = "slackError" in error && typeof error.slackError === "string" ? error.slackError : error.code;
    const context = { channelId, slackError, eventId: event.eventId };
    try {
      const active = (await subscriptions.list())
        .filter((subscription) => subscription.channelId === channelId && !subscription.paused)
        .map((subscription) => subscription.projectId)
        .sort();
      const reason = error.message.slice(0, MAX_DISABLED_REASON_CHARS);
      const now = clock.now();
      const paused: string[] = [];
      for (const projectId of active) {
        // Everyone goes in the same order: losing one means another notifier is pausing this
        // channel and will name the rest in its message, so this one leaves them to it.
        if (!(await pauses.pause(projectId, channelId, reason, now))) break;
        paused.push(projectId);
      }
      if (paused.length === 0) return;
      log.warn("paused the subscriptions of a channel that cannot take alerts", { ...context, projects: paused });
      await ops.post(channelPausedMessage(channelId, slackError, paused));
      log.info("ops channel told: subscriptions paused", { ...context, opsChannelId: ops.channelId });
    } catch (failure) {
      log.error("could not pause or announce the subscriptions of an unusable channel", {
        ...context,
        reason: describeError(failure),
      });
    }
  }
}

/**
 * Only failures of the whole service that need a person (a rejected token) are a health signal:
 * they fail it, and any posted alert recovers it.
 */
export function slackObservation(outcomes: readonly TargetOutcome[]): HealthObservation | undefined {
  for (const outcome of outcomes) {
    // A rejected token comes back as a retry (the alert is kept), but it is a failure all the same.
    if (
      (outcome.status === "failed_permanently" || outcome.status === "retry") &&
      outcome.error.reach === "service" &&
      !outcome.error.retryable
    ) {
      return { ok: false, reason: outcome.error.message };
    }
  }
  return outcomes.some((outcome) => outcome.status === "posted") ? { ok: true } : undefined;
}
