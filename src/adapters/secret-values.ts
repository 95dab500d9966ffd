import { GetSecretValueCommand, PutSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { z } from "zod";
import { CREDENTIALS_SECRET_FIELDS } from "../config.ts";
import { describeError, registerSecret, StateUnavailableError } from "../errors.ts";
import type { CredentialsSecretStore } from "../ports.ts";

/**
 * Reads the stack's JSON secrets for the operator CLI (doctor, and the deployed mode of the
 * other commands). Unlike the Lambdas' cached getter it reports *why* a secret is unusable as
 * data (empty, not JSON, missing, forbidden), with the command that fixes it, so `doctor` can
 * print it as a check line. Secret values never appear in a problem or fix.
 */

/** `region` undefined: the AWS SDK's default chain decides. */
export function createSecretsManagerClient(region: string | undefined): SecretsManagerClient {
  return new SecretsManagerClient({
    region,
    maxAttempts: 2,
    requestHandler: { connectionTimeout: 2_000, requestTimeout: 5_000 },
  });
}

/** What the secret holds, or what is wrong with it and how to fix it. */
export type SecretReading<T> = { ok: true; value: T } | { ok: false; problem: string; fix: string };

export interface JsonSecretSpec<T extends z.ZodType> {
  arn: string;
  /** The environment variable that named the ARN, for the "check ..." hints. */
  variable: string;
  /** The stack output that holds the right ARN. */
  stackOutput: string;
  schema: T;
  /** Each JSON field with the placeholder shown in the fill command (as in the stack's output). */
  placeholders: Record<string, string>;
}

/** The region of a Secrets Manager ARN (`arn:aws:secretsmanager:<region>:...`), if it has one. */
export function regionOfArn(arn: string): string | undefined {
  const region = arn.split(":")[3];
  return region && /^[a-z]{2}(-[a-z]+)+-\d$/.test(region) ? region : undefined;
}

/**
 * The command that fills the stack's one secret (the stack output FillSecretCommand). Not a raw
 * `put-secret-value`: the secret holds every credential, and that would replace all of it with
 * the fields it names; `secret fill` keeps the others and refuses to leave a required one empty.
 * `placeholders` maps the secret's fields to fill to their placeholders; each is given through
 * the variable `secret fill` reads it from.
 */
export function fillSecretCommand(arn: string, placeholders: Record<string, string>): string {
  const variables = Object.entries(placeholders).map(([field, placeholder]) => {
    const variable = CREDENTIALS_SECRET_FIELDS.find((each) => each.field === field)?.variable ?? field;
    return `${variable}=${placeholder}`;
  });
  return [...variables, "npx respondent-notifier secret fill", `--secret-id ${arn}`].join(" ");
}

/** The one credentials secret in Secrets Manager, read and written whole. */
export class SecretsManagerCredentialsStore implements CredentialsSecretStore {
  constructor(
    private readonly client: SecretsManagerClient,
    readonly where: string,
  ) {}

  async read(): Promise<Record<string, unknown> | undefined> {
    let text: string | undefined;
    try {
      text = (await this.client.send(new GetSecretValueCommand({ SecretId: this.where }))).SecretString;
    } catch (error) {
      const name = error instanceof Error ? error.name : "";
      const message = error instanceof Error ? error.message : "";
      if (name === "ResourceNotFoundException" && /secret value/i.test(message)) return undefined;
      throw new StateUnavailableError(`could not read secret ${this.where}: ${describeError(error)}`, { cause: error });
    }
    try {
      const json: unknown = JSON.parse(text ?? "");
      if (typeof json !== "object" || json === null || Array.isArray(json)) return undefined;
      for (const value of Object.values(json)) if (typeof value === "string" && value) registerSecret(value);
      return json as Record<string, unknown>;
    } catch {
      return undefined;
    }
  }

  async write(value: Record<string, string>): Promise<void> {
    try {
      await this.client.send(new PutSecretValueCommand({ SecretId: this.where, SecretString: JSON.stringify(value) }));
    } catch (error) {
      throw new StateUnavailableError(`could not store secret ${this.where}: ${describeError(error)}`, {
        cause: error,
      });
    }
  }
}

export async function readJsonSecret<T extends z.ZodType>(
  client: SecretsManagerClient,
  spec: JsonSecretSpec<T>,
): Promise<SecretReading<z.output<T>>> {
  const fill = `fill it with ${fillSecretCommand(spec.arn, spec.placeholders)}`;
  let text: string | undefined;
  try {
    const result = await client.send(new GetSecretValueCommand({ SecretId: spec.arn }));
    text = result.SecretString;
  } catch (error) {
    return unreadable(error, spec, fill);
  }
  if (text === undefined) return { ok: false, problem: "holds binary data, not JSON", fix: fill };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, problem: "is not JSON", fix: fill };
  }
  const fields = Object.keys(spec.placeholders);
  const record =
    typeof json === "object" && json !== null && !Array.isArray(json) ? (json as Record<string, unknown>) : {};
  if (fields.every((field) => record[field] === undefined || record[field] === "")) {
    return { ok: false, problem: "is empty", fix: fill };
  }
  const parsed = spec.schema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join(".") || "(value)"}: ${issue.message}`);
    return { ok: false, problem: `has bad fields (${problems.join("; ")})`, fix: fill };
  }
  for (const value of Object.values(parsed.data as Record<string, unknown>)) {
    if (typeof value === "string") registerSecret(value);
  }
  return { ok: true, value: parsed.data };
}

function unreadable(
  error: unknown,
  spec: JsonSecretSpec<z.ZodType>,
  fill: string,
): { ok: false; problem: string; fix: string } {
  const name = error instanceof Error ? error.name : "";
  const message = error instanceof Error ? error.message : "";
  if (name === "ResourceNotFoundException" && /secret value/i.test(message)) {
    return { ok: false, problem: "has no value yet", fix: fill };
  }
  if (name === "ResourceNotFoundException") {
    return {
      ok: false,
      problem: "does not exist",
      fix: `check ${spec.variable} against the stack output ${spec.stackOutput} (and the region)`,
    };
  }
  if (name === "AccessDeniedException") {
    return {
      ok: false,
      problem: "cannot be read (access denied)",
      fix: "the AWS identity running the CLI needs secretsmanager:GetSecretValue on it",
    };
  }
  return {
    ok: false,
    problem: `could not be read: ${describeError(error)}`,
    fix: "check your AWS credentials (aws sts get-caller-identity) and network",
  };
}
