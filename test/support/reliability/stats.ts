import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Log, LogAttributes, MetricName, Metrics } from "../../../src/ports.ts";

/**
 * What a reliability file did, for docs/RELIABILITY.md: histories generated, faults injected by
 * kind, crashes by the side effect they interrupted, alerts due and posted, duplicates seen.
 * Printed at the end of each file; with RELIABILITY_REPORT_DIR set, also written there as JSON
 * (test/reliability/soak.mjs adds the files up).
 */
export class ReliabilityStats {
  histories = 0;
  cycles = 0;
  alertsDue = 0;
  posts = 0;
  /** Posts beyond the first for the same (message, channel). */
  duplicates = 0;
  /** Of those, how many carried the "may repeat" marker (every one must). */
  duplicatesMarked = 0;
  /** Posts carrying the marker although they were the only one (the interrupted attempt never reached Slack). */
  markedSingles = 0;
  readonly faults: Record<string, number> = {};
  readonly crashes: Record<string, number> = {};
  /** What the system reported while it coped (state conflicts, alerts skipped as already posted, ...). */
  readonly observed: Record<string, number> = {};

  constructor(readonly name: string) {}

  fault(kind: string, count = 1): void {
    this.faults[kind] = (this.faults[kind] ?? 0) + count;
  }

  observe(what: string, count: number): void {
    if (count > 0) this.observed[what] = (this.observed[what] ?? 0) + count;
  }

  crash(point: string): void {
    this.crashes[point] = (this.crashes[point] ?? 0) + 1;
  }

  get faultTotal(): number {
    return Object.values(this.faults).reduce((sum, count) => sum + count, 0);
  }

  get crashTotal(): number {
    return Object.values(this.crashes).reduce((sum, count) => sum + count, 0);
  }

  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      histories: this.histories,
      cycles: this.cycles,
      alertsDue: this.alertsDue,
      posts: this.posts,
      duplicates: this.duplicates,
      duplicatesMarked: this.duplicatesMarked,
      markedSingles: this.markedSingles,
      faults: sortedRecord(this.faults),
      crashes: sortedRecord(this.crashes),
      observed: sortedRecord(this.observed),
    };
  }

  /** One readable line per file in the test output, and the JSON file when asked for. */
  report(): void {
    const faults = Object.entries(sortedRecord(this.faults))
      .map(([kind, count]) => `${kind}=${count}`)
      .join(" ");
    const observed = Object.entries(sortedRecord(this.observed))
      .map(([what, count]) => `${what}=${count}`)
      .join(" ");
    console.log(
      `[reliability] ${this.name}: ${this.histories} histories, ${this.cycles} cycles, ${this.alertsDue} alerts due, ` +
        `${this.posts} posts, ${this.duplicatesMarked} marked repeats, ${this.duplicates - this.duplicatesMarked} unmarked duplicates, ` +
        `${this.markedSingles} marked first posts, ` +
        `${this.faultTotal} faults${faults ? ` [${faults}]` : ""}, ${this.crashTotal} crashes` +
        `${observed ? `; observed ${observed}` : ""}`,
    );
    const directory = process.env.RELIABILITY_REPORT_DIR;
    if (directory) {
      mkdirSync(directory, { recursive: true });
      writeFileSync(
        join(directory, `${this.name.replace(/[^\w-]+/g, "-")}.json`),
        `${JSON.stringify(this, null, 2)}\n`,
      );
    }
  }
}

function sortedRecord(record: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
}

/** Keeps every log line (rendered with its attributes) so tests can look for the one that should be there. */
export class RecordingLog implements Log {
  readonly lines: string[] = [];
  readonly debug = (message: string, attributes?: LogAttributes) => this.record("debug", message, attributes);
  readonly info = (message: string, attributes?: LogAttributes) => this.record("info", message, attributes);
  readonly warn = (message: string, attributes?: LogAttributes) => this.record("warn", message, attributes);
  readonly error = (message: string, attributes?: LogAttributes) => this.record("error", message, attributes);

  constructor(private readonly keep = 2_000) {}

  private record(level: string, message: string, attributes: LogAttributes | undefined): void {
    this.lines.push(`${level} ${message}${attributes ? ` ${JSON.stringify(attributes)}` : ""}`);
    if (this.lines.length > this.keep) this.lines.splice(0, this.lines.length - this.keep);
  }

  matching(pattern: RegExp): string[] {
    return this.lines.filter((line) => pattern.test(line));
  }
}

export class RecordingMetrics implements Metrics {
  readonly counts = new Map<MetricName, number>();
  count(name: MetricName, value = 1): void {
    this.counts.set(name, (this.counts.get(name) ?? 0) + value);
  }
  get(name: MetricName): number {
    return this.counts.get(name) ?? 0;
  }
}
