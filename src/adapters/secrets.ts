import { SecretsProvider } from "@aws-lambda-powertools/parameters/secrets";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { z } from "zod";
import { ConfigError, describeError, registerSecret, StateUnavailableError } from "../errors.ts";

/**
 * Secrets are cached for this long in a warm Lambda: a rotation is picked up within it. 15 minutes
 * rather than 5: each function's reads are then $0.01 a month instead of $0.04 (bench/cost.ts).
 */
export const SECRET_MAX_AGE_SECONDS = 900;

/** `region` undefined: the AWS SDK's default chain decides. */
export function createSecretsProvider(region: string | undefined): SecretsProvider {
  return new SecretsProvider({
    awsSdkV3Client: new SecretsManagerClient({
      region,
      maxAttempts: 3,
      requestHandler: { connectionTimeout: 1_000, requestTimeout: 3_000 },
    }),
  });
}

/**
 * A cached getter for a JSON secret, validated with `schema`. An empty or malformed secret is
 * a ConfigError that says how to fill it; the value itself never appears in a message.
 */
export function secretGetter<T extends z.ZodType>(
  provider: SecretsProvider,
  secretArn: string,
  schema: T,
  fillCommand: string,
): () => Promise<z.output<T>> {
  return async () => {
    let raw: string | undefined;
    try {
      const value = await provider.get(secretArn, { maxAge: SECRET_MAX_AGE_SECONDS });
      raw = typeof value === "string" ? value : undefined;
    } catch (error) {
      if (error instanceof Error && /ResourceNotFound|can't find the specified secret value/i.test(error.message)) {
        throw new ConfigError(secretArn, `the secret has no value yet: fill it with ${fillCommand}`, { cause: error });
      }
      throw new StateUnavailableError(`could not read secret ${secretArn}: ${describeError(error)}`, { cause: error });
    }
    let parsedJson: unknown;
    try {
      parsedJson = JSON.parse(raw ?? "");
    } catch {
      throw new ConfigError(secretArn, `the secret is not JSON: fill it with ${fillCommand}`);
    }
    const parsed = schema.safeParse(parsedJson);
    if (!parsed.success) {
      const fields = parsed.error.issues.map((issue) => issue.path.join(".") || "(value)").join(", ");
      throw new ConfigError(
        secretArn,
        `the secret is missing or has bad fields (${fields}): fill it with ${fillCommand}`,
      );
    }
    for (const value of Object.values(parsed.data as Record<string, unknown>)) {
      if (typeof value === "string") registerSecret(value);
    }
    return parsed.data;
  };
}
