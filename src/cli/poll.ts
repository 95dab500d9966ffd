import { DynamoStateStore } from "../adapters/dynamo/state-store.ts";
import { DynamoSubscriptionStore } from "../adapters/dynamo/subscription-store.ts";
import { RespondentApiClient } from "../adapters/respondent-api.ts";
import type { LocalConfig } from "../config.ts";
import type { Subscription } from "../domain/subscriptions.ts";
import { describeError, registerSecret } from "../errors.ts";
import { drainLocalQueue } from "../local/consumer.ts";
import { renderPostForTerminal } from "../local/render-terminal.ts";
import { DEMO_CHANNEL_ID, type LocalRuntime, startLocalRuntime } from "../local/runtime.ts";
import type { EventQueue } from "../ports.ts";
import { systemClock } from "../ports.ts";
import { type PollPorts, type PollProgress, type PollReport, poll } from "../usecases/poll.ts";
import { configWithSecrets, requireLocalTarget, withTable } from "./environment.ts";
import type { CliContext } from "./main.ts";
import { describeEvent, describeWouldAlert, summarizePoll } from "./output.ts";

const EXIT_OK = 0;
const EXIT_FAILURE = 1;

/** How long `poll --once` keeps retrying queued alerts (e.g. after a Slack 429) before exiting. */
const DELIVERY_DEADLINE_MS = 60_000;

/** Starts the local pipeline with the deployed secrets read in (when their ARNs are set). */
export async function openRuntime(context: CliContext): Promise<{ runtime: LocalRuntime; config: LocalConfig }> {
  const config = await configWithSecrets(context);
  const runtime = await startLocalRuntime(config, {
    log: context.log,
    metrics: context.metrics,
    onFakeSlackPost: (post) => {
      context.out(renderPostForTerminal({ ...post, color: context.color }));
    },
  });
  for (const line of runtime.embedded) context.log.info(`using embedded ${line}`);
  return { runtime, config };
}

/**
 * With no Slack workspace and no subscription, a newcomer would see nothing: alert every
 * project to the fake Slack's demo channel for this run. It is never stored, so it cannot
 * outlive the demo once real subscriptions or a real token exist.
 */
async function useDemoSubscriptionWhenEmpty(
  runtime: LocalRuntime,
  config: LocalConfig,
  context: CliContext,
): Promise<void> {
  if (config.slackBotToken) return;
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

/** `… page 3, 150 conversations checked`, with the project when only some are polled. */
export function pollProgressLine(progress: PollProgress): string {
  const scope = progress.scope === "*" ? "" : `project ${progress.scope} `;
  return `… ${scope}page ${progress.page}, ${progress.conversationsChecked} conversations checked`;
}

async function pollAndDeliver(
  runtime: LocalRuntime,
  context: CliContext,
  options: { dryRun: boolean; pageProgress: boolean },
): Promise<PollReport> {
  const { dryRun } = options;
  const postedBefore = context.metrics.get("AlertsPosted");
  let report: PollReport;
  try {
    report = await pollWithProgress(runtime.pollPorts, context, { dryRun, pageProgress: options.pageProgress });
  } catch (error) {
    if (!dryRun) await runtime.observePoll({ error });
    throw error;
  }
  if (dryRun) {
    printDryRun(report, context);
    return report;
  }
  // Tells OPS_SLACK_CHANNEL when polling starts failing or recovers (no-op without it).
  await runtime.observePoll({ report });
  await deliverQueued(runtime, context, Date.now() + DELIVERY_DEADLINE_MS);
  context.out(summarizePoll(report, context.metrics.get("AlertsPosted") - postedBefore));
  return report;
}

async function pollWithProgress(
  ports: PollPorts,
  context: CliContext,
  options: { dryRun: boolean; pageProgress: boolean },
): Promise<PollReport> {
  try {
    return await poll(
      {
        ...ports,
        onEvent: (event) => context.out(describeEvent(event)),
        ...(options.pageProgress
          ? { onProgress: (progress: PollProgress) => context.progress.update(pollProgressLine(progress)) }
          : {}),
      },
      { dryRun: options.dryRun },
    );
  } finally {
    context.progress.done();
  }
}

function printDryRun(report: PollReport, context: CliContext): void {
  for (const event of report.events) for (const line of describeWouldAlert(event)) context.out(line);
  context.out(`${summarizePoll(report, undefined)} - dry run: nothing written, nothing posted`);
}

/** Delivers what is queued, retrying until nothing is left or the deadline passes; returns what is left. */
export async function deliverQueued(runtime: LocalRuntime, context: CliContext, deadline: number): Promise<number> {
  try {
    for (;;) {
      await drainLocalQueue(runtime.queue, runtime.notifyPorts);
      const pending = await runtime.queue.pendingCount();
      if (pending === 0 || Date.now() >= deadline) return pending;
      const left = Math.ceil((deadline - Date.now()) / 1000);
      context.progress.update(`… ${pending} alerts wait for Slack; retrying for up to ${left} s more`);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  } finally {
    context.progress.done();
  }
}

export async function runPollOnce(context: CliContext, options: { dryRun: boolean }): Promise<number> {
  if (!options.dryRun) {
    requireLocalTarget(
      context,
      "poll --once",
      "the deployed poller runs on its schedule; use `poll --once --dry-run` to preview what it would alert",
    );
  }
  if (context.operator().target === "aws") return runDeployedDryRun(context);
  const { runtime, config } = await openRuntime(context);
  try {
    await useDemoSubscriptionWhenEmpty(runtime, config, context);
    if (runtime.simulator) {
      // A fresh simulator has only history; let a few participants write so the run shows alerts.
      const replies = runtime.simulator.simulateReplies(3);
      context.log.info(`simulator: ${replies} participants replied since the last run`);
    }
    const deadBefore = options.dryRun ? 0 : (await runtime.queue.deadLetters()).length;
    // Alerts left from an earlier run (e.g. Slack was down) go first, in order.
    const leftover = await runtime.queue.pendingCount();
    if (leftover > 0 && !options.dryRun) {
      context.log.info(`delivering ${leftover} alerts queued by an earlier run`);
      await deliverQueued(runtime, context, Date.now() + DELIVERY_DEADLINE_MS);
    }
    const report = await pollAndDeliver(runtime, context, { dryRun: options.dryRun, pageProgress: true });
    const pending = options.dryRun ? 0 : await runtime.queue.pendingCount();
    const deadLettered = options.dryRun ? 0 : (await runtime.queue.deadLetters()).length - deadBefore;
    return exitCodeOf(report, { pending, deadLettered }, context);
  } finally {
    await runtime.close();
  }
}

function exitCodeOf(
  report: PollReport,
  delivery: { pending: number; deadLettered: number },
  context: CliContext,
): number {
  const { pending, deadLettered } = delivery;
  const failure = report.failures[0];
  if (failure) {
    context.note(`respondent-notifier: poll incomplete: ${failure.reason}`);
    return EXIT_FAILURE;
  }
  if (pending > 0) {
    context.note(
      `respondent-notifier: ${pending} alerts are still queued (Slack did not accept them in time); they are kept and delivered by the next run`,
    );
    return EXIT_FAILURE;
  }
  if (deadLettered > 0) {
    context.note(
      `respondent-notifier: ${deadLettered} alert${deadLettered === 1 ? "" : "s"} failed delivery too often and went to the dead letters: see \`respondent-notifier dlq list\`, re-send with \`dlq redrive\``,
    );
    return EXIT_FAILURE;
  }
  return EXIT_OK;
}

/** Nothing is queued in a dry run; a send would be a bug, and must not reach any queue. */
const refusingQueue: EventQueue = {
  sendEvents: async () => {
    throw new Error("a dry run never queues events");
  },
};

/**
 * `poll --once --dry-run` against the deployed stack: the deployed table's subscriptions and
 * conversation state, the real API with the deployed credentials, and nothing written.
 */
async function runDeployedDryRun(context: CliContext): Promise<number> {
  const config = await configWithSecrets(context);
  const credentials = config.respondentCredentials;
  if (!credentials) throw new Error("configWithSecrets returned no Respondent credentials for NOTIFIER_TARGET=aws");
  registerSecret(credentials.apiKey);
  registerSecret(credentials.apiSecret);
  return withTable(context, "use", async (table) => {
    context.log.info(`dry run against the deployed table ${table.where}`);
    const report = await pollWithProgress(
      {
        api: new RespondentApiClient({ ...config.respondent, credentials: async () => credentials, log: context.log }),
        state: new DynamoStateStore(table.client, table.settings.tableName),
        subscriptions: new DynamoSubscriptionStore(table.client, table.settings.tableName, { log: context.log }),
        queue: refusingQueue,
        clock: systemClock,
        log: context.log,
        metrics: context.metrics,
      },
      context,
      { dryRun: true, pageProgress: true },
    );
    printDryRun(report, context);
    return exitCodeOf(report, { pending: 0, deadLettered: 0 }, context);
  });
}

export async function runStart(context: CliContext): Promise<number> {
  requireLocalTarget(context, "start", "the deployed poller and notifier already run in AWS");
  const { runtime, config } = await openRuntime(context);
  const intervalMs = config.pollIntervalSeconds * 1000;
  let stopAutoReplies: (() => void) | undefined;
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
  try {
    await useDemoSubscriptionWhenEmpty(runtime, config, context);
    if (runtime.simulator) {
      // So the very first cycle already shows alerts; then the simulator keeps people writing.
      const replies = runtime.simulator.simulateReplies(2);
      context.log.info(`simulator: ${replies} participants replied; more will write while this runs`);
      stopAutoReplies = runtime.simulator.startAutoReplies({ everyMs: Math.max(2_000, intervalMs / 3) });
    }
    context.log.info(`polling every ${intervalMs / 1000} s (POLL_INTERVAL_SECONDS); Ctrl-C to stop`);
    while (!stopping) {
      try {
        // Each cycle's summary line is the progress here; a line per page would flood the log.
        const report = await pollAndDeliver(runtime, context, { dryRun: false, pageProgress: false });
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
