import {
  type HealthAnnouncement,
  type HealthComponent,
  type HealthObservation,
  type HealthPolicy,
  type HealthRecord,
  initialHealth,
  nextHealth,
} from "../domain/health.ts";
import { failingMessage, recoveredMessage } from "../domain/ops-messages.ts";
import { describeError } from "../errors.ts";
import type { Clock, HealthStore, Log, OpsChannel } from "../ports.ts";
import type { PollReport } from "./poll.ts";

/**
 * The poller turns failing after two failed polls in a row. One failed poll is routine and
 * harmless (a Respondent 502 that outlasted the client's retries, a throttled write): the next
 * poll re-reads everything from the stored state, so it only delays alerts by one interval,
 * which is not worth a message. Two in a row means the client's retries failed twice over, at
 * least a minute apart on the default schedule: an outage someone should look at. A single
 * successful poll recovers, so an API that alternates failure and success never alerts.
 */
export const POLLER_HEALTH_POLICY: HealthPolicy = { failingAfter: 2 };

/**
 * The notifier turns failing at the first rejected token: Slack's answer is definite (no retry
 * changes it) and the alert it refused is already lost, so waiting would only hide it.
 */
export const NOTIFIER_HEALTH_POLICY: HealthPolicy = { failingAfter: 1 };

/** How often one observation re-reads the record after losing a write to another process. */
const WRITE_ROUNDS = 3;

export interface HealthMonitorPorts {
  component: HealthComponent;
  policy: HealthPolicy;
  store: HealthStore;
  ops: OpsChannel;
  clock: Clock;
  log: Log;
}

/**
 * Records observations in the shared health record and posts each transition to the ops
 * channel exactly once: the process whose conditional write stores the transition (with the
 * announcement marked as made) is the one that posts it. If the post fails, the announcement
 * is put back as pending and the next observation, from any process, tries again. So a failed
 * post can repeat a message only when Slack timed out after posting; it never loses one,
 * except if the process dies between storing and posting.
 */
export class HealthMonitor {
  constructor(private readonly ports: HealthMonitorPorts) {}

  /** Never throws: health reporting must not break the poll or the delivery it watches. */
  async observe(observation: HealthObservation): Promise<void> {
    try {
      await this.record(observation);
    } catch (error) {
      this.ports.log.warn("could not record health; the next attempt tries again", {
        component: this.ports.component,
        reason: describeError(error),
      });
    }
  }

  private async record(observation: HealthObservation): Promise<void> {
    const { store, component, policy, clock, log } = this.ports;
    for (let round = 1; round <= WRITE_ROUNDS; round += 1) {
      const now = clock.now();
      const stored = await store.read(component);
      const current = stored?.record ?? initialHealth(now);
      const next = nextHealth(current, observation, now, policy);
      if (next === current && !next.pending) return;

      const announcement = next.pending;
      const { pending: _pending, ...announced } = next;
      if (!(await store.write(component, announced, stored?.revision))) continue;

      if (next.status !== current.status) {
        log.info(`${component} health: ${current.status} -> ${next.status}`, { component, reason: next.reason });
      }
      if (announcement) await this.announce(announcement, announced, now);
      return;
    }
    log.warn("health record kept changing under us; this observation is dropped", { component });
  }

  private async announce(announcement: HealthAnnouncement, record: HealthRecord, now: Date): Promise<void> {
    const { component, ops, log } = this.ports;
    const message =
      announcement === "failing"
        ? failingMessage(component, record.since, record.reason ?? "unknown", now)
        : record.lastOutage && recoveredMessage(component, record.lastOutage, now);
    if (!message) return;
    try {
      await ops.post(message);
      log.info(`ops channel told: ${component} ${announcement}`, { component, channelId: ops.channelId });
    } catch (error) {
      log.error("could not post to the ops channel; the next attempt tries again", {
        component,
        channelId: ops.channelId,
        announcement,
        reason: describeError(error),
      });
      await this.putBack(announcement);
    }
  }

  /** Marks the announcement as owed again, unless a newer transition has replaced it. */
  private async putBack(announcement: HealthAnnouncement): Promise<void> {
    const { store, component, log } = this.ports;
    const status = announcement === "failing" ? "failing" : "ok";
    for (let round = 1; round <= WRITE_ROUNDS; round += 1) {
      const stored = await store.read(component);
      if (!stored || stored.record.status !== status || stored.record.pending) return;
      if (await store.write(component, { ...stored.record, pending: announcement }, stored.revision)) return;
    }
    log.warn("could not mark the ops announcement as owed; it is dropped", { component, announcement });
  }
}

/** A poll failed when anything was left for the next one, as the PollFailures metric counts it. */
export function pollObservation(report: PollReport): HealthObservation {
  const first = report.failures.find((failure) => failure.conversationUid === undefined) ?? report.failures[0];
  if (!first) return { ok: true };
  if (first.conversationUid === undefined) return { ok: false, reason: first.reason };
  return { ok: false, reason: `${report.failures.length} conversations were left for the next poll: ${first.reason}` };
}

/** A poll that threw (e.g. the subscriptions could not be read) failed as a whole. */
export function errorObservation(error: unknown): HealthObservation {
  return { ok: false, reason: describeError(error) };
}
