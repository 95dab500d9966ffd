import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type Duration, RemovalPolicy } from "aws-cdk-lib";
import { type IRole, Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { Architecture, Runtime } from "aws-cdk-lib/aws-lambda";
import { type BundlingOptions, NodejsFunction, OutputFormat } from "aws-cdk-lib/aws-lambda-nodejs";
import { LogGroup } from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import type { LogRetentionDays } from "../settings.ts";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

export const LAMBDA_RUNTIME = Runtime.NODEJS_24_X;

/**
 * How every function is bundled. Exported so the bundle test loads exactly what the stack ships.
 * ESM output so handlers may use top-level await; the banner gives CommonJS dependencies the
 * `require` they expect. The AWS SDK is bundled rather than taken from the runtime, so the
 * deployed code runs the SDK versions the lockfile pins and the tests ran.
 */
export const LAMBDA_BUNDLING = {
  format: OutputFormat.ESM,
  target: "node24",
  mainFields: ["module", "main"],
  banner:
    "import { createRequire as topLevelCreateRequire } from 'node:module'; const require = topLevelCreateRequire(import.meta.url);",
  minify: true,
  keepNames: true,
  sourceMap: true,
  sourcesContent: false,
  bundleAwsSDK: true,
  forceDockerBundling: false,
} as const satisfies BundlingOptions;

export interface ServiceFunctionProps {
  /** Entry file, absolute or relative to the repository root. */
  entry: string;
  description: string;
  memorySize: number;
  timeout: Duration;
  /** POWERTOOLS_SERVICE_NAME: the `service` of every log line and the metric dimension. */
  serviceName: string;
  metricsNamespace: string;
  logRetentionDays: LogRetentionDays;
  /** Configuration the function's config loader reads (see src/config.ts). */
  environment: Record<string, string>;
  reservedConcurrentExecutions?: number;
}

/**
 * A Node.js function with its own role and log group. The role starts empty: it can write to
 * its own log group and nothing else until a construct grants it access to a resource.
 */
export class ServiceFunction extends Construct {
  readonly function: NodejsFunction;
  readonly role: IRole;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: ServiceFunctionProps) {
    super(scope, id);

    this.logGroup = new LogGroup(this, "Logs", {
      retention: props.logRetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    const role = new Role(this, "Role", {
      assumedBy: new ServicePrincipal("lambda.amazonaws.com"),
      description: `${props.description} (execution role)`,
    });
    this.logGroup.grantWrite(role);
    this.role = role;

    this.function = new NodejsFunction(this, "Function", {
      entry: resolve(REPO_ROOT, props.entry),
      handler: "handler",
      projectRoot: REPO_ROOT,
      depsLockFilePath: resolve(REPO_ROOT, "package-lock.json"),
      description: props.description,
      runtime: LAMBDA_RUNTIME,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize,
      timeout: props.timeout,
      role,
      logGroup: this.logGroup,
      bundling: LAMBDA_BUNDLING,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      environment: {
        POWERTOOLS_SERVICE_NAME: props.serviceName,
        POWERTOOLS_METRICS_NAMESPACE: props.metricsNamespace,
        LOG_LEVEL: "INFO",
        // Stack traces in the logs point at the TypeScript sources, not the minified bundle.
        NODE_OPTIONS: "--enable-source-maps",
        ...props.environment,
      },
    });
  }
}
