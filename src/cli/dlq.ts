import type { Command } from "commander";
import { deadLetterQueue } from "../app/compose.ts";
import { EXIT_FAILURE, EXIT_OK, UsageError } from "../errors.ts";
import {
  type DeadLetterRecord,
  type DeadLetterView,
  followMoveTask,
  readDeadLetter,
} from "../usecases/dead-letters.ts";
import { type CliContext, withPlatform } from "./context.ts";
import { describeReply, previewReply } from "./output.ts";
import { deliverQueued, pipelineRequest } from "./poll.ts";

/** How long `dlq redrive` waits for re-sent alerts to be delivered (locally) or moved (SQS). */
const LOCAL_DELIVERY_DEADLINE_MS = 60_000;
const MOVE_TASK_TIMEOUT_MS = 5 * 60_000;

const REDRIVE_IS_SAFE = "alerts already in Slack are skipped by the ledger, never posted twice";

export function registerDeadLetterCommands(program: Command, context: () => CliContext): void {
  const dlq = program
    .command("dlq")
    .description(
      "alerts that failed delivery: the local queue's dead letters, or the deployed SQS dead-letter queue when DLQ_URL is set",
    );

  dlq
    .command("list")
    .description("show each dead letter: conversation, channels, the start of the reply, and the last error")
    .option("--json", "print JSON (one array) for scripts")
    .action(async (options: { json?: boolean }) => {
      const ctx = context();
      const { records, where, truncated } = await listDeadLetters(ctx);
      const views = records.map(readDeadLetter);
      if (options.json) {
        ctx.out(JSON.stringify(views.map(toJson), null, 2));
        return;
      }
      if (views.length === 0) {
        ctx.out(`no dead letters in ${where}`);
        return;
      }
      ctx.out(`${views.length}${truncated ? "+" : ""} dead letter${views.length === 1 ? "" : "s"} in ${where}:`);
      for (const view of views) for (const line of describeDeadLetter(view)) ctx.out(line);
      ctx.out(`re-send them with: respondent-notifier dlq redrive (${REDRIVE_IS_SAFE})`);
    });

  dlq
    .command("redrive")
    .description(`re-send every dead letter; ${REDRIVE_IS_SAFE}`)
    .option("--no-wait", "with DLQ_URL: start the move back to the notifier's queue and return at once")
    .action(async (options: { wait: boolean }) => {
      const ctx = context();
      const dlqUrl = deadLetterQueueUrl(ctx);
      ctx.setExitCode(dlqUrl ? await redriveSqs(ctx, dlqUrl, options.wait) : await redriveLocal(ctx));
    });
}

/** The deployed SQS DLQ when DLQ_URL is set; this machine's otherwise (refused for NOTIFIER_TARGET=aws). */
function deadLetterQueueUrl(ctx: CliContext): string | undefined {
  const operator = ctx.operator();
  if (operator.deadLetterQueueUrl) return operator.deadLetterQueueUrl;
  if (operator.target === "aws") {
    throw new UsageError("dlq needs DLQ_URL with NOTIFIER_TARGET=aws: set it to the stack output DeadLetterQueueUrl");
  }
  return undefined;
}

async function listDeadLetters(
  ctx: CliContext,
): Promise<{ records: DeadLetterRecord[]; where: string; truncated: boolean }> {
  const dlqUrl = deadLetterQueueUrl(ctx);
  return withPlatform(ctx, { needs: { deadLetters: true } }, async (platform) => {
    try {
      const { messages, truncated } = await deadLetterQueue(platform).peek((read) =>
        ctx.progress.update(`… ${read} dead letters read`),
      );
      return {
        records: messages.map((message) => ({
          id: message.id,
          body: message.body,
          receiveCount: message.receiveCount,
          at: message.sentAt,
          atMeaning: "queued",
          lastError: undefined,
        })),
        where: dlqUrl ? `the dead-letter queue ${dlqUrl}` : "the local dead-letter queue",
        truncated,
      };
    } finally {
      ctx.progress.done();
    }
  });
}

function describeDeadLetter(view: DeadLetterView): string[] {
  const attempts =
    view.receiveCount === undefined ? "" : ` after ${view.receiveCount} attempt${view.receiveCount === 1 ? "" : "s"}`;
  const lines = [`${view.id}  ${view.atMeaning} ${view.at ?? "(time unknown)"}${attempts}`];
  if (view.event) {
    const channels = view.event.targets.map((target) => target.channelId).join(", ");
    lines.push(`    ${describeReply(view.event)} -> ${channels}`, `    ${previewReply(view.event)}`);
  } else {
    lines.push(`    cannot be delivered: ${view.problem ?? "not an event"}`);
  }
  if (view.lastError) lines.push(`    last error: ${view.lastError}`);
  return lines;
}

function toJson(view: DeadLetterView): Record<string, unknown> {
  return {
    id: view.id,
    [view.atMeaning === "queued" ? "queuedAt" : "deadLetteredAt"]: view.at,
    receiveCount: view.receiveCount,
    lastError: view.lastError,
    ...(view.event ? { event: view.event } : { problem: view.problem }),
  };
}

/**
 * This machine's dead letters go back one by one (the SQS emulator has no message move task),
 * then the local consumer delivers them.
 */
async function redriveLocal(ctx: CliContext): Promise<number> {
  return withPlatform(ctx, pipelineRequest(ctx), async (platform) => {
    const deadLetters = deadLetterQueue(platform);
    if ((await deadLetters.approximateCount()) === 0) {
      ctx.out("no dead letters in the local dead-letter queue: nothing to redrive");
      return EXIT_OK;
    }
    const before = {
      posted: ctx.metrics.get("AlertsPosted"),
      skipped: ctx.metrics.get("AlertsSkippedDuplicate"),
      refused: ctx.metrics.get("PermanentFailures"),
    };
    const moved = await deadLetters.moveEachTo(platform.queue?.urls.queueUrl ?? "");
    ctx.out(`re-sending ${moved} dead letter${moved === 1 ? "" : "s"} (${REDRIVE_IS_SAFE})`);
    const pending = await deliverQueued(platform, ctx, Date.now() + LOCAL_DELIVERY_DEADLINE_MS);
    const posted = ctx.metrics.get("AlertsPosted") - before.posted;
    const skipped = ctx.metrics.get("AlertsSkippedDuplicate") - before.skipped;
    const refused = ctx.metrics.get("PermanentFailures") - before.refused;
    const deadAgain = await deadLetters.approximateCount();
    const parts = [
      `${posted} alert${posted === 1 ? "" : "s"} posted`,
      `${skipped} already posted (skipped by the ledger)`,
      ...(refused > 0 ? [`${refused} refused by Slack for good (see the log)`] : []),
      ...(deadAgain > 0 ? [`${deadAgain} dead-lettered again`] : []),
      ...(pending > 0 ? [`${pending} still queued`] : []),
    ];
    ctx.out(`redrive: ${parts.join(", ")}`);
    if (pending > 0 || deadAgain > 0) {
      ctx.note("respondent-notifier: some alerts are still not delivered; they are kept (see `dlq list`)");
      return EXIT_FAILURE;
    }
    if (refused > 0) {
      ctx.note("respondent-notifier: Slack refused some alerts for good (see the log; `doctor` checks the channels)");
      return EXIT_FAILURE;
    }
    return EXIT_OK;
  });
}

async function redriveSqs(ctx: CliContext, dlqUrl: string, wait: boolean): Promise<number> {
  return withPlatform(ctx, { needs: { deadLetters: true } }, (platform) =>
    startSqsRedrive(ctx, deadLetterQueue(platform), dlqUrl, wait),
  );
}

async function startSqsRedrive(
  ctx: CliContext,
  queue: ReturnType<typeof deadLetterQueue>,
  dlqUrl: string,
  wait: boolean,
): Promise<number> {
  try {
    const count = await queue.approximateCount();
    if (count === 0) {
      ctx.out(`no dead letters in ${dlqUrl}: nothing to redrive`);
      return EXIT_OK;
    }
    const { sourceArn } = await queue.startRedrive();
    ctx.out(`redrive started: about ${count} messages go back to the notifier's queue (${REDRIVE_IS_SAFE})`);
    if (!wait) {
      ctx.out(`follow it with: aws sqs list-message-move-tasks --source-arn ${sourceArn}`);
      return EXIT_OK;
    }
    const final = await followMoveTask(queue, sourceArn, {
      timeoutMs: MOVE_TASK_TIMEOUT_MS,
      onProgress: (progress) =>
        ctx.progress.update(`… ${progress.moved} of ${progress.toMove ?? count} messages moved (${progress.status})`),
    });
    ctx.progress.done();
    if (final?.status === "COMPLETED") {
      ctx.out(`redrive done: ${final.moved} messages moved back; the notifier delivers them now`);
      return EXIT_OK;
    }
    if (final?.status === "FAILED" || final?.status === "CANCELLED") {
      ctx.note(
        `respondent-notifier: redrive ${final.status.toLowerCase()}: ${final.failureReason ?? "no reason given"}`,
      );
      return EXIT_FAILURE;
    }
    ctx.out(
      `redrive still running (${final?.moved ?? 0} moved so far); follow it with: aws sqs list-message-move-tasks --source-arn ${sourceArn}`,
    );
    return EXIT_OK;
  } finally {
    ctx.progress.done();
  }
}
