import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App } from "aws-cdk-lib";
import { NOTIFIER_MEMORY_MB } from "../infra/constructs/notifier.ts";
import { POLLER_MEMORY_MB } from "../infra/constructs/poller.ts";
import { REPO_ROOT } from "../infra/constructs/service-function.ts";
import { parseSettings } from "../infra/settings.ts";
import { NotifierStack } from "../infra/stack.ts";
import type { DeploymentShape } from "./cost.ts";
import { templateUsage } from "./template-usage.ts";

/** Tiny handlers: bundling the real ones takes a minute and changes nothing billed. */
const STAND_IN_ENTRIES = {
  pollerEntry: "test/infra/fixtures/poller-handler.ts",
  notifierEntry: "test/infra/fixtures/notifier-handler.ts",
  httpEntry: "test/infra/fixtures/http-handler.ts",
};

/**
 * The stack as `cdk synth` builds it with default settings and this poll interval (stand-in
 * function code: what is billed does not depend on the bundle), in the cost model's terms.
 */
export function synthesizedDeployment(pollIntervalSeconds: number): DeploymentShape {
  const outdir = mkdtempSync(join(tmpdir(), "notifier-bill-"));
  try {
    const cdkJson = JSON.parse(readFileSync(join(REPO_ROOT, "cdk.json"), "utf8")) as {
      context?: Record<string, unknown>;
    };
    const app = new App({ outdir, context: cdkJson.context ?? {} });
    const settings = parseSettings({ pollIntervalSeconds });
    new NotifierStack(app, settings.stackName, { settings, ...STAND_IN_ENTRIES });
    const template = app.synth().getStackByName(settings.stackName).template;
    return {
      pollIntervalSeconds,
      pollRateMinutes: settings.pollRateMinutes,
      pollerMemoryMb: POLLER_MEMORY_MB,
      notifierMemoryMb: NOTIFIER_MEMORY_MB,
      logRetentionDays: settings.logRetentionDays,
      template: templateUsage(template, settings.stackName),
    };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/** One line per template: what it bills for whatever the traffic. */
export function describeTemplate({ pollIntervalSeconds, template }: DeploymentShape): string {
  const alarmMetrics = template.alarms.reduce((sum, alarm) => sum + alarm.metrics, 0);
  const fifo = template.sqsEventSources.filter((source) => source.fifo).length;
  const standard = template.sqsEventSources.length - fifo;
  return `Template at ${pollIntervalSeconds} s: ${template.functions} functions, ${template.secrets} secret(s), ${template.alarms.length} alarms (${alarmMetrics} alarm metrics), custom metrics: ${template.customMetrics.join(", ") || "none"}, SQS event sources: ${fifo} FIFO and ${standard} standard, ${template.logGroups} log groups`;
}
