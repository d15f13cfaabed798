import { Inject, Injectable } from '@nestjs/common';
import type { PatientPolicy } from '@tessera/consent-policy';
import { policyKey, policyVersionKey, writeCachedPolicy } from '@tessera/platform-consent-cache';
import type { RedisClient } from '@tessera/platform-redis';
import { LOGGER, REDIS_CLIENT } from '@tessera/platform-service';
import type { Logger } from 'pino';
import { EXCHANGE_SETTINGS } from '../exchange.config';
import type { ExchangeSettings } from '../exchange.config';
import { CONSENT_UPSTREAM } from '../upstream/upstream.tokens';
import { UpstreamStatusError } from '../upstream/upstream.client';
import type { UpstreamClient } from '../upstream/upstream.client';

/** A Redis call slower than this is treated as Redis being down (ask the consent service instead). */
const REDIS_BUDGET_MS = 250;

/**
 * The PatientPolicy of a person, through the shared Redis cache (design "Policy cache protocol"):
 * one MGET of version key + policy; a cached policy is used only when its version is at least the
 * version key; a miss asks the consent service and caches the answer with the version guard.
 * Redis down or slow → the consent service directly (never a stale answer). Batched for PDQm.
 */
@Injectable()
export class PatientPolicyService {
  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: RedisClient,
    @Inject(CONSENT_UPSTREAM) private readonly consent: UpstreamClient,
    @Inject(EXCHANGE_SETTINGS) private readonly settings: ExchangeSettings,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async policyOf(enterpriseId: string): Promise<PatientPolicy | null> {
    return (await this.policiesOf([enterpriseId])).get(enterpriseId) ?? null;
  }

  /** Policies of several persons: one MGET for all, the misses fetched in parallel. Null: unknown person. */
  async policiesOf(enterpriseIds: readonly string[]): Promise<Map<string, PatientPolicy | null>> {
    const ids = [...new Set(enterpriseIds)];
    const result = new Map<string, PatientPolicy | null>();
    if (ids.length === 0) return result;
    let cached: (string | null)[] | null = null;
    try {
      const keys = ids.flatMap((id) => [policyVersionKey(id), policyKey(id)]);
      cached = (await withBudget(this.redis.mGet(keys))).map((v) =>
        v === null || v === undefined ? null : String(v),
      );
    } catch (error) {
      this.logger.warn(
        { err: { name: (error as Error).name, message: (error as Error).message } },
        'policy cache unavailable; asking the consent service',
      );
    }
    const misses: string[] = [];
    ids.forEach((id, i) => {
      const policy = cached === null ? null : usable(id, cached[2 * i] ?? null, cached[2 * i + 1] ?? null);
      if (policy === null) misses.push(id);
      else result.set(id, policy);
    });
    await Promise.all(
      misses.map(async (id) => {
        const policy = await this.fetch(id);
        result.set(id, policy);
        if (policy !== null && cached !== null) {
          await withBudget(
            writeCachedPolicy(this.redis, policy, this.settings.EXCHANGE_POLICY_CACHE_TTL_SECONDS),
          ).catch(() => false);
        }
      }),
    );
    return result;
  }

  private async fetch(enterpriseId: string): Promise<PatientPolicy | null> {
    try {
      const { body } = await this.consent.json<unknown>({ path: ['internal', 'policy', enterpriseId] });
      const policy = asPolicy(body);
      if (policy === null || policy.enterpriseId !== enterpriseId)
        throw new Error('the consent service answered a malformed policy');
      return policy;
    } catch (error) {
      if (error instanceof UpstreamStatusError && error.status === 404) return null;
      throw error;
    }
  }
}

function usable(
  enterpriseId: string,
  versionText: string | null,
  policyText: string | null,
): PatientPolicy | null {
  if (policyText === null) return null;
  const minVersion = versionText === null ? 0 : Number(versionText);
  let policy: PatientPolicy | null;
  try {
    policy = asPolicy(JSON.parse(policyText));
  } catch {
    return null;
  }
  if (policy === null || policy.enterpriseId !== enterpriseId) return null;
  return Number.isFinite(minVersion) && policy.version >= minVersion ? policy : null;
}

/** Structural check of a PatientPolicy (the consent service is trusted; this catches garbage). */
export function asPolicy(value: unknown): PatientPolicy | null {
  if (typeof value !== 'object' || value === null) return null;
  const p = value as Partial<PatientPolicy>;
  if (typeof p.enterpriseId !== 'string' || typeof p.version !== 'number') return null;
  if (!Array.isArray(p.directives) || !Array.isArray(p.breakGlass) || !Array.isArray(p.holdingInstitutions))
    return null;
  return p as PatientPolicy;
}

function withBudget<T>(promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('redis did not answer in time')), REDIS_BUDGET_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
