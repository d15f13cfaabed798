// Revocation propagation across exchange replicas: two exchange processes (from dist) share one
// Redis policy cache. With both caches warm, the patient revokes consent at the consent service;
// both replicas are polled continuously through the change. Claim: no query answered
// more than 1 s after the consent service's 201 returns the other institution's data. The design
// claims more (none started after the 201), and this test checks that too. The consent service is
// a contract stand-in that raises the policy version key before it answers (design "Policy cache
// protocol"); the exchange's hie.consent consumer (backstop) is checked separately.
/* eslint-disable @typescript-eslint/no-unsafe-argument -- assertions walk parsed JSON answers */
import { randomUUID } from 'node:crypto';
import { ConsentChanged, Topics } from '@tessera/contracts';
import { policyKey, policyVersionKey, readPolicyVersion } from '@tessera/platform-consent-cache';
import { loadConfig, postgresConfig } from '@tessera/platform-config';
import { EventProducer } from '@tessera/platform-kafka';
import {
  dropTestDatabase,
  freePort,
  quietLogger,
  startServiceProcess,
  TcpProxy,
  testKafka,
  TopicWatcher,
  uniqueTestId,
  waitFor,
} from '@tessera/testing';
import { call, idsOf } from './testing/exchange-client';
import { ExchangeFixture, RIV, STA } from './testing/exchange-fixture';
import type { ExchangeUnderTest, TestingKit } from './testing/exchange-fixture';

const testingKit = (): TestingKit => ({
  uniqueTestId,
  freePort,
  startServiceProcess,
  openAuditWatcher: () => TopicWatcher.open(testKafka(`exchange-audit-${uniqueTestId('w')}`), Topics.audit),
  dropTestDatabase: (database) => dropTestDatabase(loadConfig(postgresConfig), database),
});

const fx = new ExchangeFixture(testingKit());
let replicas: ExchangeUnderTest[];

beforeAll(async () => {
  await fx.start();
  replicas = [await fx.spawnExchange(), await fx.spawnExchange()];
}, 180_000);

afterAll(async () => {
  await fx.stop();
});

interface Poll {
  readonly replica: number;
  readonly startedAt: number;
  readonly answeredAt: number;
  readonly status: number;
  readonly otherInstitution: boolean;
}

it('after the 201 of a revocation, no replica returns the other institution’s data (polled continuously, warm caches)', async () => {
  const eid = fx.region.shared;
  const riversideItems = new Set(
    Object.entries(fx.region.docs)
      .filter(([k]) => k.startsWith('s.riv'))
      .map(([, id]) => id),
  );
  const token = await fx.token({});
  const path = `/fhir/DocumentReference?patient=${encodeURIComponent(`${STA.system}|STA-s-${fx.run}`)}`;

  // Warm: both replicas answer from the shared cache, and they do see riverside's shared document.
  for (const r of replicas) {
    const warm = await call(r.url, path, { token });
    expect(warm.status).toBe(200);
    expect(idsOf(warm.json).some((id) => riversideItems.has(id))).toBe(true);
  }
  expect(await fx.redis.get(policyKey(eid))).not.toBeNull();
  const consentCallsWarm = fx.world.callsTo('consent', '/internal/policy').length;
  for (const r of replicas) expect((await call(r.url, path, { token })).status).toBe(200);
  expect(fx.world.callsTo('consent', '/internal/policy').length).toBe(consentCallsWarm); // served from the cache

  const polls: Poll[] = [];
  let stop = false;
  const poller = async (replica: number): Promise<void> => {
    while (!stop) {
      const startedAt = Date.now();
      const result = await call(replicas[replica]?.url ?? '', path, { token });
      polls.push({
        replica,
        startedAt,
        answeredAt: Date.now(),
        status: result.status,
        otherInstitution: idsOf(result.json).some((id) => riversideItems.has(id)),
      });
    }
  };
  const running = [0, 0, 1, 1].map((r) => poller(r));
  await new Promise((r) => setTimeout(r, 1_000));

  // The patient revokes (opt-out) at the consent service, through the holding institution.
  const revoke = await fetch(`${fx.servers.consentUrl}/Consent`, {
    method: 'POST',
    headers: {
      authorization: 'Bearer service-token',
      'content-type': 'application/fhir+json',
      'x-tessera-requesting-institution': RIV.id,
    },
    body: JSON.stringify({
      resourceType: 'Consent',
      status: 'active',
      patient: { reference: `Patient/${eid}` },
      provision: { type: 'deny' },
    }),
  });
  const ackAt = Date.now();
  expect(revoke.status).toBe(201);

  await new Promise((r) => setTimeout(r, 3_000));
  stop = true;
  await Promise.all(running);

  expect(polls.every((p) => p.status === 200)).toBe(true);
  const before = polls.filter((p) => p.answeredAt < ackAt);
  for (const replica of [0, 1])
    expect(before.filter((p) => p.replica === replica && p.otherInstitution).length).toBeGreaterThan(0);

  const afterOneSecond = polls.filter((p) => p.startedAt >= ackAt + 1_000);
  for (const replica of [0, 1])
    expect(afterOneSecond.filter((p) => p.replica === replica).length).toBeGreaterThan(10);
  expect(afterOneSecond.filter((p) => p.otherInstitution)).toEqual([]);

  // The design's stronger claim: nothing that started after the 201 was answered with the old policy.
  expect(polls.filter((p) => p.startedAt > ackAt && p.otherInstitution)).toEqual([]);
  const stats = { polls: polls.length, afterAck: polls.filter((p) => p.startedAt > ackAt).length };
  expect(stats.afterAck).toBeGreaterThan(20);
}, 60_000);

it('backstop: a ConsentChanged on hie.consent raises the shared version key, so a stale cached policy is never used', async () => {
  const eid = fx.region.other;
  const token = await fx.token({});
  const path = `/fhir/DocumentReference?patient=${eid}`;
  expect((await call(replicas[0]?.url ?? '', path, { token })).status).toBe(200); // warm
  const cachedVersion = await readPolicyVersion(fx.redis, eid);
  const raised = cachedVersion + 7;

  const producer = new EventProducer(testKafka(`exchange-backstop-${fx.run}`), { logger: quietLogger });
  await producer.connect();
  try {
    await producer.publish(ConsentChanged, {
      id: randomUUID(),
      key: eid,
      source: '/tessera/exchange-int-spec',
      data: {
        enterpriseId: eid,
        reason: 'directive',
        policyVersion: raised,
        changedAt: new Date().toISOString(),
      },
    });
  } finally {
    await producer.disconnect();
  }
  await waitFor(
    'the version key raised by the hie.consent consumer',
    () => readPolicyVersion(fx.redis, eid),
    (v) => v >= raised,
    { timeoutMs: 30_000 },
  );
  expect(Number(await fx.redis.get(policyVersionKey(eid)))).toBe(raised);

  // The cached policy is older than the key now: the next query asks the consent service again.
  const consentCalls = fx.world.callsTo('consent', `/internal/policy/${eid}`).length;
  expect((await call(replicas[1]?.url ?? '', path, { token })).status).toBe(200);
  expect(fx.world.callsTo('consent', `/internal/policy/${eid}`).length).toBe(consentCalls + 1);
}, 60_000);

it('Redis unreachable: a replica asks the consent service for every decision, so it is never stale (and never fails open)', async () => {
  const proxy = await TcpProxy.start(6379);
  const isolated = await fx.spawnExchange({ REDIS_URL: `redis://127.0.0.1:${proxy.port}` });
  try {
    const eid = randomUUID();
    const tag = `z-${fx.run}`;
    fx.world.addPerson(
      {
        enterpriseId: eid,
        family: 'Redisless',
        identifiers: [
          { system: STA.system, value: `STA-${tag}` },
          { system: RIV.system, value: `RIV-${tag}` },
        ],
      },
      [STA.id, RIV.id],
    );
    fx.world.items.push(
      {
        resourceType: 'DocumentReference',
        id: `sta-${tag}`,
        enterpriseId: eid,
        institution: STA.id,
        labels: [],
        date: '2026-02-01',
      },
      {
        resourceType: 'DocumentReference',
        id: `riv-${tag}`,
        enterpriseId: eid,
        institution: RIV.id,
        labels: [],
        date: '2026-02-02',
      },
    );
    const token = await fx.token({});
    const path = `/fhir/DocumentReference?patient=${eid}`;
    const warm = await call(isolated.url, path, { token });
    expect(idsOf(warm.json)).toEqual([`riv-${tag}`, `sta-${tag}`]);

    proxy.cut();
    const during = await call(isolated.url, path, { token });
    expect(during.status).toBe(200);
    expect(idsOf(during.json)).toEqual([`riv-${tag}`, `sta-${tag}`]);

    await fx.world.optOut(eid, RIV.id); // the consent service's change; this replica cannot see Redis
    const policyCalls = fx.world.callsTo('consent', `/internal/policy/${eid}`).length;
    const after = await call(isolated.url, path, { token });
    expect(after.status).toBe(200);
    expect(idsOf(after.json)).toEqual([`sta-${tag}`]);
    expect(fx.world.callsTo('consent', `/internal/policy/${eid}`).length).toBe(policyCalls + 1);

    fx.world.failing.consent = true; // neither cache nor consent service: refuse, never guess
    const blind = await call(isolated.url, path, { token });
    expect(blind.status).toBe(503);
    expect(blind.json.resourceType).toBe('OperationOutcome');
  } finally {
    fx.world.failing.consent = false;
    proxy.restore();
    await isolated.stop();
    await proxy.close();
  }
}, 90_000);
