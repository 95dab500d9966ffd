import { App, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { ConfigError } from "../src/errors.ts";
import { parseSettings, SETTING_NAMES, type Settings, unknownSettingNames } from "./settings.ts";
import { NotifierStack } from "./stack.ts";

const app = new App();

function readSettings(): Settings {
  const context = app.node.getAllContext() as Record<string, unknown>;
  const unknown = unknownSettingNames(Object.keys(context));
  const replaced = unknown.filter((name) => name === "existingRespondentSecret" || name === "existingSlackSecret");
  if (replaced.length > 0) {
    throw new ConfigError(
      replaced.join(", "),
      "replaced by existingSecret: one secret now holds every credential (apiKey, apiSecret, botToken, signingSecret, webhookSecret); see infra/README.md",
    );
  }
  if (unknown.length > 0) {
    throw new ConfigError(unknown.join(", "), `unknown setting; the settings are ${SETTING_NAMES.join(", ")}`);
  }
  return parseSettings(context);
}

let settings: Settings;
try {
  settings = readSettings();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  // A setting mistake needs the message, not a stack trace.
  console.error(`Invalid setting: ${error.message}`);
  process.exit(1);
}

// `cdk synth` and `cdk deploy` stop on any unacknowledged cdk-nag finding, not only the tests.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));

// Environment-agnostic (no account/region baked in): nothing needs a lookup, and `cdk deploy`
// targets whatever account and region the caller's AWS configuration names.
new NotifierStack(app, settings.stackName, {
  settings,
  description: "Respondent.io participant replies to Slack (poller, queue, notifier)",
});
