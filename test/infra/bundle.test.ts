import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../infra/constructs/service-function.ts";
import { type Env, loadHttpLambdaConfig, loadNotifierLambdaConfig, loadPollerLambdaConfig } from "../../src/config.ts";
import { ConfigError } from "../../src/errors.ts";
import { bundleDirectory, type Json } from "./synth.ts";

/**
 * The real Lambda entries, bundled by the real `cdk synth` (the same command as `npm run synth`,
 * offline, no credentials): whatever this loads is byte for byte what `cdk deploy` uploads.
 */

const URL_TEMPLATE = "https://app.respondent.io/projects/{projectId}/conversations/{conversationUid}";

/** Variables the functions get for the runtime and Powertools, not for src/config.ts. */
const RUNTIME_VARIABLES = ["LOG_LEVEL", "NODE_OPTIONS", "POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_SERVICE_NAME"];

/** What Lambda itself provides to every function. */
const LAMBDA_PROVIDED: Env = {
  AWS_REGION: "us-east-1",
  AWS_ACCESS_KEY_ID: "AKIABUNDLETEST",
  AWS_SECRET_ACCESS_KEY: "bundle-test",
  AWS_SESSION_TOKEN: "bundle-test",
  AWS_LAMBDA_FUNCTION_NAME: "bundle-test",
};

/** Stand-ins for values CloudFormation fills in at deploy time (references to other resources). */
const DEPLOY_TIME_VALUES: Env = {
  RESPONDENT_SECRET_ARN: "arn:aws:secretsmanager:us-east-1:123456789012:secret:respondent-AbC123",
  SLACK_SECRET_ARN: "arn:aws:secretsmanager:us-east-1:123456789012:secret:slack-AbC123",
  QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/123456789012/RespondentNotifier-Events.fifo",
  DLQ_URL: "https://sqs.us-east-1.amazonaws.com/123456789012/RespondentNotifier-DeadLetters.fifo",
  TABLE_NAME: "RespondentNotifier-StateTable",
  POLL_TICK_QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/123456789012/RespondentNotifier-PollerTickQueue",
};

interface Deployed {
  bundle: string;
  /** The function's environment as the stack sets it, references replaced by stand-ins. */
  environment: Env;
}

const deployed = new Map<string, Deployed>();
/** What `cdk synth` printed (stdout and stderr). */
let synthOutput = "";
const outdir = mkdtempSync(join(tmpdir(), "notifier-cdk-"));

afterAll(() => rmSync(outdir, { recursive: true, force: true }));

beforeAll(() => {
  const synth = spawnSync(
    join(REPO_ROOT, "node_modules/.bin/cdk"),
    [
      "synth",
      "--quiet",
      "--output",
      outdir,
      "-c",
      `conversationUrlTemplate=${URL_TEMPLATE}`,
      // Every optional variable set, so each one's loading is checked too.
      "-c",
      "opsChannelId=C0OPSBUNDLE1",
      "-c",
      "pollIntervalSeconds=10",
      "-c",
      "slackAdminUsers=U0ADMINBUNDLE",
    ],
    { cwd: REPO_ROOT, encoding: "utf8", timeout: 300_000, env: { ...process.env, AWS_EC2_METADATA_DISABLED: "true" } },
  );
  if (synth.status !== 0) {
    throw new Error(`cdk synth failed (status ${synth.status}, signal ${synth.signal}):\n${synth.stderr}`);
  }
  synthOutput = `${synth.stdout}\n${synth.stderr}`;

  const template = JSON.parse(readFileSync(join(outdir, "RespondentNotifier.template.json"), "utf8")) as {
    Resources: Record<string, { Type: string; Properties: Json }>;
  };
  for (const resource of Object.values(template.Resources)) {
    if (resource.Type !== "AWS::Lambda::Function") continue;
    const variables = (resource.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    const environment: Env = {};
    for (const [name, value] of Object.entries(variables)) {
      const resolved = typeof value === "string" ? value : DEPLOY_TIME_VALUES[name];
      if (resolved === undefined) throw new Error(`no stand-in for ${name}, which is set at deploy time`);
      environment[name] = resolved;
    }
    deployed.set(String(variables.POWERTOOLS_SERVICE_NAME), {
      bundle: join(bundleDirectory(outdir, resource), "index.mjs"),
      environment,
    });
  }
  // A hang guard: two esbuild bundles on a loaded 2-core machine take two minutes or more.
}, 360_000);

function fn(service: string): Deployed {
  const found = deployed.get(service);
  if (!found) throw new Error(`the stack has no function with POWERTOOLS_SERVICE_NAME=${service}`);
  return found;
}

function configVariables(environment: Env): string[] {
  return Object.keys(environment).filter((name) => !RUNTIME_VARIABLES.includes(name));
}

function configErrorOf(load: () => unknown): ConfigError | undefined {
  try {
    load();
    return undefined;
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
}

describe.each([
  ["poller", loadPollerLambdaConfig],
  ["notifier", loadNotifierLambdaConfig],
  ["http", loadHttpLambdaConfig],
] as const)("the %s bundle", (service, loadConfig) => {
  const load = (environment: Env) => () => loadConfig({ ...LAMBDA_PROVIDED, ...environment });

  it("loads in Node with only the stack's environment and exports a handler function", () => {
    const { bundle, environment } = fn(service);

    const child = spawnSync(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        // Lambda's Node.js runtime provides the awslambda global (response streaming); Node does not.
        "globalThis.awslambda = { streamifyResponse: (fn) => fn, HttpResponseStream: { from: (stream) => stream } }; const m = await import(process.argv[1]); process.stdout.write(typeof m.handler);",
        pathToFileURL(bundle).href,
      ],
      { encoding: "utf8", timeout: 30_000, env: { PATH: process.env.PATH, ...LAMBDA_PROVIDED, ...environment } },
    );

    // stderr may carry the SDK's warning about running on Node 20 locally; Lambda runs Node 24.
    expect(child.stdout, child.stderr).toBe("function");
    expect(child.status, child.stderr).toBe(0);
  });

  it("gets every variable its config loader requires from the stack", () => {
    const { environment } = fn(service);
    const given: Env = {};
    const required: string[] = [];
    // Add what the loader asks for, one missing variable at a time, until it is satisfied.
    for (let error = configErrorOf(load(given)); error; error = configErrorOf(load(given))) {
      expect(error.message, "the loader rejected a value the stack set").toContain("is required");
      expect(environment, `the loader requires ${error.field}`).toHaveProperty(error.field);
      expect(required).not.toContain(error.field);
      required.push(error.field);
      given[error.field] = environment[error.field];
    }

    expect(required.length).toBeGreaterThan(0);
    expect(configErrorOf(load(environment))).toBeUndefined();
  });

  it("fails to start, naming the variable, when any required one is removed", () => {
    const { environment } = fn(service);
    expect(configErrorOf(load(environment)), "the stack's own environment must load").toBeUndefined();
    const required = configVariables(environment).filter((name) => {
      const { [name]: _removed, ...rest } = environment;
      return configErrorOf(load(rest)) !== undefined;
    });

    expect(required.length).toBeGreaterThan(0);
    for (const name of required) {
      const { [name]: _removed, ...rest } = environment;
      // "is required", and for a variable needed only by some settings, when and why.
      expect(configErrorOf(load(rest))?.message).toMatch(new RegExp(`^${name}: is required($| when )`));
    }
  });

  it("sets no configuration variable the loader does not read (a bad value in each is rejected by name)", () => {
    const { environment } = fn(service);
    expect(configErrorOf(load(environment)), "the stack's own environment must load").toBeUndefined();

    for (const name of configVariables(environment)) {
      expect(configErrorOf(load({ ...environment, [name]: "%not valid%" }))?.field, name).toBe(name);
    }
  });
});

it("the real cdk synth configures every CDK feature flag (no 'feature flags are not configured' warning)", () => {
  expect(synthOutput).toMatch(/Bundling asset/);
  expect(synthOutput).not.toMatch(/feature flags? (are|is) not configured/i);
  expect(synthOutput).not.toMatch(/cdk flags/);
});

it("the stack sets exactly the documented runtime variables besides the configuration", () => {
  for (const service of ["poller", "notifier", "http"]) {
    const names = Object.keys(fn(service).environment);
    expect(names.filter((name) => RUNTIME_VARIABLES.includes(name)).sort()).toEqual(RUNTIME_VARIABLES);
  }
});
