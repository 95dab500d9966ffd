import type { Command } from "commander";
import * as z from "zod";
import { webhookAdmin, webhookRegistrationStore } from "../app/compose.ts";
import { EXIT_FAILURE, EXIT_OK, UsageError } from "../errors.ts";
import { RESPONDENT_WEBHOOK_PATH } from "../http/respondent-webhook.ts";
import { registerWebhook, removeWebhook, type WebhookAdminPorts, webhookStatus } from "../usecases/webhook-admin.ts";
import { type CliContext, withPlatform } from "./context.ts";

const webhookUrlSchema = z.url({ protocol: /^https?$/, error: "must be an http(s) URL" });

async function withWebhookAdmin<T>(context: CliContext, work: (ports: WebhookAdminPorts) => Promise<T>): Promise<T> {
  return withPlatform(context, { needs: { respondent: true } }, (platform) =>
    work({ api: webhookAdmin(platform), registrations: webhookRegistrationStore(platform), clock: platform.clock }),
  );
}

export function registerWebhookCommands(program: Command, context: () => CliContext): void {
  const webhook = program
    .command("webhook")
    .description(
      "the organisation's Respondent webhook (one per organisation): hints that make replies alert in seconds",
    );

  webhook
    .command("register")
    .description(`point the organisation's webhook at this notifier's ${RESPONDENT_WEBHOOK_PATH} URL`)
    .requiredOption("--url <url>", `the notifier's public URL ending in ${RESPONDENT_WEBHOOK_PATH}`)
    .option("--replace", "replace a webhook registered by another integration (it then stops receiving events)")
    .action(async (options: { url: string; replace?: boolean }) => {
      const ctx = context();
      const parsed = webhookUrlSchema.safeParse(options.url);
      if (!parsed.success) throw new UsageError(`--url ${JSON.stringify(options.url)}: must be an http(s) URL`);
      if (!new URL(parsed.data).pathname.endsWith(RESPONDENT_WEBHOOK_PATH)) {
        ctx.note(
          `respondent-notifier: note: the notifier serves webhooks on ${RESPONDENT_WEBHOOK_PATH}; ${options.url} does not end with it`,
        );
      }
      const outcome = await withWebhookAdmin(ctx, (ports) =>
        registerWebhook(ports, parsed.data, { replace: options.replace === true }),
      );
      if (outcome.kind === "refused") {
        ctx.note(
          `respondent-notifier: the organisation's webhook goes to ${outcome.current.url} (id ${outcome.current.id}), which this notifier did not register: another integration may rely on it. Run again with --replace to take it over (that URL then stops receiving events).`,
        );
        ctx.setExitCode(EXIT_FAILURE);
        return;
      }
      const { webhook: registered } = outcome;
      if (outcome.kind === "unchanged") ctx.out(`webhook already registered: ${registered.url} (id ${registered.id})`);
      else {
        ctx.out(`webhook registered: ${registered.url} (id ${registered.id})`);
        if (outcome.replaced) ctx.out(`replaced: ${outcome.replaced.url} (id ${outcome.replaced.id})`);
      }
      if (registered.privateKey) {
        ctx.out(
          `signing key: ${registered.privateKey}\n  set it as RESPONDENT_WEBHOOK_SECRET (locally) or as "webhookSecret" in the Respondent secret (deployed), so forged deliveries are refused`,
        );
      }
      ctx.setExitCode(EXIT_OK);
    });

  webhook
    .command("status")
    .description("where the organisation's webhook goes, and whether this notifier registered it")
    .action(async () => {
      const ctx = context();
      const status = await withWebhookAdmin(ctx, (ports) => webhookStatus(ports));
      if (!status.current) {
        ctx.out("no webhook registered: replies alert on the next poll (register one with `webhook register --url …`)");
      } else {
        ctx.out(
          `webhook: ${status.current.url} (id ${status.current.id}), registered by ${status.owner === "ours" ? "this notifier" : "another integration"}`,
        );
      }
      if (status.registration && status.registration.webhookId !== status.current?.id) {
        ctx.out(
          `this notifier registered ${status.registration.url} on ${status.registration.registeredAt}; it has been replaced since`,
        );
      }
    });

  webhook
    .command("remove")
    .description("remove the organisation's webhook if this notifier registered it (polling still covers every reply)")
    .option("--force", "remove it even if another integration registered it")
    .action(async (options: { force?: boolean }) => {
      const ctx = context();
      const outcome = await withWebhookAdmin(ctx, (ports) => removeWebhook(ports, { force: options.force === true }));
      if (outcome.kind === "none") ctx.out("no webhook registered: nothing to remove");
      else if (outcome.kind === "removed")
        ctx.out(`webhook removed: ${outcome.webhook.url} (id ${outcome.webhook.id})`);
      else {
        ctx.note(
          `respondent-notifier: the organisation's webhook goes to ${outcome.current.url} (id ${outcome.current.id}), which this notifier did not register; --force removes it anyway`,
        );
        ctx.setExitCode(EXIT_FAILURE);
      }
    });
}
