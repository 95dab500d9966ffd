import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDeliveryLedger } from "../src/adapters/dynamo/ledger.ts";
import { DynamoThreadStore } from "../src/adapters/dynamo/thread-store.ts";
import { CountingMetrics } from "../src/adapters/observability.ts";
import { createSlackPoster } from "../src/adapters/slack.ts";
import { newReplyEventSchema } from "../src/domain/events.ts";
import { describeError } from "../src/errors.ts";
import { type FakeSlack, startFakeSlack } from "../src/local/fake-slack.ts";
import { type Log, systemClock } from "../src/ports.ts";
import { type NotifyPorts, notify } from "../src/usecases/notify.ts";
import type { DeliveryFigures } from "./protocol.ts";

/**
 * The notifier side, loaded by the poller worker only when alerts are delivered, so that the
 * Slack client never weighs on the poller's memory figures. Each queued event goes, as its
 * SQS message body would, through the real notify(): ledger claim, Slack post, thread, mark.
 */

const SLACK_TOKEN = "xoxb-bench-fake-slack";

export class Delivery {
  private constructor(
    private readonly fakeSlack: FakeSlack,
    private readonly ports: NotifyPorts,
    private readonly log: Log,
  ) {}

  static async start(options: { client: DynamoDBClient; tableName: string; log: Log }): Promise<Delivery> {
    const fakeSlack = await startFakeSlack({ token: SLACK_TOKEN, acceptAnyChannel: true });
    return new Delivery(
      fakeSlack,
      {
        ledger: new DynamoDeliveryLedger(options.client, options.tableName),
        threads: new DynamoThreadStore(options.client, options.tableName),
        slack: createSlackPoster({
          token: SLACK_TOKEN,
          apiUrl: `${fakeSlack.url}/api/`,
          timeoutMs: 5_000,
          log: options.log,
        }),
        clock: systemClock,
        log: options.log,
        metrics: new CountingMetrics(),
      },
      options.log,
    );
  }

  async deliver(bodies: readonly string[]): Promise<Omit<DeliveryFigures, "dynamo">> {
    const postsBefore = this.fakeSlack.posts.length;
    const startedAt = performance.now();
    let alertsDelivered = 0;
    let failures = 0;
    for (const body of bodies) {
      try {
        const result = await notify(newReplyEventSchema.parse(JSON.parse(body)), this.ports);
        alertsDelivered += result.outcomes.filter((outcome) => outcome.status === "posted").length;
        failures += result.outcomes.filter((outcome) => outcome.status === "failed_permanently").length;
      } catch (error) {
        failures += 1;
        this.log.error("bench: an alert was not delivered", { reason: describeError(error) });
      }
    }
    return {
      wallMs: Math.round(performance.now() - startedAt),
      events: bodies.length,
      alertsDelivered,
      slackPosts: this.fakeSlack.posts.length - postsBefore,
      failures,
    };
  }

  close(): Promise<void> {
    return this.fakeSlack.close();
  }
}
