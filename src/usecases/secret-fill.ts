import { CREDENTIALS_SECRET_FIELDS, type CredentialsField, credentialsSecretSchema } from "../config.ts";
import { ConfigError } from "../errors.ts";
import type { CredentialsSecretStore } from "../ports.ts";

export interface SecretFillResult {
  /** Fields written with a value given now. */
  given: CredentialsField[];
  /** Fields that kept their stored value. */
  kept: CredentialsField[];
  /** Optional fields that stay unset. */
  unset: CredentialsField[];
}

/**
 * Fills the one credentials secret: the values given replace their fields, every other field
 * keeps its stored value (so rotating one credential is one variable), and the result is
 * written only if it is whole. A required field left empty, or a value of the wrong shape (a
 * bot token without `xoxb-`), is a ConfigError naming every such field and its variable, and
 * nothing is written: the secret is never left half filled.
 */
export async function fillCredentialsSecret(
  store: CredentialsSecretStore,
  given: Partial<Record<CredentialsField, string>>,
): Promise<SecretFillResult> {
  if (Object.keys(given).length === 0) {
    throw new ConfigError(
      CREDENTIALS_SECRET_FIELDS.map((each) => each.variable).join(", "),
      "none is set: give the values to store through these variables",
    );
  }
  const stored = (await store.read()) ?? {};
  const merged: Record<string, unknown> = {};
  for (const { field } of CREDENTIALS_SECRET_FIELDS) {
    const value = given[field] ?? stored[field];
    if (typeof value === "string" && value !== "") merged[field] = value;
  }
  const parsed = credentialsSecretSchema.safeParse(merged);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const field = String(issue.path[0] ?? "");
      const spec = CREDENTIALS_SECRET_FIELDS.find((each) => each.field === field);
      const message = merged[field] === undefined ? "is empty" : issue.message;
      return spec
        ? `${field} ${message.replace(/^\w+ is empty$/, "is empty")} (set ${spec.variable}: ${spec.what})`
        : message;
    });
    throw new ConfigError(store.where, `nothing stored, the secret would be incomplete: ${problems.join("; ")}`);
  }
  const value: Record<string, string> = {};
  for (const [field, text] of Object.entries(parsed.data)) if (typeof text === "string") value[field] = text;
  await store.write(value);
  const fields = CREDENTIALS_SECRET_FIELDS.map((each) => each.field);
  return {
    given: fields.filter((field) => given[field] !== undefined),
    kept: fields.filter((field) => given[field] === undefined && value[field] !== undefined),
    unset: fields.filter((field) => value[field] === undefined),
  };
}
