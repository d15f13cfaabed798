import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Webhook signatures: the receiver can check that a notification came from the exchange and was
 * not altered or replayed later. HMAC-SHA256 (RFC 2104) over `${timestampSeconds}.${body}`; the
 * timestamp is inside the MAC so an old notification cannot be re-sent with a fresh time.
 * Header value: `t=<seconds>,v1=<hex>[,v1=<hex>]` — one v1 per active secret, so a receiver holding
 * either the old or the new secret verifies during a rotation.
 */
export const SIGNATURE_HEADER = 'X-Tessera-Signature';

export function signWebhook(body: string, secrets: readonly string[], timestampSeconds: number): string {
  if (secrets.length === 0) throw new Error('signWebhook needs at least one secret');
  if (!Number.isSafeInteger(timestampSeconds) || timestampSeconds < 0)
    throw new Error('signWebhook needs a non-negative integer timestamp in seconds');
  const t = String(timestampSeconds);
  return [`t=${t}`, ...secrets.map((s) => `v1=${mac(s, t, body)}`)].join(',');
}

export type SignatureCheck =
  { readonly ok: true } | { readonly ok: false; readonly reason: 'malformed' | 'stale' | 'mismatch' };

const HEX_SHA256 = /^[0-9a-f]{64}$/;

/**
 * Constant-time comparison of every v1 in the header against the MAC under `secret`; rejects a
 * timestamp more than toleranceSeconds (default 300) before or after nowSeconds.
 */
export function verifyWebhook(
  header: string | undefined,
  body: string,
  secret: string,
  options: { readonly nowSeconds: number; readonly toleranceSeconds?: number },
): SignatureCheck {
  if (header === undefined) return { ok: false, reason: 'malformed' };
  let timestamp: string | undefined;
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) return { ok: false, reason: 'malformed' };
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't') {
      if (timestamp !== undefined || !/^\d{1,15}$/.test(value)) return { ok: false, reason: 'malformed' };
      timestamp = value;
    } else if (key === 'v1') {
      if (!HEX_SHA256.test(value)) return { ok: false, reason: 'malformed' };
      signatures.push(value);
    }
    // Other keys (a future v2 scheme) are ignored, so receivers keep working when one is added.
  }
  if (timestamp === undefined || signatures.length === 0) return { ok: false, reason: 'malformed' };
  const tolerance = options.toleranceSeconds ?? 300;
  if (Math.abs(options.nowSeconds - Number(timestamp)) > tolerance) return { ok: false, reason: 'stale' };
  const expected = Buffer.from(mac(secret, timestamp, body), 'hex');
  let matched = false;
  for (const sig of signatures) {
    // No early exit: every candidate is compared, in constant time each.
    if (timingSafeEqual(expected, Buffer.from(sig, 'hex'))) matched = true;
  }
  return matched ? { ok: true } : { ok: false, reason: 'mismatch' };
}

/**
 * 32 random bytes (256 bits: at least the hash output length, RFC 2104 §3), base64url, prefixed
 * `whsec_`. The whole string, prefix included, is the HMAC key on both sides.
 */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}

function mac(secret: string, timestamp: string, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`, 'utf8').digest('hex');
}
