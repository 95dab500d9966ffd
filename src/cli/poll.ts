import type { Subscription } from "../domain/subscriptions.ts";
import { describeError } from "../errors.ts";
import { drainLocalQueue } from "../local/consumer.ts";
import { renderPostForTerminal } from "../local/render-terminal.ts";
import { DEMO_CHANNEL_ID, type LocalRuntime, startLocalRuntime } from "../local/runtime.ts";
import { type PollReport, poll } from "../usecases/poll.ts";
import type { CliContext } from "./main.ts";
import { describeEvent, summarizePoll } from "./output.ts";

const EXIT_OK = 0;
const EXIT_FAILURE = 1;

/** How long `poll --once` keeps retrying queued alerts (e.g. after a Slack 429) before exiting. */
const DELIVERY_DEADLINE_MS = 60_000;

async function openRuntime(context: CliContext): Promise<LocalRuntime> {
  const runtime = await startLocalRuntime(context.config(), {
    log: context.log,
    metrics: context.metrics,
    onFakeSlackPost: (post) => {
      context.out(renderPostForTerminal({ ...post, color: context.color }));
    },
  });
  for (const line of runtime.embedded) context.log.info(`using embedded ${line}`);
  await useDemoSubscriptionWhenEmpty(runtime, context);
  return runtime;
}

/**
 * With no Slack workspace and no subscription, a newcomer would see nothing: alert every
 * project to the fake Slack's demo channel for this run. It is never stored, so it cannot
 * outlive the demo once real subscriptions or a real token exist.
 */
async function useDemoSubscriptionWhenEmpty(runtime: LocalRuntime, context: CliContext): Promise<void> {
  if (context.config().slackBotToken) return;
  const stored = await runtime.subscriptions.list();
  if (stored.length > 0) return;
  const demo: Subscription = {
    projectId: "*",
    channelId: DEMO_CHANNEL_ID,
    mentions: [],
    threadPerConversation: true,
    body: "full",
    paused: false,
    createdAt: runtime.pollPorts.clock.now().toISOString(),
  };
  runtime.pollPorts.subscriptions = { list: async () => [demo] };
  context.log.info(
    `no subscription stored: this run alerts every project to the demo channel ${DEMO_CHANNEL_ID} (add your own with \`respondent-notifier subscriptions add\`)`,
  );
}

async function pollAndDeliver(runtime: LocalRuntime, context: CliContext, dryRun: boolean): Promise<PollReport> {
  const postedBefore = context.metrics.get("AlertsPosted");
  const report = await poll(
    {
      ...runtime.pollPorts,
      onEvent: (event) => context.out(describeEvent(event)),
    },
    { dryRun },
  );
  if (dryRun) {
    for (const event of report.events)
      context.out(`(dry run) would alert ${describeEvent(event).replace(/^new reply: /, "")}`);
    context.out(`${summarizePoll(report, undefined)} - dry run: nothing written, nothing posted`);
    return report;
  }
  await deliverQueued(runtime, Date.now() + DELIVERY_DEADLINE_MS);
  context.out(summarizePoll(report, context.metrics.get("AlertsPosted") - postedBefore));
  return report;
}

async function deliverQueued(runtime: LocalRuntime, deadline: number): Promise<number> {
  for (;;) {
    await drainLocalQueue(runtime.queue, runtime.notifyPorts);
    const pending = await runtime.queue.pendingCount();
    if (pending === 0 || Date.now() >= deadline) return pending;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}

export async function runPollOnce(context: CliContext, options: { dryRun: boolean }): Promise<number> {
  const runtime = await openRuntime(context);
  try {
    if (runtime.simulator && !options.dryRun) {
      // A fresh simulator has only history; let a few participants write so the run shows alerts.
      const replies = runtime.simulator.simulateReplies(3);
      context.log.info(`simulator: ${replies} participants replied since the last run`);
    }
    // Alerts left from an earlier run (e.g. Slack was down) go first, in order.
    const leftover = await runtime.queue.pendingCount();
    if (leftover > 0 && !options.dryRun) {
      context.log.info(`delivering ${leftover} alerts queued by an earlier run`);
      await deliverQueued(runtime, Date.now() + DELIVERY_DEADLINE_MS);
    }
    const report = await pollAndDeliver(runtime, context, options.dryRun);
    const pending = options.dryRun ? 0 : await runtime.queue.pendingCount();
    const failure = report.failures[0];
    if (failure) {
      process.stderr.write(`respondent-notifier: poll incomplete: ${failure.reason}\n`);
      return EXIT_FAILURE;
    }
    if (pending > 0) {
      process.stderr.write(
        `respondent-notifier: ${pending} alerts are still queued (Slack did not accept them in time); they are kept and delivered by the next run\n`,
      );
      return EXIT_FAILURE;
    }
    return EXIT_OK;
  } finally {
    await runtime.close();
  }
}

export async function runStart(context: CliContext): Promise<number> {
  const runtime = await openRuntime(context);
  const intervalMs = context.config().pollIntervalSeconds * 1000;
  const stopAutoReplies = runtime.simulator?.startAutoReplies({ everyMs: Math.max(2_000, intervalMs / 3) });
  let stopping = false;
  let wake: (() => void) | undefined;
  const stop = () => {
    if (stopping) process.exit(EXIT_FAILURE);
    stopping = true;
    context.log.info("stopping after the current cycle (Ctrl-C again to force)");
    wake?.();
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  context.log.info(`polling every ${intervalMs / 1000} s; Ctrl-C to stop`);
  try {
    while (!stopping) {
      try {
        const report = await pollAndDeliver(runtime, context, false);
        for (const failure of report.failures.slice(0, 3)) context.log.error(`poll incomplete: ${failure.reason}`);
      } catch (error) {
        context.log.error(`poll failed: ${describeError(error)}; retrying next cycle`);
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, intervalMs);
      });
    }
    return EXIT_OK;
  } finally {
    stopAutoReplies?.();
    await runtime.close();
  }
}
