import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App } from "aws-cdk-lib";
import { NOTIFIER_MEMORY_MB } from "../infra/constructs/notifier.ts";
import { POLLER_MEMORY_MB } from "../infra/constructs/poller.ts";
import { REPO_ROOT } from "../infra/constructs/service-function.ts";
import { parseSettings } from "../infra/settings.ts";
import { NotifierStack } from "../infra/stack.ts";
import { LAMBDA_POLL_INTERVALS } from "../src/config.ts";
import type { DeploymentShape } from "./cost.ts";
import { templateUsage } from "./template-usage.ts";

/** Tiny handlers: bundling the real ones takes a minute and changes nothing billed. */
const STAND_IN_ENTRIES = {
  pollerEntry: "test/infra/fixtures/poller-handler.ts",
  notifierEntry: "test/infra/fixtures/notifier-handler.ts",
  httpEntry: "test/infra/fixtures/http-handler.ts",
};

export interface SynthesizedDeployment {
  deployment: DeploymentShape;
  /** The interval the template was synthesized at: another one below a minute when the settings refuse this one. */
  synthesizedAtSeconds: number;
}

/**
 * The stack as `cdk synth` builds it with default settings and this poll interval (stand-in
 * function code: what is billed does not depend on the bundle), in the cost model's terms. An
 * interval the settings do not offer yet is priced on the template of the nearest one on the
 * same side of a minute, which has the same resources.
 */
export function synthesizedDeployment(pollIntervalSeconds: number): SynthesizedDeployment {
  const offered: readonly number[] = LAMBDA_POLL_INTERVALS;
  const sameSide = offered.filter((each) => each < 60 === pollIntervalSeconds < 60);
  const synthesizedAtSeconds = offered.includes(pollIntervalSeconds)
    ? pollIntervalSeconds
    : sameSide.reduce((best, each) =>
        Math.abs(each - pollIntervalSeconds) < Math.abs(best - pollIntervalSeconds) ? each : best,
      );
  const outdir = mkdtempSync(join(tmpdir(), "notifier-bill-"));
  try {
    const cdkJson = JSON.parse(readFileSync(join(REPO_ROOT, "cdk.json"), "utf8")) as {
      context?: Record<string, unknown>;
    };
    const app = new App({ outdir, context: cdkJson.context ?? {} });
    const settings = parseSettings({ pollIntervalSeconds: synthesizedAtSeconds });
    new NotifierStack(app, settings.stackName, { settings, ...STAND_IN_ENTRIES });
    const template = app.synth().getStackByName(settings.stackName).template;
    return {
      synthesizedAtSeconds,
      deployment: {
        pollIntervalSeconds,
        pollRateMinutes: settings.pollRateMinutes,
        pollerMemoryMb: POLLER_MEMORY_MB,
        notifierMemoryMb: NOTIFIER_MEMORY_MB,
        logRetentionDays: settings.logRetentionDays,
        template: templateUsage(template, settings.stackName),
      },
    };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/** The templates' billed counts, one line per interval, and what stands in for what is not synthesized yet. */
export function describeDeployments(deployments: readonly (SynthesizedDeployment & { interval: number })[]): string[] {
  return deployments.flatMap(({ interval, synthesizedAtSeconds, deployment }) => [
    `Template at ${interval} s: ${describeTemplate(deployment)}`,
    ...(synthesizedAtSeconds === interval
      ? []
      : [
          `  (the settings do not offer ${interval} s yet: priced on the template synthesized at ${synthesizedAtSeconds} s, which has the same resources)`,
        ]),
    ...(withExpectedTickQueue(deployment)
      ? [
          "  (no standard-queue event source: the chain's tick queue is not in this stack yet, so the rows below a minute lack its idle long polling; the verdicts show the bill with it)",
        ]
      : []),
  ]);
}

function describeTemplate({ template }: DeploymentShape): string {
  const alarmMetrics = template.alarms.reduce((sum, alarm) => sum + alarm.metrics, 0);
  const fifo = template.sqsEventSources.filter((source) => source.fifo).length;
  const standard = template.sqsEventSources.length - fifo;
  return `${template.functions} functions, ${template.secrets} secret(s), ${template.alarms.length} alarms (${alarmMetrics} alarm metrics), custom metrics: ${template.customMetrics.join(", ") || "none"}, SQS event sources: ${fifo} FIFO and ${standard} standard, ${template.logGroups} log groups`;
}

/**
 * Below a minute, a template without a standard-queue event source predates the chain's tick
 * queue: the same deployment with that event source added, to show what the chain will cost;
 * undefined when the template has it already (or polls every minute or slower).
 */
export function withExpectedTickQueue(deployment: DeploymentShape): DeploymentShape | undefined {
  const { template } = deployment;
  if (deployment.pollIntervalSeconds >= 60 || template.sqsEventSources.some((source) => !source.fifo)) return undefined;
  const tickSource = { mapping: "(expected) poll ticks", queue: "(expected) poll ticks", fifo: false };
  return { ...deployment, template: { ...template, sqsEventSources: [...template.sqsEventSources, tickSource] } };
}
