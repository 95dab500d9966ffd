import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * Respondent's webhook signature, as far as it is known (NOTES.md; not documented by Respondent):
 * `Respondent-Webhook-Signature: <algorithm>=<base64 HMAC>` keyed with the webhook's
 * `privateKey`. Which bytes are signed is not known either: the body as sent, or its JSON
 * re-serialised. Both are accepted, and the caller logs which one matched.
 */
export const WEBHOOK_SIGNATURE_HEADER = "respondent-webhook-signature";

const ALGORITHMS = new Set(["sha256", "sha512", "sha1"]);

export type SignatureCheck =
  | { ok: true; matched: "raw" | "reserialised" }
  | { ok: false; reason: "missing" | "malformed" | "unsupported algorithm" | "mismatch" };

export function checkWebhookSignature(rawBody: Buffer, header: string | undefined, secret: string): SignatureCheck {
  if (!header) return { ok: false, reason: "missing" };
  const match = /^\s*([A-Za-z0-9-]+)=([A-Za-z0-9+/=_-]+)\s*$/.exec(header);
  if (!match) return { ok: false, reason: "malformed" };
  const algorithm = (match[1] ?? "").toLowerCase();
  if (!ALGORITHMS.has(algorithm)) return { ok: false, reason: "unsupported algorithm" };
  const given = Buffer.from(match[2] ?? "", "base64");
  if (given.length === 0) return { ok: false, reason: "malformed" };
  if (matches(given, hmac(algorithm, secret, rawBody))) return { ok: true, matched: "raw" };
  const reserialised = reserialise(rawBody);
  if (reserialised && matches(given, hmac(algorithm, secret, reserialised)))
    return { ok: true, matched: "reserialised" };
  return { ok: false, reason: "mismatch" };
}

/** `sha256=<base64>` over `body`, as the simulator signs its deliveries. */
export function signWebhookBody(body: string | Buffer, secret: string, algorithm = "sha256"): string {
  return `${algorithm}=${hmac(algorithm, secret, Buffer.from(body)).toString("base64")}`;
}

function hmac(algorithm: string, secret: string, body: Buffer): Buffer {
  return createHmac(algorithm, secret).update(body).digest();
}

function matches(given: Buffer, expected: Buffer): boolean {
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The body as `JSON.stringify` writes it (no whitespace, keys in their order), or undefined if it is not JSON. */
function reserialise(rawBody: Buffer): Buffer | undefined {
  try {
    return Buffer.from(JSON.stringify(JSON.parse(rawBody.toString("utf8"))));
  } catch {
    return undefined;
  }
}
