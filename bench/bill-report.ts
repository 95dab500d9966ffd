import type { Bill } from "./cost.ts";

/**
 * How `npm run bench:cost` and `npm run bench:feed` print monthly bills and judge issue 12's and
 * issue 14's cost targets: one table shape and one set of targets for both.
 */

export const usd = (value: number): string => `$${value.toFixed(2)}`;
export const count = (value: number): string => Math.round(value).toLocaleString("en-US");

export interface BillRow {
  conversations: number;
  interval: number;
  bill: Bill;
}

/** A markdown table: one row per bill, one column per service. */
export function billTable(rows: readonly BillRow[]): string {
  const services = [...new Set(rows.flatMap(({ bill }) => Object.keys(bill.byService)))];
  const header = ["conversations", "poll every", "polls a month", ...services, "total"];
  const lines = [`| ${header.join(" | ")} |`, `| ${header.map(() => "---").join(" | ")} |`];
  for (const { conversations, interval, bill } of rows) {
    const cells = [
      count(conversations),
      `${interval} s`,
      count(bill.pollsPerMonth),
      ...services.map((service) => usd(bill.byService[service] ?? 0)),
      `**${usd(bill.total)}**`,
    ];
    lines.push(`| ${cells.join(" | ")} |`);
  }
  return lines.join("\n");
}

export interface CostTarget {
  conversations: number;
  interval: number;
  /** With the messages feed (RESPONDENT_FEED=on) or every poll a sweep. */
  feed: boolean;
  budgetUsd: number;
}

/** `npm run bench:cost` exits 1 when one is missed at 50 ms per API request (all are met there). */
export const COST_TARGETS: readonly CostTarget[] = [
  // Issue 12.
  { conversations: 10_000, interval: 60, feed: false, budgetUsd: 2 },
  // Issue 14.
  { conversations: 50_000, interval: 60, feed: true, budgetUsd: 2.5 },
  { conversations: 10_000, interval: 10, feed: true, budgetUsd: 3 },
];

/** The three services that weigh most: where a MISS would have to cut. */
function heaviest(bill: Bill): string {
  return Object.entries(bill.byService)
    .sort(([, a], [, b]) => b - a)
    .slice(0, 3)
    .map(([service, dollars]) => `${service} ${usd(dollars)}`)
    .join(", ");
}

/** One verdict line. */
export function verdict(target: CostTarget, bill: Bill): { line: string; pass: boolean } {
  const pass = bill.total <= target.budgetUsd;
  const miss = pass ? "" : ` (over by ${usd(bill.total - target.budgetUsd)}; heaviest: ${heaviest(bill)})`;
  const what = target.feed ? "with the messages feed" : "with the feed off";
  return {
    pass,
    line: `${count(target.conversations)} conversations at ${target.interval} s ${what}: ${usd(bill.total)} a month, target at most ${usd(target.budgetUsd)}: ${pass ? "PASS" : "MISS"}${miss}`,
  };
}
