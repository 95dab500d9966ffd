import { type DigestDue, digestDueSchema, type NewReplyEvent, newReplyEventSchema } from "../domain/events.ts";
import type { MoveTaskProgress, MoveTaskSource } from "../ports.ts";

/**
 * Alerts that failed delivery too often end in a dead-letter queue: the local queue's dead
 * letters, or the deployed notifier's SQS DLQ. Both hold the poller's event as the message
 * body. Re-sending them is safe at any time: the notifier's ledger is keyed by (event id,
 * channel), so an alert that did reach Slack is skipped, never posted twice.
 */

/** A dead letter as either queue stores it. */
export interface DeadLetterRecord {
  id: string;
  body: string;
  receiveCount: number | undefined;
  /** When it was dead-lettered (local), or SQS's SentTimestamp (for a FIFO DLQ: when it was moved there). */
  at: string | undefined;
  atMeaning: "dead-lettered" | "queued";
  /** The last delivery error (the local queue keeps it; SQS does not). */
  lastError: string | undefined;
}

export interface DeadLetterView extends DeadLetterRecord {
  /** The event, or undefined when the body is not a valid event (`problem` says why). */
  event: NewReplyEvent | undefined;
  /** A due digest (quiet hours, digest intervals) whose delivery failed; `dlq redrive` delivers it like an event. */
  digest?: DigestDue | undefined;
  problem: string | undefined;
}

export function readDeadLetter(record: DeadLetterRecord): DeadLetterView {
  let json: unknown;
  try {
    json = JSON.parse(record.body);
  } catch {
    return { ...record, event: undefined, problem: "the body is not JSON" };
  }
  const digest = digestDueSchema.safeParse(json);
  if (digest.success) return { ...record, event: undefined, digest: digest.data, problem: undefined };
  const parsed = newReplyEventSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return {
      ...record,
      event: undefined,
      problem: `not a valid new-reply event (${issue ? `${issue.path.join(".") || "(body)"}: ${issue.message}` : "invalid"})`,
    };
  }
  return { ...record, event: parsed.data, problem: undefined };
}

const FINAL_STATUSES = new Set(["COMPLETED", "FAILED", "CANCELLED"]);

/**
 * Follows a redrive (SQS message move task) until it ends or `timeoutMs` passes, reporting
 * each reading. Returns the last one; its status is still RUNNING when time ran out.
 */
export async function followMoveTask(
  source: MoveTaskSource,
  sourceArn: string,
  options: {
    timeoutMs: number;
    onProgress?: (progress: MoveTaskProgress) => void;
    sleep?: (ms: number) => Promise<void>;
    now?: () => number;
  },
): Promise<MoveTaskProgress | undefined> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const now = options.now ?? Date.now;
  const deadline = now() + options.timeoutMs;
  let waitMs = 500;
  for (;;) {
    const progress = await source.redriveStatus(sourceArn);
    if (progress) options.onProgress?.(progress);
    if (!progress || FINAL_STATUSES.has(progress.status) || now() >= deadline) return progress;
    await sleep(Math.min(waitMs, Math.max(0, deadline - now())));
    waitMs = Math.min(waitMs * 2, 5_000);
  }
}
