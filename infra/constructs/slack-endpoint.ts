import { Duration } from "aws-cdk-lib";
import { type FunctionUrl, FunctionUrlAuthType, InvokeMode } from "aws-cdk-lib/aws-lambda";
import type { NodejsFunction } from "aws-cdk-lib/aws-lambda-nodejs";
import { Construct } from "constructs";
import { DEFAULT_SLACK_API_URL } from "../../src/config.ts";
import type { LogRetentionDays } from "../settings.ts";
import type { EventQueue } from "./event-queue.ts";
import { ServiceFunction } from "./service-function.ts";
import type { ServiceSecret } from "./service-secret.ts";
import type { StateTable } from "./state-table.ts";

export const HTTP_SERVICE_NAME = "http";
/** Slack's answer goes out at once; the slow work after it (Respondent, Slack) has retries and timeouts well inside this. */
export const HTTP_TIMEOUT = Duration.seconds(30);
export const HTTP_MEMORY_MB = 256;

export interface SlackEndpointProps {
  entry: string;
  respondentApiUrl: string;
  slackAdminUsers: readonly string[];
  logRetentionDays: LogRetentionDays;
  metricsNamespace: string;
  table: StateTable;
  /** A Respondent webhook's hint queues the new replies it finds, as the poller does. */
  queue: EventQueue;
  respondentSecret: ServiceSecret;
  slackSecret: ServiceSecret;
}

/**
 * The http function: every inbound route (Slack's POST /slack/events, Respondent's POST
 * /respondent/webhook) behind one Lambda Function URL. The URL's auth type is NONE because Slack cannot sign AWS requests: every request is
 * verified in the handler with the app's signing secret (Bolt's verification) before anything
 * else, and refused with 401 otherwise. RESPONSE_STREAM lets it answer Slack at once and do the
 * slow work afterwards in the same invocation.
 */
export class SlackEndpoint extends Construct {
  readonly function: NodejsFunction;
  readonly url: FunctionUrl;

  constructor(scope: Construct, id: string, props: SlackEndpointProps) {
    super(scope, id);

    const { function: fn, role } = new ServiceFunction(this, "Http", {
      entry: props.entry,
      description: "Slack's Request URL: the alert's buttons, the Reply modal and /respondent, verified by signature",
      memorySize: HTTP_MEMORY_MB,
      timeout: HTTP_TIMEOUT,
      serviceName: HTTP_SERVICE_NAME,
      metricsNamespace: props.metricsNamespace,
      logRetentionDays: props.logRetentionDays,
      environment: {
        SLACK_SECRET_ARN: props.slackSecret.secret.secretArn,
        SLACK_API_URL: DEFAULT_SLACK_API_URL,
        RESPONDENT_SECRET_ARN: props.respondentSecret.secret.secretArn,
        RESPONDENT_API_URL: props.respondentApiUrl,
        TABLE_NAME: props.table.table.tableName,
        QUEUE_URL: props.queue.queue.queueUrl,
        ...(props.slackAdminUsers.length > 0 ? { SLACK_ADMIN_USERS: props.slackAdminUsers.join(",") } : {}),
      },
    });
    this.function = fn;

    props.slackSecret.grantRead(role);
    props.respondentSecret.grantRead(role);
    props.table.grantSlackEndpointAccess(role);
    props.queue.grantSend(role);
    this.url = fn.addFunctionUrl({ authType: FunctionUrlAuthType.NONE, invokeMode: InvokeMode.RESPONSE_STREAM });
  }
}
