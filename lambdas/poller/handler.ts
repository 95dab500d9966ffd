import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import type { Context } from "aws-lambda";
import { powertoolsLog, powertoolsMetrics } from "../../src/adapters/observability.ts";
import { awsPlatform } from "../../src/app/aws.ts";
import { composePoller } from "../../src/app/compose.ts";
import { loadPollerLambdaConfig } from "../../src/config.ts";
import { PollIncompleteError } from "../../src/errors.ts";
import { firstProblem, pollCycle } from "../../src/usecases/poll-cycle.ts";
import { describeLeaseHolder, SINGLE_POLL_LEASE_MS, withPollLease } from "../../src/usecases/poll-lease.ts";
import { pollRepeatedly, sleep } from "../../src/usecases/poll-loop.ts";

// Built once per container: warm invocations reuse clients, the cached secret and the seen-cache.
const config = loadPollerLambdaConfig(process.env);
const logger = new Logger();
const metrics = new Metrics();
// Only the alarmed counts become CloudWatch metrics; the rest go into one `counts` line per invocation.
const counts = powertoolsMetrics(metrics);
const poller = composePoller(
  awsPlatform(
    {
      table: config.table,
      queue: { queueUrl: config.queueUrl, deadLetterQueueUrl: undefined },
      respondent: { settings: config.respondent, secretArn: config.respondentSecretArn },
      // The Slack token is read only to tell the ops channel about the poller's health.
      slack: config.ops && { settings: config.ops.slack, secretArn: config.ops.slackSecretArn },
      opsChannelId: config.ops?.channelId,
    },
    { log: powertoolsLog(logger), metrics: counts },
  ),
  { feed: config.feed },
);

export async function handler(
  _event: unknown,
  context: Context,
): Promise<{ polls: number; newReplies: number; eventsQueued: number; skipped?: true }> {
  logger.addContext(context);
  try {
    // The lease covers this invocation (every poll of its minute when it loops) and runs out by
    // itself before the next scheduled tick: an overlapping or duplicated tick skips rather than
    // polling the same minute again. One conditional write a tick; no release needed.
    const remainingMs = context.getRemainingTimeInMillis();
    const holdMs = config.pollIntervalSeconds < 60 ? remainingMs : Math.min(remainingMs, SINGLE_POLL_LEASE_MS);
    const leased = await withPollLease(
      poller.lease,
      {
        holder: context.awsRequestId,
        until: new Date(Date.now() + holdMs),
        log: poller.poll.log,
        keepUntilEnd: true,
      },
      () => pollTick(context),
    );
    if (leased.skipped) {
      logger.info("poll skipped: another poll is running", { reason: describeLeaseHolder(leased.heldBy) });
      return { polls: 0, newReplies: 0, eventsQueued: 0, skipped: true };
    }
    return leased.value;
  } finally {
    const logged = counts.takeLogged();
    if (Object.keys(logged).length > 0) logger.info("counts", { counts: logged });
    metrics.publishStoredMetrics();
  }
}

async function pollTick(context: Context): Promise<{ polls: number; newReplies: number; eventsQueued: number }> {
  const results = await pollRepeatedly(
    async () => {
      const result = await pollCycle(poller);
      if (result.report) {
        const { events: _events, failures, ...figures } = result.report;
        logger.info("poll finished", { ...figures, failures: failures.length });
      }
      return result;
    },
    {
      intervalMs: config.pollIntervalSeconds * 1000,
      remainingMs: () => context.getRemainingTimeInMillis(),
      now: () => Date.now(),
      sleep,
      onStop: ({ polls }) => logger.warn("too close to the timeout for another poll this minute", { polls }),
    },
  );
  const incomplete = results.filter((result) => firstProblem(result) !== undefined);
  const first = incomplete[0];
  if (first) {
    // Failing the invocation is what the error alarm sees; the next tick retries from the stored state.
    throw new PollIncompleteError(
      `poll incomplete (${incomplete.length} of ${results.length} polls), first: ${firstProblem(first)}; the next tick retries`,
    );
  }
  const reports = results.flatMap((result) => (result.report ? [result.report] : []));
  return {
    polls: results.length,
    newReplies: reports.reduce((sum, report) => sum + report.newReplies, 0),
    eventsQueued: reports.reduce((sum, report) => sum + report.eventsQueued, 0),
  };
}
