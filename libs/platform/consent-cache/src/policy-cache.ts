import type { RedisClient } from '@tessera/platform-redis';

/**
 * The consent policy cache protocol (docs/design/exchange-and-consent.md "Policy cache protocol"),
 * shared by the consent service (which raises versions) and every exchange replica (which caches
 * policies). Both keys of one person carry the enterprise id as a Redis Cluster hash tag (`{eid}`),
 * so the Lua scripts that touch both run on one slot.
 *
 *  - `consent:policy-version:{eid}`: the highest policy version known for the person. Only ever
 *    raised (Lua max), by the consent service right after its transaction commits and by the
 *    exchange's hie.consent consumer (backstop).
 *  - `consent:policy:{eid}`: a JSON PatientPolicy, written only if its `version` is at least the
 *    version key (Lua), with a TTL. A cached policy is used only when `policy.version >= version key`.
 */

/** The part of a PatientPolicy this protocol looks at (the lib stays free of the domain types). */
export interface VersionedPolicy {
  readonly enterpriseId: string;
  readonly version: number;
}

export const POLICY_CACHE_TTL_SECONDS = 600;

export function policyVersionKey(enterpriseId: string): string {
  return `consent:policy-version:{${enterpriseId}}`;
}

export function policyKey(enterpriseId: string): string {
  return `consent:policy:{${enterpriseId}}`;
}

/** KEYS[1] version key, ARGV[1] candidate version → the stored version after the call (monotonic max). */
export const RAISE_POLICY_VERSION_SCRIPT = `
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local candidate = tonumber(ARGV[1])
if candidate > current then
  redis.call('SET', KEYS[1], ARGV[1])
  return candidate
end
return current`;

/**
 * KEYS[1] version key, KEYS[2] policy key, ARGV[1] policy version, ARGV[2] policy JSON, ARGV[3] TTL s
 * → 1 when written, 0 when the version key is already higher (the policy is stale: not cached).
 */
export const WRITE_POLICY_SCRIPT = `
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) < current then
  return 0
end
redis.call('SET', KEYS[2], ARGV[2], 'EX', tonumber(ARGV[3]))
return 1`;

/** The Redis commands the protocol needs (any node-redis v5 client). */
export type PolicyCacheRedis = Pick<RedisClient, 'eval' | 'mGet' | 'get'>;

function asVersion(reply: unknown): number {
  const n = typeof reply === 'number' ? reply : Number(reply ?? 0);
  return Number.isFinite(n) ? n : 0;
}

/** Raises the version key to at least `version`; returns the version stored afterwards. */
export async function raisePolicyVersion(redis: PolicyCacheRedis, enterpriseId: string, version: number): Promise<number> {
  if (!Number.isSafeInteger(version) || version < 0) throw new Error('policy version must be a non-negative integer');
  const reply = await redis.eval(RAISE_POLICY_VERSION_SCRIPT, {
    keys: [policyVersionKey(enterpriseId)],
    arguments: [String(version)],
  });
  return asVersion(reply);
}

/** The version key (0 when absent). */
export async function readPolicyVersion(redis: PolicyCacheRedis, enterpriseId: string): Promise<number> {
  return asVersion(await redis.get(policyVersionKey(enterpriseId)));
}

export interface CachedPolicyRead<T extends VersionedPolicy> {
  /** The cached policy when present, parseable, of this person and not older than `minVersion`; else null. */
  readonly policy: T | null;
  /** The version key at the time of the read (0 when absent). */
  readonly minVersion: number;
}

/**
 * One MGET of both keys. `parse` validates the cached JSON (e.g. a zod schema of PatientPolicy) and
 * throws on anything else; an unparseable entry is treated as a miss.
 */
export async function readCachedPolicy<T extends VersionedPolicy>(
  redis: PolicyCacheRedis,
  enterpriseId: string,
  parse: (json: unknown) => T,
): Promise<CachedPolicyRead<T>> {
  const [versionText, policyText] = await redis.mGet([policyVersionKey(enterpriseId), policyKey(enterpriseId)]);
  const minVersion = asVersion(versionText);
  if (policyText === null || policyText === undefined) return { policy: null, minVersion };
  let policy: T;
  try {
    policy = parse(JSON.parse(String(policyText)));
  } catch {
    return { policy: null, minVersion };
  }
  const usable = policy.enterpriseId === enterpriseId && policy.version >= minVersion;
  return { policy: usable ? policy : null, minVersion };
}

/** Caches `policy` unless the version key is already higher; returns whether it was written. */
export async function writeCachedPolicy(
  redis: PolicyCacheRedis,
  policy: VersionedPolicy,
  ttlSeconds: number = POLICY_CACHE_TTL_SECONDS,
): Promise<boolean> {
  const reply = await redis.eval(WRITE_POLICY_SCRIPT, {
    keys: [policyVersionKey(policy.enterpriseId), policyKey(policy.enterpriseId)],
    arguments: [String(policy.version), JSON.stringify(policy), String(ttlSeconds)],
  });
  return asVersion(reply) === 1;
}
