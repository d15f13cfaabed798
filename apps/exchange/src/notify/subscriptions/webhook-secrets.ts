import { newWebhookSecret } from '@tessera/subscriptions';
import type { WebhookSecret } from './subscription.repository';

/** The secrets that sign now: every one not yet retired (two during a rotation's overlap). */
export function activeSecrets(secrets: readonly WebhookSecret[], now: Date): string[] {
  return secrets
    .filter((s) => s.retiresAt === undefined || Date.parse(s.retiresAt) > now.getTime())
    .map((s) => s.secret);
}

/**
 * A rotation: a new secret signs from now on; the current ones keep signing for `overlapHours`
 * (or stop at once with `retireNow`), so a receiver can switch keys without losing a notification.
 */
export function rotate(
  secrets: readonly WebhookSecret[],
  now: Date,
  overlapHours: number,
  retireNow: boolean,
): { readonly secrets: WebhookSecret[]; readonly secret: string } {
  const retiresAt = new Date(now.getTime() + (retireNow ? 0 : overlapHours * 3600_000)).toISOString();
  const kept = secrets
    .filter((s) => s.retiresAt === undefined || Date.parse(s.retiresAt) > now.getTime())
    .map((s) => ({
      ...s,
      retiresAt: s.retiresAt !== undefined && s.retiresAt < retiresAt ? s.retiresAt : retiresAt,
    }))
    .filter((s) => Date.parse(s.retiresAt) > now.getTime());
  const secret = newWebhookSecret();
  return { secrets: [...kept, { secret, createdAt: now.toISOString() }], secret };
}
