import type { Command } from "commander";
import { describeTableProblem } from "../adapters/dynamo/table.ts";
import { fillSecretCommand } from "../adapters/secret-values.ts";
import { inspectRespondentSecret, inspectSlackSecret } from "../app/aws.ts";
import {
  deadLetterQueue,
  feedStateStore,
  pollChainStore,
  projectNames,
  respondentClient,
  slackDirectory,
  subscriptionStore,
} from "../app/compose.ts";
import { type OperatorPlatform, openOperatorPlatform } from "../app/operator.ts";
import { DEFAULT_SLACK_API_URL, type LocalConfig, SLACK_SECRET_PLACEHOLDERS } from "../config.ts";
import type { Subscription } from "../domain/subscriptions.ts";
import { EXIT_FAILURE, EXIT_OK, registerSecret } from "../errors.ts";
import type { SlackDirectory, SlackIdentity } from "../ports.ts";
import {
  type CheckResult,
  type CheckStatus,
  checkDeadLetters,
  checkFeedState,
  checkHistoryScopes,
  checkPollChain,
  checkProjectNames,
  checkRespondentCredentials,
  checkSigningSecret,
  checkSlackChannel,
  checkSlackToken,
  checkSubscriptions,
  DoctorRun,
  respondentEnvironment,
} from "../usecases/doctor.ts";
import { describeProject } from "../usecases/project-names.ts";
import type { CliContext } from "./context.ts";

export function registerDoctorCommand(program: Command, context: () => CliContext): void {
  program
    .command("doctor")
    .description(
      "check the setup, one line per check with the fix: Respondent credentials and base URL, Slack token and channels, the table, deployed secrets, dead letters",
    )
    .option(
      "--reset-feed",
      "use the messages feed again after the poller switched to sweep-only (the next poll sweeps first)",
    )
    .action(async (options: { resetFeed?: boolean }) => {
      const ctx = context();
      ctx.setExitCode(await runDoctor(ctx, { resetFeed: options.resetFeed === true }));
    });
}

const SYMBOLS: Record<CheckStatus, string> = { pass: "✔", note: "✔", warn: "!", fail: "✘", skip: "-" };
const COLORS: Partial<Record<CheckStatus, string>> = { pass: "32", note: "32", warn: "33", fail: "31" };

export function renderCheck(result: CheckResult, color: boolean): string {
  const code = COLORS[result.status];
  const symbol = color && code ? `\u001b[${code}m${SYMBOLS[result.status]}\u001b[0m` : SYMBOLS[result.status];
  return `${symbol} ${result.check}: ${result.detail}${result.fix ? ` — ${result.fix}` : ""}`;
}

async function runDoctor(ctx: CliContext, options: { resetFeed: boolean } = { resetFeed: false }): Promise<number> {
  const config = ctx.config();
  slackSecretRead = undefined;
  const run = new DoctorRun({
    // Off a terminal each check's own line is the progress; a throttled "checking" line would lag behind it.
    onStart: (check) => {
      if (ctx.io.stderrIsTTY) ctx.progress.update(`… checking ${check}`);
    },
    onResult: (result) => ctx.out(renderCheck(result, ctx.color)),
  });
  try {
    await checkRespondent(ctx, run, config);
    const slack = await checkSlack(ctx, run, config);
    const table = await checkTable(ctx, run);
    try {
      const stored = table ? await checkStoredSubscriptions(run, table) : undefined;
      if (table) {
        await run.check("Messages feed", async () => {
          const store = feedStateStore(table);
          if (options.resetFeed) await store.reset();
          return checkFeedState(config.feed, (await store.read())?.state, options.resetFeed);
        });
        // Only a deployment polling below a minute has a chain: no line otherwise (and none when the
        // table cannot be read: its own check above says so).
        const chain = await pollChainStore(table)
          .read()
          .catch(() => undefined);
        if (chain) await run.check("Poll chain", async () => checkPollChain(chain, new Date()));
      }
      await checkChannels(run, slack, stored?.subscriptions, stored?.describe);
      await run.check("Slack signing secret", () => signingSecretCheck(ctx, config, slack, stored?.subscriptions));
      await checkDeadLetterQueue(ctx, run, table);
    } finally {
      await table?.close();
    }
  } finally {
    ctx.progress.done();
  }
  const count = (status: CheckStatus) => run.results.filter((result) => result.status === status).length;
  const warnings = count("warn");
  ctx.out(
    `doctor: ${count("pass") + count("note")} passed, ${run.failed} failed${warnings > 0 ? `, ${warnings} warning${warnings === 1 ? "" : "s"}` : ""}`,
  );
  return run.failed > 0 ? EXIT_FAILURE : EXIT_OK;
}

async function checkRespondent(ctx: CliContext, run: DoctorRun, config: LocalConfig): Promise<void> {
  const operator = ctx.operator();
  const { baseUrl } = config.respondent;
  let credentials = config.respondentCredentials;
  let credentialsFrom = "RESPONDENT_API_KEY / RESPONDENT_API_SECRET";
  const arn = operator.respondentSecretArn;
  if (!credentials && arn) {
    credentialsFrom = `the values in the Respondent secret ${arn}`;
    await run.check("Respondent secret", async () => {
      const reading = await inspectRespondentSecret(arn, operator.table.region);
      if (!reading.ok) return { status: "fail", detail: `secret ${arn} ${reading.problem}`, fix: reading.fix };
      credentials = reading.value;
      return { status: "pass", detail: `${arn} is filled` };
    });
  }
  if (credentials) {
    const found = credentials;
    registerSecret(found.apiKey);
    registerSecret(found.apiSecret);
    const api = respondentClient(
      {
        respondent: { settings: config.respondent, credentials: async () => found },
        log: ctx.log,
        metrics: ctx.metrics,
      },
      // One page is the question; no prefetching, and a dead endpoint answers within one retry.
      { maxConcurrency: 1, maxRetries: Math.min(config.respondent.maxRetries, 1) },
    );
    await run.check("Respondent credentials", () => checkRespondentCredentials(api, { baseUrl, credentialsFrom }));
    return;
  }
  if (arn) {
    await run.check("Respondent credentials", () => ({
      status: "skip",
      detail: "not checked: the secret is not usable",
    }));
    return;
  }
  if (operator.target === "aws") {
    await run.check("Respondent credentials", () => ({
      status: "fail",
      detail: "none configured",
      fix: "set SECRET_ARN to the stack output SecretArn",
    }));
    return;
  }
  await run.check("Respondent credentials", () => ({
    status: "note",
    detail: `using the built-in simulator: set RESPONDENT_API_KEY and RESPONDENT_API_SECRET (or RESPONDENT_SECRET_ARN) to check real credentials against ${baseUrl} (${respondentEnvironment(baseUrl)})`,
  }));
}

interface SlackAccess {
  directory: SlackDirectory;
  identity: SlackIdentity | undefined;
}

/** What doctor read of the Slack secret (checkSlack): whether it was usable, and its signingSecret. */
let slackSecretRead: { usable: boolean; signingSecret: string | undefined } | undefined;

function signingSecretCheck(
  ctx: CliContext,
  config: LocalConfig,
  slack: SlackAccess | undefined,
  subscriptions: Subscription[] | undefined,
) {
  const arn = ctx.operator().slackSecretArn;
  if (!config.slackSigningSecret && arn && slackSecretRead?.usable === false) {
    return { status: "skip" as const, detail: "not checked: the Slack secret is not usable" };
  }
  const from = config.slackSigningSecret
    ? "SLACK_SIGNING_SECRET"
    : slackSecretRead?.signingSecret && arn
      ? `the signingSecret in the Slack secret ${arn}`
      : undefined;
  const howToSet = arn
    ? `add signingSecret to the Slack secret: ${fillSecretCommand(arn, SLACK_SECRET_PLACEHOLDERS)}`
    : "set SLACK_SIGNING_SECRET";
  return checkSigningSecret({
    from,
    fakeSlack: !slack && !arn && ctx.operator().target !== "aws",
    subscriptions,
    howToSet,
  });
}

/** The Slack token check; returns how to reach Slack when there is a token, usable or not. */
async function checkSlack(ctx: CliContext, run: DoctorRun, config: LocalConfig): Promise<SlackAccess | undefined> {
  const operator = ctx.operator();
  let token = config.slackBotToken;
  let tokenFrom = "SLACK_BOT_TOKEN";
  const arn = operator.slackSecretArn;
  if (!token && arn) {
    tokenFrom = `the botToken in the Slack secret ${arn}`;
    await run.check("Slack secret", async () => {
      const reading = await inspectSlackSecret(arn, operator.table.region);
      if (!reading.ok) {
        slackSecretRead = { usable: false, signingSecret: undefined };
        return { status: "fail", detail: `secret ${arn} ${reading.problem}`, fix: reading.fix };
      }
      token = reading.value.botToken;
      slackSecretRead = { usable: true, signingSecret: reading.value.signingSecret };
      return { status: "pass", detail: `${arn} is filled` };
    });
  }
  if (!token) {
    if (arn) {
      await run.check("Slack token", () => ({ status: "skip", detail: "not checked: the secret is not usable" }));
    } else if (operator.target === "aws") {
      await run.check("Slack token", () => ({
        status: "fail",
        detail: "none configured",
        fix: "set SECRET_ARN to the stack output SecretArn",
      }));
    } else {
      await run.check("Slack token", () => ({
        status: "note",
        detail:
          "using the built-in fake Slack (alerts are printed in the terminal): set SLACK_BOT_TOKEN (or SLACK_SECRET_ARN) to check your workspace",
      }));
    }
    return undefined;
  }
  registerSecret(token);
  const found = token;
  const directory = await slackDirectory({ slack: { settings: config.slack, token: async () => found } });
  let identity: SlackIdentity | undefined;
  await run.check("Slack token", async () => {
    const checked = await checkSlackToken(directory, {
      tokenFrom,
      apiUrl: config.slack.apiUrl,
      defaultApiUrl: DEFAULT_SLACK_API_URL,
    });
    identity = checked.identity;
    return checked.outcome;
  });
  return { directory, identity };
}

/** Returns the open platform when its table is usable (the caller closes it). */
async function checkTable(ctx: CliContext, run: DoctorRun): Promise<OperatorPlatform | undefined> {
  const operator = ctx.operator();
  let opened: OperatorPlatform | undefined;
  const result = await run.check("Table", async () => {
    // Nothing is created or checked by opening it: the check below is doctor's own (an embedded
    // store is this machine's own, so its table is created: that changes nothing anyone relies on).
    opened = await openOperatorPlatform(ctx.config(), operator, {
      needs: { deadLetters: true },
      tableMode: "inspect",
      log: ctx.log,
      metrics: ctx.metrics,
    });
    if (operator.target === "local" && !operator.table.endpoint) {
      return {
        status: "note",
        detail: `${opened.table.where}: ready (set DYNAMODB_ENDPOINT to check another DynamoDB)`,
      };
    }
    const problem = await describeTableProblem(opened.table.client, opened.table.name);
    if (!problem) return { status: "pass", detail: `${opened.table.where}: reachable, key schema pk/sk as expected` };
    return {
      status: "fail",
      detail: problem,
      fix:
        operator.target === "aws"
          ? `check TABLE_NAME (stack output TableName) and AWS_REGION (${operator.table.region ?? "unset: your profile's region"}), and your AWS credentials`
          : "check TABLE_NAME and DYNAMODB_ENDPOINT; a missing table is created by the first `poll --once` or `start`",
    };
  });
  if (result.status === "fail") {
    await opened?.close();
    return undefined;
  }
  return opened;
}

async function checkStoredSubscriptions(
  run: DoctorRun,
  platform: OperatorPlatform,
): Promise<{ subscriptions: Subscription[] | undefined; describe: (projectId: string) => string }> {
  let subscriptions: Subscription[] | undefined;
  await run.check("Subscriptions", async () => {
    subscriptions = await subscriptionStore(platform).list();
    return checkSubscriptions(subscriptions);
  });
  const stored = subscriptions;
  if (!stored || stored.length === 0) return { subscriptions: stored, describe: (id) => id };
  // Names from the cache the poller keeps, or one short lookup each with the Respondent credentials; nothing written.
  const labels = await projectNames(platform, { writes: false }).labels(stored.map((each) => each.projectId));
  // Only `*`: no project to name.
  if (stored.some((each) => each.projectId !== "*")) {
    await run.check("Subscribed projects", () => checkProjectNames(stored, labels));
  }
  return { subscriptions: stored, describe: (id) => (id === "*" ? id : describeProject(labels.get(id), id)) };
}

async function checkChannels(
  run: DoctorRun,
  slack: SlackAccess | undefined,
  subscriptions: Subscription[] | undefined,
  describe?: (projectId: string) => string,
): Promise<void> {
  if (!subscriptions || subscriptions.length === 0) return;
  if (!slack) {
    await run.check("Slack channels", () => ({
      status: "note",
      detail: "not checked: alerts go to the built-in fake Slack",
    }));
    return;
  }
  const { identity, directory } = slack;
  if (!identity) {
    await run.check("Slack channels", () => ({ status: "skip", detail: "not checked: the Slack token is not usable" }));
    return;
  }
  await run.check("Slack history scopes", () => checkHistoryScopes(identity, subscriptions));
  const byChannel = new Map<string, Subscription[]>();
  for (const subscription of subscriptions) {
    byChannel.set(subscription.channelId, [...(byChannel.get(subscription.channelId) ?? []), subscription]);
  }
  for (const [channelId, using] of [...byChannel].sort(([a], [b]) => a.localeCompare(b))) {
    await run.check(`Slack channel ${channelId}`, () =>
      checkSlackChannel(directory, channelId, identity, using, describe),
    );
  }
}

async function checkDeadLetterQueue(
  ctx: CliContext,
  run: DoctorRun,
  platform: OperatorPlatform | undefined,
): Promise<void> {
  const operator = ctx.operator();
  if (operator.target === "aws" && !operator.deadLetterQueueUrl) {
    await run.check("Dead letters", () => ({
      status: "skip",
      detail: "not checked: set DLQ_URL to the stack output DeadLetterQueueUrl",
    }));
    return;
  }
  if (!platform) return;
  await run.check("Dead letters", async () => {
    const count = await deadLetterQueue(platform).approximateCount();
    return checkDeadLetters(
      count,
      operator.deadLetterQueueUrl ? `the dead-letter queue ${operator.deadLetterQueueUrl}` : "the local dead letters",
    );
  });
}
