import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import type { Context } from "aws-lambda";
import { z } from "zod";
import { powertoolsLog, powertoolsMetrics, publishAlarmedMetrics } from "../../src/adapters/observability.ts";
import { awsPlatform } from "../../src/app/aws.ts";
import { composePollChain, composePoller } from "../../src/app/compose.ts";
import { loadPollerLambdaConfig } from "../../src/config.ts";
import { parseTick } from "../../src/domain/poll-chain.ts";
import { describeError, PollIncompleteError } from "../../src/errors.ts";
import { type PollChainPorts, runPollTick, watchPollChain } from "../../src/usecases/poll-chain.ts";
import { firstProblem, type PollCycleResult, pollCycle } from "../../src/usecases/poll-cycle.ts";
import { describeLeaseHolder, SINGLE_POLL_LEASE_MS, withPollLease } from "../../src/usecases/poll-lease.ts";

// Built once per container: warm invocations reuse clients, the cached secret and the seen-cache.
const config = loadPollerLambdaConfig(process.env);
const logger = new Logger();
const metrics = new Metrics();
// Only the alarmed counts become CloudWatch metrics; the rest go into one `counts` line per invocation.
const counts = powertoolsMetrics(metrics);
const platform = awsPlatform(
  {
    table: config.table,
    queue: { queueUrl: config.queueUrl, deadLetterQueueUrl: undefined, pollTickQueueUrl: config.pollTickQueueUrl },
    respondent: { settings: config.respondent, secretArn: config.respondentSecretArn },
    // The Slack token is read only to tell the ops channel about the poller's health.
    slack: config.ops && { settings: config.ops.slack, secretArn: config.ops.slackSecretArn },
    opsChannelId: config.ops?.channelId,
  },
  { log: powertoolsLog(logger), metrics: counts },
);
const poller = composePoller(platform, { feed: config.feed });
/** Below 60 s each poll is its own invocation, chained through the tick queue (src/usecases/poll-chain.ts). */
const chain = config.pollIntervalSeconds < 60 ? composePollChain(platform) : undefined;
const chainSettings = { intervalSeconds: config.pollIntervalSeconds };

export interface PollerResult {
  polls: number;
  newReplies: number;
  eventsQueued: number;
  skipped?: true;
}

/** What the tick queue's event source hands over (batch size 1; more records are handled in turn). */
const sqsEventSchema = z.object({
  Records: z.array(z.object({ eventSource: z.literal("aws:sqs"), messageId: z.string(), body: z.string() })).min(1),
});

/**
 * Three ways in: a tick from the chain's queue (one poll); the schedule below 60 s (the chain's
 * watchdog); the schedule at 60 s or more (one poll under the poll lease).
 */
export async function handler(event: unknown, context: Context): Promise<PollerResult> {
  logger.addContext(context);
  try {
    const ticks = sqsEventSchema.safeParse(event);
    if (ticks.success) return await onTicks(ticks.data.Records);
    if (chain) return await onWatchdogMinute(chain);
    return await onScheduledPoll(context);
  } finally {
    const logged = counts.takeLogged();
    if (Object.keys(logged).length > 0) logger.info("counts", { counts: logged });
    publishAlarmedMetrics(metrics);
  }
}

async function onTicks(records: z.infer<typeof sqsEventSchema>["Records"]): Promise<PollerResult> {
  const results: PollCycleResult[] = [];
  for (const record of records) {
    const parsed = parseTick(record.body);
    if ("problem" in parsed) {
      // Nothing to retry: a message that is not a tick can never become one. The watchdog keeps the chain going.
      logger.error("ignored a message on the poll tick queue", {
        messageId: record.messageId,
        problem: parsed.problem,
      });
      continue;
    }
    if (!chain) {
      logger.warn("ignored a poll tick: POLL_INTERVAL_SECONDS is 60 or more, so no chain runs", {
        messageId: record.messageId,
      });
      continue;
    }
    const outcome = await runPollTick(chain, chainSettings, parsed.tick, runPoll);
    if (outcome.ran) results.push(outcome.value);
  }
  if (results.length === 0) return { ...summary([]), skipped: true };
  // Failing the invocation is what the NoSuccessfulPoll alarm sees. The next tick is already sent;
  // the event source's redelivery of this one finds the chain moved on and does nothing.
  throwIfIncomplete(results);
  return summary(results);
}

async function onWatchdogMinute(chain: PollChainPorts): Promise<PollerResult> {
  try {
    const outcome = await watchPollChain(chain, chainSettings);
    if (outcome.chain === "alive") {
      logger.debug("poll chain alive", { chainId: outcome.state.chainId, seq: outcome.state.seq });
    }
    return { ...summary([]), skipped: true };
  } catch (error) {
    // The chain cannot be checked or started: poll once now, so polling goes on at least every minute.
    logger.error("could not check or start the poll chain; polling once from the schedule", {
      reason: describeError(error),
    });
    await runPoll(); // its own failures are in its log lines; the chain's error is what this minute reports
    throw error;
  }
}

async function onScheduledPoll(context: Context): Promise<PollerResult> {
  // The lease runs out by itself before the next scheduled tick: an overlapping or duplicated
  // tick skips rather than polling the same minute again. One conditional write a tick; no release.
  const leased = await withPollLease(
    poller.lease,
    {
      holder: context.awsRequestId,
      until: new Date(Date.now() + Math.min(context.getRemainingTimeInMillis(), SINGLE_POLL_LEASE_MS)),
      log: poller.poll.log,
      keepUntilEnd: true,
    },
    runPoll,
  );
  if (leased.skipped) {
    logger.info("poll skipped: another poll is running", { reason: describeLeaseHolder(leased.heldBy) });
    return { ...summary([]), skipped: true };
  }
  throwIfIncomplete([leased.value]);
  return summary([leased.value]);
}

async function runPoll(): Promise<PollCycleResult> {
  const result = await pollCycle(poller);
  if (result.report) {
    const { events: _events, failures, ...figures } = result.report;
    // A feed poll that found nothing is most polls (8,640 a day at 10 s): its figures stay at
    // debug, its counts are in the `counts` line anyway. Sweeps, news and failures stay at info.
    const quiet =
      figures.source === "feed" && figures.newReplies === 0 && figures.eventsQueued === 0 && failures.length === 0;
    (quiet ? logger.debug : logger.info).call(logger, "poll finished", { ...figures, failures: failures.length });
  }
  return result;
}

function throwIfIncomplete(results: readonly PollCycleResult[]): void {
  const first = results.find((result) => firstProblem(result) !== undefined);
  if (first) {
    // The next tick (or the next scheduled minute) retries from the stored state.
    throw new PollIncompleteError(`poll incomplete: ${firstProblem(first)}; the next tick retries`);
  }
}

function summary(results: readonly PollCycleResult[]): PollerResult {
  const reports = results.flatMap((result) => (result.report ? [result.report] : []));
  return {
    polls: results.length,
    newReplies: reports.reduce((sum, report) => sum + report.newReplies, 0),
    eventsQueued: reports.reduce((sum, report) => sum + report.eventsQueued, 0),
  };
}
