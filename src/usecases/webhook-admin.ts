import type { Webhook } from "../domain/respondent.ts";
import type { Clock, WebhookAdmin, WebhookRegistration, WebhookRegistrationStore } from "../ports.ts";

/**
 * The organisation's one Respondent webhook (`/v1/webhooks`): registering a URL deactivates
 * whichever was there, which may be another integration's. The table remembers the webhook this
 * installation registered, so `register` can tell ours from someone else's and refuse to take
 * another's without `replace`.
 */
export interface WebhookAdminPorts {
  api: WebhookAdmin;
  registrations: WebhookRegistrationStore;
  clock: Clock;
}

export type WebhookOwner = "ours" | "another integration";

export interface WebhookStatus {
  current: Webhook | undefined;
  owner: WebhookOwner | undefined;
  registration: WebhookRegistration | undefined;
}

function ownerOf(current: Webhook, registration: WebhookRegistration | undefined): WebhookOwner {
  return registration?.webhookId === current.id ? "ours" : "another integration";
}

export async function webhookStatus(ports: WebhookAdminPorts): Promise<WebhookStatus> {
  const [current, registration] = await Promise.all([ports.api.getWebhook(), ports.registrations.read()]);
  return { current, owner: current ? ownerOf(current, registration) : undefined, registration };
}

export type RegisterOutcome =
  | { kind: "registered"; webhook: Webhook; replaced: Webhook | undefined }
  | { kind: "unchanged"; webhook: Webhook }
  | { kind: "refused"; current: Webhook };

export async function registerWebhook(
  ports: WebhookAdminPorts,
  url: string,
  options: { replace: boolean },
): Promise<RegisterOutcome> {
  const { current, owner } = await webhookStatus(ports);
  if (current && current.url === url) {
    // The same URL is this endpoint whoever registered it: adopt it rather than rotate its key.
    await ports.registrations.save({ webhookId: current.id, url, registeredAt: ports.clock.now().toISOString() });
    return { kind: "unchanged", webhook: current };
  }
  if (current && owner !== "ours" && !options.replace) return { kind: "refused", current };
  const webhook = await ports.api.createWebhook(url);
  await ports.registrations.save({
    webhookId: webhook.id,
    url: webhook.url,
    registeredAt: ports.clock.now().toISOString(),
  });
  return { kind: "registered", webhook, replaced: current };
}

export type RemoveOutcome =
  | { kind: "removed"; webhook: Webhook }
  | { kind: "none" }
  | { kind: "refused"; current: Webhook };

export async function removeWebhook(ports: WebhookAdminPorts, options: { force: boolean }): Promise<RemoveOutcome> {
  const { current, owner } = await webhookStatus(ports);
  if (!current) {
    await ports.registrations.forget();
    return { kind: "none" };
  }
  if (owner !== "ours" && !options.force) return { kind: "refused", current };
  await ports.api.deleteWebhook(current.id);
  await ports.registrations.forget();
  return { kind: "removed", webhook: current };
}
