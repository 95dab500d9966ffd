import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { SQSClient } from "@aws-sdk/client-sqs";
import type { QueueSettings, RespondentClientSettings, SlackClientSettings } from "../config.ts";
import type { Subscription } from "../domain/subscriptions.ts";
import type {
  Clock,
  ConversationSource,
  EventQueue,
  Log,
  Metrics,
  RespondentCredentials,
  SlackPoster,
  StateStore,
} from "../ports.ts";

/**
 * What a runtime provides, whatever it is (the Lambdas in AWS, the CLI against this machine's
 * stand-ins or against the deployed stack, the bench, the tests): the clients and settings of
 * the services the notifier talks to. src/app/compose.ts builds every port from it, so that all
 * entry points run the same adapters with the same settings; only the platform differs.
 */
export interface Platform {
  table: { client: DynamoDBClient; name: string; where: string };
  /** Absent for commands that never queue (subscriptions, a dry run against the deployed stack). */
  queue: { client: SQSClient; urls: QueueSettings } | undefined;
  respondent:
    | {
        settings: RespondentClientSettings;
        credentials: () => Promise<RespondentCredentials>;
        /** The Respondent webhook's privateKey, for POST /respondent/webhook; undefined: deliveries are not signature-checked. */
        webhookSecret?: (() => Promise<string | undefined>) | undefined;
        /** How the client waits between retries and jitters them; tests replace both to stay fast and repeatable. */
        retryTiming?: { sleep?: (ms: number) => Promise<void>; random?: () => number };
      }
    | undefined;
  slack:
    | {
        settings: SlackClientSettings;
        token: () => Promise<string>;
        /** Verifies Slack's requests to POST /slack/events; undefined: not configured (they are all refused). */
        signingSecret?: (() => Promise<string | undefined>) | undefined;
      }
    | undefined;
  /** Who may change subscriptions from Slack (SLACK_ADMIN_USERS); absent or empty: nobody. */
  slackAdminUsers?: readonly string[] | undefined;
  opsChannelId: string | undefined;
  conversationUrlTemplate: string | undefined;
  /** Used by the poller while the table holds no subscription at all (the local demo's `*` subscription). */
  fallbackSubscriptions?: readonly Subscription[] | undefined;
  clock: Clock;
  log: Log;
  metrics: Metrics;
  /** Wrappers around the ports, for fault injection and measurement (the reliability suite, the bench). */
  decorate?: PortDecorators | undefined;
}

export interface PortDecorators {
  api?(source: ConversationSource): ConversationSource;
  state?(store: StateStore): StateStore;
  events?(queue: EventQueue): EventQueue;
  slack?(poster: SlackPoster): SlackPoster;
}
