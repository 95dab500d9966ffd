import { ProvisionedThroughputExceededException } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DynamoHealthStore } from "../../src/adapters/dynamo/health-store.ts";
import { slackOpsChannel } from "../../src/adapters/ops-channel.ts";
import { composePoller, slackPoster, subscriptionStore } from "../../src/app/compose.ts";
import { subscriptionSchema } from "../../src/domain/subscriptions.ts";
import { type FakeSlack, startFakeSlack } from "../../src/local/fake-slack.ts";
import { type RespondentSimulator, startRespondentSimulator } from "../../src/local/simulator.ts";
import type { Clock, HealthStore } from "../../src/ports.ts";
import { HealthMonitor } from "../../src/usecases/health.ts";
import type { PollReport } from "../../src/usecases/poll.ts";
import { pollCycle } from "../../src/usecases/poll-cycle.ts";
import { interceptSends } from "../support/clients.ts";
import { isSubscriptionsQuery } from "../support/dynamodb.ts";
import { createTestPlatform, type TestPlatform } from "../support/platform.ts";

const TOKEN = "xoxb-health-poller-test";
const OPS = "C0OPSHEALTH";
const CREDENTIALS_REJECTED = { status: 401 } as const;

describe("poller health in the ops channel", () => {
  let simulator: RespondentSimulator;
  let slack: FakeSlack;
  let platform: TestPlatform;
  /** While set, every read of the subscriptions fails as a throttled DynamoDB query would. */
  let subscriptionsThrottled: boolean;
  let now: Date;
  const clock: Clock = { now: () => now };
  const minutesLater = (minutes: number) => {
    now = new Date(now.getTime() + minutes * 60_000);
  };
  const opsPosts = () => slack.posts.filter((post) => post.channel === OPS).map((post) => post.text);

  beforeAll(async () => {
    simulator = await startRespondentSimulator({ apiKey: "health-key-4e1b7c", apiSecret: "health-secret-93ad20" });
    slack = await startFakeSlack({ token: TOKEN, channels: [OPS] });
  });
  afterAll(async () => {
    await simulator.close();
    await slack.close();
  });

  beforeEach(async () => {
    subscriptionsThrottled = false;
    platform = await createTestPlatform({
      prefix: "health-poller",
      respondent: {
        url: simulator.url,
        apiKey: simulator.apiKey,
        apiSecret: simulator.apiSecret,
        settings: { maxConcurrency: 2, timeoutMs: 2_000 },
      },
      slack: { url: slack.url, token: TOKEN, timeoutMs: 1_000 },
      opsChannelId: OPS,
      clock,
      wrapDynamo: (raw) =>
        interceptSends(raw, (command) => {
          if (subscriptionsThrottled && isSubscriptionsQuery(command)) {
            throw new ProvisionedThroughputExceededException({
              message: "DynamoDB throttled the query",
              $metadata: { httpStatusCode: 400 },
            });
          }
        }),
    });
    await subscriptionStore(platform).add(
      subscriptionSchema.parse({ projectId: "*", channelId: "C0ALERTS001", createdAt: new Date().toISOString() }),
    );
    slack.reset();
    now = new Date("2026-06-01T10:02:00.000Z");
    return () => platform.close();
  });

  /** One poller process (its own cache and health monitor, from compose), polling as the Lambda and the CLI do. */
  const startPoller = () => {
    const poller = composePoller(platform);
    return async (): Promise<PollReport | undefined> => (await pollCycle(poller)).report;
  };

  it("posts one failing message and one recovery message across many failed polls", async () => {
    const pollOnce = startPoller();
    simulator.failNext(6, CREDENTIALS_REJECTED);

    const failed: Array<PollReport | undefined> = [];
    for (let attempt = 1; attempt <= 6; attempt += 1) {
      failed.push(await pollOnce());
      if (attempt === 1) expect(opsPosts(), "one failed poll is not an outage").toEqual([]);
      minutesLater(1);
    }
    await pollOnce();
    minutesLater(1);
    await pollOnce();

    expect(failed.every((report) => report?.failures[0]?.reason.includes("credentials rejected (401)"))).toBe(true);
    expect(opsPosts()).toEqual([
      expect.stringMatching(
        /^🔴 Respondent polling is failing since 10:02 UTC: Respondent API credentials rejected \(401\): check RESPONDENT_API_KEY/,
      ),
      "🟢 Respondent polling recovered after 6 min (failing since 10:02 UTC: Respondent API credentials rejected (401): check RESPONDENT_API_KEY / RESPONDENT_API_SECRET (or the Respondent secret) and that they belong to this base URL (production and staging keys differ))",
    ]);
    for (const text of opsPosts()) {
      expect(text).not.toContain(simulator.apiKey);
      expect(text).not.toContain(simulator.apiSecret);
    }
  });

  it("stays quiet when single failed polls alternate with successful ones", async () => {
    const pollOnce = startPoller();

    for (let round = 0; round < 3; round += 1) {
      simulator.failNext(1, { status: 503 });
      await pollOnce();
      minutesLater(1);
      await pollOnce();
      minutesLater(1);
    }

    expect(opsPosts()).toEqual([]);
  });

  it("announces a transition once when two pollers see it at the same moment", async () => {
    const first = startPoller();
    const second = startPoller();
    simulator.failNext(1, CREDENTIALS_REJECTED);
    await first();
    minutesLater(1);

    simulator.failNext(2, CREDENTIALS_REJECTED);
    await Promise.all([first(), second()]);
    minutesLater(1);
    await Promise.all([first(), second()]);

    expect(opsPosts()).toEqual([
      expect.stringMatching(/^🔴 Respondent polling is failing since 10:02 UTC/),
      expect.stringMatching(/^🟢 Respondent polling recovered after 2 min/),
    ]);
  });

  it("lets only one of two monitors that read the same record store the transition, so it is posted once", async () => {
    const store = new DynamoHealthStore(platform.table.client, platform.tableName, { clock, log: platform.log });
    // Both monitors read before either writes: the race the conditional write has to settle.
    let arrived = 0;
    let releaseReads: () => void = () => {};
    const bothRead = new Promise<void>((resolve) => {
      releaseReads = resolve;
    });
    const racingStore: HealthStore = {
      async read(component) {
        const stored = await store.read(component);
        arrived += 1;
        if (arrived === 2) releaseReads();
        await bothRead;
        return stored;
      },
      write: (component, next, revision) => store.write(component, next, revision),
    };
    const ops = slackOpsChannel(OPS, slackPoster(platform));
    const monitor = () =>
      new HealthMonitor({
        component: "poller",
        policy: { failingAfter: 1 },
        store: racingStore,
        ops,
        clock,
        log: platform.log,
      });

    await Promise.all([
      monitor().observe({ ok: false, reason: "API down" }),
      monitor().observe({ ok: false, reason: "API down" }),
    ]);

    expect(opsPosts()).toEqual([expect.stringMatching(/^🔴 Respondent polling is failing since 10:02 UTC: API down/)]);
  });

  it("keeps polling when the ops post fails, and makes the announcement at the next poll", async () => {
    const pollOnce = startPoller();
    simulator.failNext(3, CREDENTIALS_REJECTED);
    await pollOnce();
    minutesLater(1);
    slack.failNext("chat.postMessage", 1, { status: 503 });

    const whileSlackFails = await pollOnce();
    expect(whileSlackFails?.failures).toHaveLength(1);
    expect(opsPosts()).toEqual([]);

    minutesLater(1);
    await pollOnce();
    minutesLater(1);
    await pollOnce();

    expect(opsPosts()).toEqual([
      expect.stringMatching(/^🔴 Respondent polling is failing since 10:02 UTC/),
      expect.stringMatching(/^🟢 Respondent polling recovered after 3 min/),
    ]);
  });

  it("reports a recovery even when the failing message never got out", async () => {
    const pollOnce = startPoller();
    simulator.failNext(2, { status: 503 });
    await pollOnce();
    minutesLater(1);
    slack.failNext("chat.postMessage", 1, { error: "not_in_channel" });
    await pollOnce();
    minutesLater(1);

    await pollOnce();

    expect(opsPosts()).toEqual([
      expect.stringMatching(/^🟢 Respondent polling recovered after 2 min \(failing since 10:02 UTC: .*503/),
    ]);
  });

  it("counts a poll that could not even start (subscriptions unreadable) as failed", async () => {
    const pollOnce = startPoller();
    subscriptionsThrottled = true;

    await pollOnce();
    minutesLater(1);
    await pollOnce();

    expect(opsPosts()).toEqual([
      "🔴 Respondent polling is failing since 10:02 UTC: could not read subscriptions: ProvisionedThroughputExceededException: DynamoDB throttled the query\n_One more message will follow here when it recovers._",
    ]);
  });
});
