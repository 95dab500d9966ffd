import type { Command } from "commander";
import { credentialsSecretStore } from "../app/aws.ts";
import { CREDENTIALS_SECRET_FIELDS, loadSecretFillConfig } from "../config.ts";
import { EXIT_OK, UsageError } from "../errors.ts";
import { fillCredentialsSecret } from "../usecases/secret-fill.ts";
import type { CliContext } from "./context.ts";

const VARIABLES = CREDENTIALS_SECRET_FIELDS.map(
  (each) => `  ${each.variable.padEnd(26)} ${each.field}${each.required ? "" : " (optional)"}: ${each.what}`,
).join("\n");

export function registerSecretCommands(program: Command, context: () => CliContext): void {
  const secret = program.command("secret").description("the deployed stack's one credentials secret");
  secret
    .command("fill")
    .description("store credentials in the stack's secret; refuses to leave a required field empty")
    .option("--secret-id <arn>", "the secret's ARN (stack output SecretArn; default: SECRET_ARN)")
    .addHelpText(
      "after",
      `\nValues come from these variables (a field whose variable is unset keeps its stored value):\n${VARIABLES}\n\nExample: RESPONDENT_API_KEY=... RESPONDENT_API_SECRET=... SLACK_BOT_TOKEN=xoxb-... npx respondent-notifier secret fill --secret-id <SecretArn>`,
    )
    .action(async (options: { secretId?: string }) => {
      const ctx = context();
      ctx.setExitCode(await runSecretFill(ctx, options));
    });
}

async function runSecretFill(context: CliContext, options: { secretId?: string }): Promise<number> {
  const config = loadSecretFillConfig(context.env());
  const arn = options.secretId?.trim() || config.secretArn;
  if (!arn) throw new UsageError("secret fill needs --secret-id <arn> or SECRET_ARN (the stack output SecretArn)");
  if (!arn.startsWith("arn:"))
    throw new UsageError(`--secret-id must be the secret's ARN (stack output SecretArn), got ${arn}`);
  const store = credentialsSecretStore(arn, undefined);
  const result = await fillCredentialsSecret(store, config.values);
  const list = (fields: string[]) => fields.join(", ");
  context.out(
    `stored in ${arn}: ${list(result.given)}${result.kept.length > 0 ? `; kept: ${list(result.kept)}` : ""}${
      result.unset.length > 0 ? `; not set (optional): ${list(result.unset)}` : ""
    }`,
  );
  context.out(
    "the functions use the new values within 15 minutes (their secret cache); check them: npx respondent-notifier doctor",
  );
  return EXIT_OK;
}
