import type { RedisClient } from '@tessera/platform-redis';

export interface RateDecision {
  readonly allowed: boolean;
  readonly count: number;
  /** Seconds until the window resets (Retry-After). */
  readonly retryAfterSeconds: number;
}

/**
 * Fixed one-second window per client in Redis, shared by every replica: `INCR` of
 * `exchange:rate:{client}:<epoch second>` with a 2-second expiry set on the first hit.
 */
export async function hitRateLimit(
  redis: Pick<RedisClient, 'multi'>,
  clientId: string,
  limit: number,
  nowMs = Date.now(),
): Promise<RateDecision> {
  const second = Math.floor(nowMs / 1000);
  const key = `exchange:rate:{${clientId}}:${second}`;
  const replies = await redis.multi().incr(key).expire(key, 2, 'NX').exec();
  const count = Number(replies[0]);
  return { allowed: count <= limit, count, retryAfterSeconds: 1 };
}
