import { type BillRow, billTable, COST_TARGETS, usd, verdict } from "./bill-report.ts";
import { type BillLine, monthlyBill, POLL_CHAIN, PRICE_LIST, type UsageProfile } from "./cost.ts";
import { describeTemplate, synthesizedDeployment } from "./deployment.ts";
import {
  MEASURED_LATENCIES,
  MEASURED_SIZES,
  type MeasuredLatency,
  measuredFeedPoll,
  measuredProfile,
  withFeed,
} from "./profiles.ts";

/**
 * `npm run bench:cost`: the monthly bill of the stack as it is synthesized now, at 1,000 /
 * 10,000 / 50,000 conversations, polling every 60, 15 and 10 s (below a minute: the delay-queue
 * chain), with and without the messages feed, at 50 and 250 ms per API request, by service, with
 * the price list and its date; then the cost targets' verdicts at both latencies. The template is
 * synthesized with stand-in function code (what is billed does not depend on the bundle), so this
 * takes seconds, not the full bench's minutes. Exit 1 when a target is missed at 50 ms.
 */

const INTERVALS = [60, 15, 10] as const;
/** RECONCILE_INTERVAL_MINUTES' default: with the feed on, a sweep every 10 minutes. */
const SWEEP_EVERY_MINUTES = 10;
/** The targets are judged on the profiles `npm run bench` keeps measuring (bench/profiles.ts). */
const ENFORCED_AT_LATENCY_MS: MeasuredLatency = 50;

interface Priced extends BillRow {
  latencyMs: MeasuredLatency;
  feed: boolean;
}

const deployments = INTERVALS.map((interval) => ({ interval, deployment: synthesizedDeployment(interval) }));
for (const { deployment } of deployments) console.log(describeTemplate(deployment));
console.log(
  `\nPrices: ${PRICE_LIST.region} on-demand list prices, checked ${PRICE_LIST.checked}; free tiers ignored. Sources: ${PRICE_LIST.sources.join("; ")}`,
);
console.log(
  `Below 60 s the poller is a delay-queue chain: one invocation a poll (no sleep billed), a conditional write a poll instead of the lease (${POLL_CHAIN.writeUnitsPerPoll} WRU), ${POLL_CHAIN.tickQueueRequestsPerPoll} standard SQS requests a poll, and the one-minute schedule as its watchdog (an invocation of about ${POLL_CHAIN.watchdogLambdaMs} ms and a ${POLL_CHAIN.watchdogReadUnits} RRU read a minute).`,
);

const priced: Priced[] = [];
for (const latencyMs of MEASURED_LATENCIES) {
  for (const { interval, deployment } of deployments) {
    for (const conversations of MEASURED_SIZES) {
      const sweep = measuredProfile(conversations, latencyMs);
      const profiles: [boolean, UsageProfile][] = [
        [false, sweep],
        [true, withFeed(sweep, measuredFeedPoll(conversations, latencyMs), interval, SWEEP_EVERY_MINUTES)],
      ];
      for (const [feed, profile] of profiles) {
        priced.push({
          latencyMs,
          conversations,
          interval,
          feed,
          bill: monthlyBill(profile, deployment),
        });
      }
    }
  }
}

const find = (latencyMs: number, conversations: number, interval: number, feed: boolean) =>
  priced.find(
    (each) =>
      each.latencyMs === latencyMs &&
      each.conversations === conversations &&
      each.interval === interval &&
      each.feed === feed,
  );

for (const latencyMs of MEASURED_LATENCIES) {
  const at = priced.filter((each) => each.latencyMs === latencyMs);
  console.log(`\n## At ${latencyMs} ms per API request`);
  console.log(`\nEvery poll a sweep (RESPONDENT_FEED=off, the upper bound), ${latencyMs} ms:\n`);
  console.log(billTable(at.filter(({ feed }) => !feed)));
  console.log(
    `\nWith the messages feed (RESPONDENT_FEED=on, the default): a sweep every ${SWEEP_EVERY_MINUTES} min, feed polls between, ${latencyMs} ms:\n`,
  );
  console.log(billTable(at.filter(({ feed }) => feed)));
}

function printItems(title: string, lines: readonly BillLine[]): void {
  console.log(`\n${title}\n\n| service | item | quantity | a month |\n| --- | --- | --- | --- |`);
  for (const line of lines) console.log(`| ${line.service} | ${line.item} | ${line.quantity} | ${usd(line.usd)} |`);
}
const reference = find(50, 10_000, 60, false);
if (reference) printItems("Items at 10,000 conversations, polling every 60 s, feed off, 50 ms:", reference.bill.lines);
const chained = find(50, 10_000, 10, true);
if (chained) {
  printItems(
    "Items at 10,000 conversations, polling every 10 s (the chain), with the feed, 50 ms:",
    chained.bill.lines,
  );
}

for (const latencyMs of MEASURED_LATENCIES) {
  const enforcedHere = latencyMs === ENFORCED_AT_LATENCY_MS;
  console.log(
    enforcedHere
      ? `\nVerdicts at ${latencyMs} ms per API request (the measured profiles; exit 1 on a MISS):`
      : `\nVerdicts at ${latencyMs} ms per API request (printed, not enforced: the targets are checked at ${ENFORCED_AT_LATENCY_MS} ms):`,
  );
  for (const target of COST_TARGETS) {
    const row = find(latencyMs, target.conversations, target.interval, target.feed);
    if (!row) throw new Error(`no bill for ${target.conversations} conversations at ${target.interval} s`);
    const { line, pass } = verdict(target, row.bill);
    console.log(line);
    if (!pass && enforcedHere) process.exitCode = 1;
  }
}
