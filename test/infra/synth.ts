import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import type { CloudAssembly } from "aws-cdk-lib/cx-api";
import { REPO_ROOT } from "../../infra/constructs/service-function.ts";
import { parseSettings } from "../../infra/settings.ts";
import { NotifierStack } from "../../infra/stack.ts";

/**
 * Tiny handlers the template tests bundle instead of the real ones: they bundle in milliseconds
 * and keep these tests about the infrastructure, not about whether the Lambda code compiles
 * (test/infra/bundle.test.ts covers the real entries).
 */
export const FIXTURE_ENTRIES = {
  pollerEntry: "test/infra/fixtures/poller-handler.ts",
  notifierEntry: "test/infra/fixtures/notifier-handler.ts",
  httpEntry: "test/infra/fixtures/http-handler.ts",
} as const;

export interface Synthesized {
  app: App;
  stack: NotifierStack;
  assembly: CloudAssembly;
  template: Template;
  /** Removes the temp directory the assembly (with the bundles) was written to. */
  cleanup(): void;
}

/**
 * The context `cdk synth` reads from cdk.json: the CDK feature flags the project adopted. The
 * template tests synthesize with them, so they check the template `cdk deploy` would deploy.
 */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(join(REPO_ROOT, "cdk.json"), "utf8")) as {
    context?: Record<string, unknown>;
  };
  return cdkJson.context ?? {};
}

/** Synthesizes the stack as infra/app.ts does, from raw context values, into a temp directory. */
export function synthesize(context: Record<string, unknown> = {}): Synthesized {
  const outdir = mkdtempSync(join(tmpdir(), "notifier-cdk-"));
  const app = new App({ outdir, context: cdkJsonContext() });
  const settings = parseSettings(context);
  const stack = new NotifierStack(app, settings.stackName, { settings, ...FIXTURE_ENTRIES });
  const assembly = app.synth();
  const template = Template.fromJSON(assembly.getStackByName(stack.stackName).template);
  return { app, stack, assembly, template, cleanup: () => rmSync(outdir, { recursive: true, force: true }) };
}

export type Json = Record<string, unknown>;

/** The directory of a cloud assembly holding a function's bundled code (named by its S3 key's hash). */
export function bundleDirectory(assemblyDirectory: string, functionResource: { Properties: Json }): string {
  const key = (functionResource.Properties.Code as { S3Key?: unknown }).S3Key;
  if (typeof key !== "string" || !key.endsWith(".zip")) throw new Error(`not a bundled asset: ${JSON.stringify(key)}`);
  return join(assemblyDirectory, `asset.${key.slice(0, -".zip".length)}`);
}

/** Resources of one type, by logical id. */
export function resourcesOf(template: Template, type: string): Record<string, { Properties: Json } & Json> {
  return template.findResources(type) as Record<string, { Properties: Json } & Json>;
}

/** The single resource of a type whose logical id starts with `prefix`. */
export function resource(template: Template, type: string, prefix: string): { id: string; Properties: Json } & Json {
  const matches = Object.entries(resourcesOf(template, type)).filter(([id]) => id.startsWith(prefix));
  if (matches.length !== 1) {
    throw new Error(`expected one ${type} named ${prefix}*, found ${matches.map(([id]) => id).join(", ") || "none"}`);
  }
  const [id, value] = matches[0] as [string, { Properties: Json } & Json];
  return { id, ...value };
}

/** `{ Ref: id }` or `{ "Fn::GetAtt": [id, attribute] }`, as CloudFormation references resources. */
export const ref = (id: string) => ({ Ref: id });
export const getAtt = (id: string, attribute: string) => ({ "Fn::GetAtt": [id, attribute] });

export interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
}

/** Every statement of every policy attached to a role, with actions as arrays. */
export function statementsOfRole(template: Template, roleId: string): { actions: string[]; resource: unknown }[] {
  const policies = Object.values(resourcesOf(template, "AWS::IAM::Policy")).filter((policy) =>
    (policy.Properties.Roles as unknown[]).some((role) => JSON.stringify(role) === JSON.stringify(ref(roleId))),
  );
  // One entry per (actions, resource): the same grants whether or not CDK merged statements
  // (the `@aws-cdk/aws-iam:minimizePolicies` flag joins statements with the same actions).
  return policies.flatMap((policy) =>
    ((policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement ?? []).flatMap((statement) =>
      [statement.Resource].flat().map((resource) => ({ actions: [statement.Action].flat().sort(), resource })),
    ),
  );
}
