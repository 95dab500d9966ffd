import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import type { Context } from "aws-lambda";
import { powertoolsLog, powertoolsMetrics } from "../../src/adapters/observability.ts";
import { awsPlatform } from "../../src/app/aws.ts";
import { composePoller } from "../../src/app/compose.ts";
import { loadPollerLambdaConfig } from "../../src/config.ts";
import { PollIncompleteError } from "../../src/errors.ts";
import { firstProblem, pollCycle } from "../../src/usecases/poll-cycle.ts";
import { pollRepeatedly, sleep } from "../../src/usecases/poll-loop.ts";

// Built once per container: warm invocations reuse clients, the cached secret and the seen-cache.
const config = loadPollerLambdaConfig(process.env);
const logger = new Logger();
const metrics = new Metrics();
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
    { log: powertoolsLog(logger), metrics: powertoolsMetrics(metrics) },
  ),
  { feed: config.feed },
);

export async function handler(
  _event: unknown,
  context: Context,
): Promise<{ polls: number; newReplies: number; eventsQueued: number }> {
  logger.addContext(context);
  try {
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
  } finally {
    metrics.publishStoredMetrics();
  }
}
