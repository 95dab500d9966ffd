import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import type { LambdaFunctionURLEvent } from "aws-lambda";
import { powertoolsLog, powertoolsMetrics, publishAlarmedMetrics } from "../../src/adapters/observability.ts";
import { awsPlatform } from "../../src/app/aws.ts";
import { composeHttpRoutes } from "../../src/app/compose.ts";
import { loadHttpLambdaConfig } from "../../src/config.ts";
import { type AnswerStream, serveFunctionUrl } from "../../src/http/function-url.ts";
import type { RouteAnswer } from "../../src/http/route.ts";

// Built once per container: warm invocations reuse clients and the cached secrets.
const config = loadHttpLambdaConfig(process.env);
const logger = new Logger();
const metrics = new Metrics();
const log = powertoolsLog(logger);
const platform = awsPlatform(
  {
    table: config.table,
    queue: config.queueUrl ? { queueUrl: config.queueUrl, deadLetterQueueUrl: undefined } : undefined,
    respondent: { settings: config.respondent, secretArn: config.respondentSecretArn },
    slack: { settings: config.slack, secretArn: config.slackSecretArn },
    slackAdminUsers: config.slackAdminUsers,
  },
  { log, metrics: powertoolsMetrics(metrics) },
);
const routes = composeHttpRoutes(platform);

/** Writes a route's answer to the Function URL's response stream and ends it. */
function answerStream(responseStream: awslambda.HttpResponseStream): AnswerStream {
  return {
    send: (answer: RouteAnswer) =>
      new Promise<void>((resolve, reject) => {
        const stream = awslambda.HttpResponseStream.from(responseStream, {
          statusCode: answer.status,
          headers: answer.headers ?? {},
        });
        stream.on("error", reject);
        // Lambda needs a body write to send the status line; an empty answer still writes "".
        stream.end(answer.body ?? "", () => resolve());
      }),
  };
}

/**
 * Every inbound route (Slack's POST /slack/events, Respondent's POST /respondent/webhook) behind one Function URL in RESPONSE_STREAM
 * mode: the answer is streamed and ended at once (Slack wants it within 3 s), and the route's
 * slow work runs after it in the same invocation.
 */
export const handler = awslambda.streamifyResponse(
  async (event: LambdaFunctionURLEvent, responseStream, context): Promise<void> => {
    logger.addContext(context);
    try {
      await serveFunctionUrl(routes, event, answerStream(responseStream), log);
    } finally {
      publishAlarmedMetrics(metrics);
    }
  },
);
