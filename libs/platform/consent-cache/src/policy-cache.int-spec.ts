// The policy cache protocol against the real Redis: versions only rise, stale policies are neither
// written nor read, and both keys of a person share one hash tag.
import { loadConfig, redisConfig } from '@tessera/platform-config';
import { connectRedis } from '@tessera/platform-redis';
import type { RedisClient } from '@tessera/platform-redis';
import { uniqueTestId } from '@tessera/testing';
import {
  policyKey,
  policyVersionKey,
  raisePolicyVersion,
  readCachedPolicy,
  readPolicyVersion,
  writeCachedPolicy,
} from './policy-cache';

interface Policy {
  readonly enterpriseId: string;
  readonly version: number;
  readonly note: string;
}
const parse = (json: unknown): Policy => {
  const p = json as Policy;
  if (typeof p.enterpriseId !== 'string' || typeof p.version !== 'number') throw new Error('not a policy');
  return p;
};

let redis: RedisClient;
const keys: string[] = [];
function eid(): string {
  const id = uniqueTestId('eid');
  keys.push(policyKey(id), policyVersionKey(id));
  return id;
}

beforeAll(async () => {
  redis = await connectRedis(loadConfig(redisConfig), () => undefined);
});
afterAll(async () => {
  if (keys.length > 0) await redis.del(keys);
  await redis.close();
});

it('keys carry the enterprise id as one hash tag', () => {
  expect(policyVersionKey('E1')).toBe('consent:policy-version:{E1}');
  expect(policyKey('E1')).toBe('consent:policy:{E1}');
});

it('raises the version key monotonically, whatever the order of the raises', async () => {
  const id = eid();
  expect(await readPolicyVersion(redis, id)).toBe(0);
  expect(await raisePolicyVersion(redis, id, 3)).toBe(3);
  expect(await raisePolicyVersion(redis, id, 2)).toBe(3);
  expect(await raisePolicyVersion(redis, id, 7)).toBe(7);
  await Promise.all([5, 9, 8, 6].map((v) => raisePolicyVersion(redis, id, v)));
  expect(await readPolicyVersion(redis, id)).toBe(9);
});

it('writes a policy only if it is not older than the version key, and reads it only then', async () => {
  const id = eid();
  await raisePolicyVersion(redis, id, 4);
  expect(await writeCachedPolicy(redis, { enterpriseId: id, version: 3, note: 'old' } as Policy)).toBe(false);
  expect((await readCachedPolicy(redis, id, parse)).policy).toBeNull();

  expect(await writeCachedPolicy(redis, { enterpriseId: id, version: 4, note: 'v4' } as Policy)).toBe(true);
  expect(await readCachedPolicy(redis, id, parse)).toEqual({ policy: { enterpriseId: id, version: 4, note: 'v4' }, minVersion: 4 });
  expect(await redis.ttl(policyKey(id))).toBeGreaterThan(500);

  // A revocation committed elsewhere raises the version: the cached policy is no longer used.
  await raisePolicyVersion(redis, id, 5);
  expect(await readCachedPolicy(redis, id, parse)).toEqual({ policy: null, minVersion: 5 });
});

it('treats an unparseable or foreign entry as a miss', async () => {
  const id = eid();
  await redis.set(policyKey(id), '{not json');
  expect((await readCachedPolicy(redis, id, parse)).policy).toBeNull();
  await redis.set(policyKey(id), JSON.stringify({ enterpriseId: 'someone-else', version: 1 }));
  expect((await readCachedPolicy(redis, id, parse)).policy).toBeNull();
});
