import type { Logger } from "@aws-lambda-powertools/logger";
import { MetricUnit, type Metrics as PowertoolsMetrics } from "@aws-lambda-powertools/metrics";
import { redactSecrets } from "../errors.ts";
import type { Log, LogAttributes, MetricName, Metrics } from "../ports.ts";

/** Powertools Logger (structured JSON, correlation ids) behind the Log port. */
export function powertoolsLog(logger: Logger): Log {
  return {
    debug: (message, attributes) => logger.debug(message, { ...attributes }),
    info: (message, attributes) => logger.info(message, { ...attributes }),
    warn: (message, attributes) => logger.warn(message, { ...attributes }),
    error: (message, attributes) => logger.error(message, { ...attributes }),
  };
}

/**
 * The counts published as CloudWatch custom metrics: only those an alarm reads (infra/constructs/
 * monitoring.ts takes its metric names from this list). Each one published costs $0.30 a month;
 * every other count goes into the invocation's `counts` log line instead (Logs Insights).
 */
export const CLOUDWATCH_METRICS = ["PermanentFailures"] as const satisfies readonly MetricName[];
export type CloudWatchMetricName = (typeof CLOUDWATCH_METRICS)[number];

const published = new Set<MetricName>(CLOUDWATCH_METRICS);

/**
 * Powertools Metrics (CloudWatch EMF in the log stream) behind the Metrics port, for the counts in
 * CLOUDWATCH_METRICS; the others are added up here, and `takeLogged()` hands them over (and starts
 * again) for the invocation's `counts` log line.
 */
export function powertoolsMetrics(metrics: PowertoolsMetrics): Metrics & {
  takeLogged(): Partial<Record<MetricName, number>>;
} {
  let logged: Partial<Record<MetricName, number>> = {};
  return {
    count: (name, value = 1) => {
      if (published.has(name)) metrics.addMetric(name, MetricUnit.Count, value);
      else logged[name] = (logged[name] ?? 0) + value;
    },
    takeLogged: () => {
      const taken = logged;
      logged = {};
      return taken;
    },
  };
}

export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";
const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/** Readable one-line logs for the terminal; every line passes through secret redaction. */
export function consoleLog(options: { level: LogLevel; write?: (line: string) => void }): Log {
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const threshold = LEVELS[options.level];
  const emit = (level: Exclude<LogLevel, "silent">, message: string, attributes?: LogAttributes) => {
    if (LEVELS[level] < threshold) return;
    const details = attributes
      ? Object.entries(attributes)
          .filter(([, value]) => value !== undefined)
          .map(([key, value]) => `${key}=${typeof value === "string" ? value : JSON.stringify(value)}`)
          .join(" ")
      : "";
    write(redactSecrets(`${level.padEnd(5)} ${message}${details ? `  ${details}` : ""}`));
  };
  return {
    debug: (message, attributes) => emit("debug", message, attributes),
    info: (message, attributes) => emit("info", message, attributes),
    warn: (message, attributes) => emit("warn", message, attributes),
    error: (message, attributes) => emit("error", message, attributes),
  };
}

/** Counts metrics in memory (CLI summaries, tests, the benchmark). */
export class CountingMetrics implements Metrics {
  readonly counts = new Map<MetricName, number>();
  count(name: MetricName, value = 1): void {
    this.counts.set(name, (this.counts.get(name) ?? 0) + value);
  }
  get(name: MetricName): number {
    return this.counts.get(name) ?? 0;
  }
}

/**
 * Publishes the invocation's alarmed metrics, if it counted any. Most invocations count none (a
 * healthy poll, a posted alert), and Powertools would log a warning saying so each time: at 10 s
 * polling that is 8,640 lines a day of nothing, billed as log ingestion.
 */
export function publishAlarmedMetrics(metrics: PowertoolsMetrics): void {
  if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
}
