import {
  composeHttpRoutes,
  composeNotifier,
  composePoller,
  deadLetterQueue,
  deliveryQueue,
  projectNames,
  subscriptionStore,
} from "../app/compose.ts";
import { DEMO_CHANNEL_ID } from "../app/local.ts";
import type { OperatorPlatform } from "../app/operator.ts";
import { describeError, EXIT_FAILURE, EXIT_OK, UsageError } from "../errors.ts";
import { RESPONDENT_WEBHOOK_PATH } from "../http/respondent-webhook.ts";
import { type HttpServer, serveRoutes } from "../http/server.ts";
import { SLACK_EVENTS_PATH } from "../http/slack-events.ts";
import { renderPostForTerminal } from "../local/render-terminal.ts";
import { drainQueue } from "../usecases/deliver.ts";
import type { PollProgress, PollReport } from "../usecases/poll.ts";
import { type PollCyclePorts, type PollCycleResult, pollCycle } from "../usecases/poll-cycle.ts";
import { type CliContext, type PlatformRequest, withPlatform } from "./context.ts";
import { describeEvent, describeWouldAlert, summarizePoll } from "./output.ts";

/** How long `poll --once` keeps retrying queued alerts (e.g. after a Slack 429) before exiting. */
const DELIVERY_DEADLINE_MS = 60_000;

/** The local pipeline: Respondent (or the simulator), the queue, Slack (or the fake Slack printing alerts here). */
export function pipelineRequest(context: CliContext, options: { queue?: boolean } = {}): PlatformRequest {
  return {
    needs: { respondent: true, slack: true, queue: options.queue ?? true },
    onFakeSlackPost: (post) => context.out(renderPostForTerminal({ ...post, color: context.color })),
  };
}

/** The local pipeline (start, poll --once, local dlq redrive) runs only against this machine's table. */
export function requireLocalTarget(context: CliContext, what: string, instead: string): void {
  if (context.operator().target === "aws") {
    throw new UsageError(`${what} runs the local pipeline and cannot run with NOTIFIER_TARGET=aws: ${instead}`);
  }
}

/** `… page 3, 150 conversations checked`, with the project when only some are polled. */
export function pollProgressLine(progress: PollProgress): string {
  const scope = progress.scope === "*" ? "" : `project ${progress.scope} `;
  return `… ${scope}page ${progress.page}, ${progress.conversationsChecked} conversations checked`;
}

/** Says so when the demo subscription stands in for stored ones (no Slack workspace, nothing stored). */
async function announceDemoSubscription(platform: OperatorPlatform, context: CliContext): Promise<void> {
  if (!platform.fallbackSubscriptions) return;
  if ((await subscriptionStore(platform).list()).length > 0) return;
  context.log.info(
    `no subscription stored: this run alerts every project to the demo channel ${DEMO_CHANNEL_ID} (add your own with \`respondent-notifier subscriptions add\`)`,
  );
}

/** One poll cycle with the CLI's output: each queued event as a line, page progress on the status line. */
async function pollWithOutput(
  poller: PollCyclePorts,
  context: CliContext,
  options: { dryRun: boolean; pageProgress: boolean; full?: boolean },
): Promise<PollCycleResult> {
  const names = poller.poll.projectNames;
  poller.poll.onEvent = (event) => context.out(describeEvent(event, names && ((id) => names.labelFor(id))));
  poller.poll.onProgress = options.pageProgress
    ? (progress) => context.progress.update(pollProgressLine(progress))
    : undefined;
  try {
    return await pollCycle(poller, { dryRun: options.dryRun, full: options.full === true });
  } finally {
    context.progress.done();
  }
}

/** What a dry run would alert, with project names from the cache or one short lookup each (nothing written). */
async function printDryRun(report: PollReport, platform: OperatorPlatform, context: CliContext): Promise<void> {
  const labels = await projectNames(platform, { writes: false }).labels(
    report.events.flatMap((event) => event.conversation.projectId ?? []),
  );
  const nameOf = (id: string) => labels.get(id);
  for (const event of report.events) for (const line of describeWouldAlert(event, nameOf)) context.out(line);
  context.out(`${summarizePoll(report, undefined)} - dry run: nothing written, nothing posted`);
}

/** Delivers what is queued, retrying until nothing is left or the deadline passes; returns what is left. */
export async function deliverQueued(
  platform: OperatorPlatform,
  context: CliContext,
  deadline: number,
): Promise<number> {
  try {
    const { pending } = await drainQueue(deliveryQueue(platform), composeNotifier(platform), {
      waitUntil: deadline,
      onWaiting: (waiting, secondsLeft) =>
        context.progress.update(`… ${waiting} alerts wait for Slack; retrying for up to ${secondsLeft} s more`),
    });
    return pending;
  } finally {
    context.progress.done();
  }
}

export async function runPollOnce(context: CliContext, options: { dryRun: boolean; full?: boolean }): Promise<number> {
  const full = options.full === true;
  if (context.operator().target === "aws") {
    if (!options.dryRun) {
      requireLocalTarget(
        context,
        "poll --once",
        "the deployed poller runs on its schedule; use `poll --once --dry-run` to preview what it would alert",
      );
    }
    return runDeployedDryRun(context, full);
  }
  // A dry run queues nothing: it needs no queue.
  return withPlatform(context, pipelineRequest(context, { queue: !options.dryRun }), async (platform) => {
    await announceDemoSubscription(platform, context);
    if (platform.simulator) {
      // A fresh simulator has only history; let a few participants write so the run shows alerts.
      const replies = platform.simulator.simulateReplies(3);
      context.log.info(`simulator: ${replies} participants replied since the last run`);
    }
    const poller = composePoller(platform, { dryRun: options.dryRun, feed: context.config().feed });
    if (options.dryRun) {
      const result = await pollWithOutput(poller, context, { dryRun: true, pageProgress: true, full });
      if (result.report) await printDryRun(result.report, platform, context);
      return exitCodeOf(result, { pending: 0, deadLettered: 0 }, context);
    }
    const deadLetters = deadLetterQueue(platform);
    const deadBefore = await deadLetters.approximateCount();
    const deadline = () => Date.now() + DELIVERY_DEADLINE_MS;
    // Alerts left from an earlier run (e.g. Slack was down) go first, in order.
    const leftover = await deliveryQueue(platform).pendingCount();
    if (leftover > 0) {
      context.log.info(`delivering ${leftover} alerts queued by an earlier run`);
      await deliverQueued(platform, context, deadline());
    }
    const postedBefore = context.metrics.get("AlertsPosted");
    const result = await pollWithOutput(poller, context, { dryRun: false, pageProgress: true, full });
    const pending = await deliverQueued(platform, context, deadline());
    if (result.report) context.out(summarizePoll(result.report, context.metrics.get("AlertsPosted") - postedBefore));
    const deadLettered = (await deadLetters.approximateCount()) - deadBefore;
    return exitCodeOf(result, { pending, deadLettered }, context);
  });
}

function exitCodeOf(
  result: PollCycleResult,
  delivery: { pending: number; deadLettered: number },
  context: CliContext,
): number {
  const { pending, deadLettered } = delivery;
  if (!result.report) throw result.error;
  const failure = result.report.failures[0];
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
      `respondent-notifier: ${deadLettered} alert${deadLettered === 1 ? "" : "s"} could not be delivered and went to the dead letters: see \`respondent-notifier dlq list\`, re-send with \`dlq redrive\``,
    );
    return EXIT_FAILURE;
  }
  return EXIT_OK;
}

/**
 * `poll --once --dry-run` against the deployed stack: the deployed table's subscriptions and
 * conversation state, the real API with the deployed credentials, and nothing written.
 */
async function runDeployedDryRun(context: CliContext, full: boolean): Promise<number> {
  return withPlatform(context, { needs: { respondent: true } }, async (platform) => {
    context.log.info(`dry run against the deployed table ${platform.table.where}`);
    const result = await pollWithOutput(
      composePoller(platform, { dryRun: true, feed: context.config().feed }),
      context,
      {
        dryRun: true,
        pageProgress: true,
        full,
      },
    );
    if (result.report) await printDryRun(result.report, platform, context);
    return exitCodeOf(result, { pending: 0, deadLettered: 0 }, context);
  });
}

export async function runStart(context: CliContext): Promise<number> {
  requireLocalTarget(context, "start", "the deployed poller and notifier already run in AWS");
  const intervalMs = context.config().pollIntervalSeconds * 1000;
  return withPlatform(context, pipelineRequest(context), async (platform) => {
    let stopAutoReplies: (() => void) | undefined;
    let server: HttpServer | undefined;
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
      server = await serveSlackRequests(platform, context);
      await announceDemoSubscription(platform, context);
      if (platform.simulator) {
        // So the very first cycle already shows alerts; then the simulator keeps people writing.
        const replies = platform.simulator.simulateReplies(2);
        context.log.info(`simulator: ${replies} participants replied; more will write while this runs`);
        stopAutoReplies = platform.simulator.startAutoReplies({ everyMs: Math.max(2_000, intervalMs / 3) });
      }
      context.log.info(`polling every ${intervalMs / 1000} s (POLL_INTERVAL_SECONDS); Ctrl-C to stop`);
      // One poller for the whole run: its seen-cache stays warm from one cycle to the next.
      const poller = composePoller(platform, { feed: context.config().feed });
      while (!stopping) {
        const postedBefore = context.metrics.get("AlertsPosted");
        // Each cycle's summary line is the progress here; a line per page would flood the log.
        const result = await pollWithOutput(poller, context, { dryRun: false, pageProgress: false });
        await deliverQueued(platform, context, Date.now() + DELIVERY_DEADLINE_MS);
        if (result.report) {
          context.out(summarizePoll(result.report, context.metrics.get("AlertsPosted") - postedBefore));
          for (const failure of result.report.failures.slice(0, 3)) {
            context.log.error(`poll incomplete: ${failure.reason}`);
          }
        } else {
          context.log.error(`poll failed: ${describeError(result.error)}; retrying next cycle`);
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, intervalMs);
        });
      }
      return EXIT_OK;
    } finally {
      stopAutoReplies?.();
      await server?.close();
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
    }
  });
}

/**
 * Serves Slack's Request URL (POST /slack/events) on HTTP_PORT, 127.0.0.1 only. With the embedded
 * fake Slack, its page's buttons send their signed interactions here; with a real workspace, a
 * tunnel (e.g. `cloudflared tunnel --url http://127.0.0.1:3000`) is how Slack reaches it.
 */
async function serveSlackRequests(platform: OperatorPlatform, context: CliContext): Promise<HttpServer> {
  const server = await serveRoutes({
    port: context.config().httpPort,
    routes: composeHttpRoutes(platform),
    log: context.log,
  });
  context.out(`listening on ${server.url}`);
  if (platform.simulator && platform.queue) {
    // The simulator delivers its MESSAGES.CREATED webhooks here, as Respondent would to the Function URL.
    platform.simulator.registerWebhook(`${server.url}${RESPONDENT_WEBHOOK_PATH}`);
    context.log.info(`Respondent webhooks: the simulator delivers them to ${server.url}${RESPONDENT_WEBHOOK_PATH}`);
  }
  if (platform.fakeSlack) {
    platform.fakeSlack.setRequestUrl(`${server.url}${SLACK_EVENTS_PATH}`);
  } else if (!(await platform.slack?.signingSecret?.().catch(() => undefined))) {
    context.log.warn(
      `SLACK_SIGNING_SECRET is not set: every request to ${server.url}${SLACK_EVENTS_PATH} is refused (buttons and /respondent do nothing)`,
    );
  } else {
    context.log.info(`Slack's Request URL (interactivity and /respondent): <your tunnel>${SLACK_EVENTS_PATH}`);
  }
  return server;
}
