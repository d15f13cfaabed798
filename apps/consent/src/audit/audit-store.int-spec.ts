// The audit trail end to end, in-process against real Kafka and Postgres: records written through
// the platform AuditWriter (group commit, acks=all) to hie.audit are appended by the audit store's
// consumer (a test group of its own, its own database) to the hash chain; the verify command reports
// the chain intact; the table refuses UPDATE/DELETE/TRUNCATE; a row tampered with by a superuser is
// found at exactly its seq; the FHIR AuditEvent search returns a patient's trail to an operator with
// audit.read (and audits that search), and refuses callers without the right token.
import type { INestApplication } from '@nestjs/common';
import { Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { AuditEvent, Bundle } from '@medplum/fhirtypes';
import type { Kafka } from 'kafkajs';
import type { Client } from 'pg';
import type { Registry } from 'prom-client';
import { deadLetterTopic, retryTopic, Topics } from '@tessera/contracts';
import { AuditWriter } from '@tessera/platform-audit';
import type { AuditRecordInput } from '@tessera/platform-audit';
import { Audiences, AuthModule } from '@tessera/platform-auth';
import {
  loadPlatformSettings,
  METRICS_REGISTRY,
  migrateService,
  PlatformModule,
} from '@tessera/platform-service';
import type { PlatformSettings, ServiceOptions } from '@tessera/platform-service';
import {
  connectTestClient,
  dropTestDatabase,
  startTestIssuer,
  testKafka,
  uniqueTestId,
  waitFor,
  withAdmin,
} from '@tessera/testing';
import type { TestIssuer } from '@tessera/testing';
import { migrations } from '../migrations';
import { runAuditVerify } from './audit-chain.verifier';
import { AUDIT_STORE_CONSUMER_OPTIONS, AuditStoreConsumer } from './audit-store.consumer';
import { AuditStoreModule } from './audit-store.module';

const RUN = uniqueTestId('a');
const DATABASE = `tessera_consent_test_audit_${RUN}`;
const GROUP = `consent.audit.test-${RUN}`;
const N = 300;
const PATIENTS = Array.from({ length: 5 }, (_, i) => `E-${RUN}-${i}`);

const serviceOptions: ServiceOptions = {
  name: 'consent',
  defaultHttpPort: 8083,
  defaultDatabase: DATABASE,
  entities: [],
  migrations,
};

let app: INestApplication;
let baseUrl: string;
let kafka: Kafka;
let issuer: TestIssuer;
let settings: PlatformSettings;
let db: Client;

function record(i: number): AuditRecordInput {
  return {
    type: 'rest',
    subtype: 'search-type',
    action: 'E',
    outcome: '0',
    agent: { clientId: `client-${RUN}`, institutionId: `hosp-${RUN}`, user: `user-${i}` },
    purposeOfUse: 'TREAT',
    patients: [PATIENTS[i % PATIENTS.length] ?? ''],
    entities: [{ type: 'DocumentReference', query: `patient=${PATIENTS[i % PATIENTS.length]}&n=${i}` }],
  };
}

async function verify(): Promise<{ code: number; out: string[] }> {
  const out: string[] = [];
  const code = await runAuditVerify(serviceOptions, {
    stdout: (l) => out.push(l),
    stderr: (l) => out.push(l),
  });
  return { code, out };
}

async function get(
  path: string,
  token?: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${baseUrl}${path}`, {
    headers: { ...headers, ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** Stored records naming any of `patients`. */
async function storedFor(patients: readonly string[]): Promise<number> {
  const { rows } = await db.query<{ n: string }>(
    'SELECT count(*) AS n FROM audit_events WHERE patients && $1::text[]',
    [patients],
  );
  return Number(rows[0]?.n);
}

beforeAll(async () => {
  process.env['DB_NAME'] = DATABASE;
  process.env['LOG_LEVEL'] = process.env['LOG_LEVEL'] ?? 'warn';
  kafka = testKafka(`consent-audit-int-${RUN}`);
  await withAdmin(kafka, async (admin) => {
    await admin.createTopics({
      topics: [retryTopic(Topics.audit, GROUP), deadLetterTopic(Topics.audit, GROUP)].map((topic) => ({
        topic,
        numPartitions: 1,
      })),
    });
    // The test's group starts where the test begins writing (committed offsets: no race with "latest").
    const partitions = (await admin.fetchTopicOffsets(Topics.audit)).map((p) => ({
      partition: p.partition,
      offset: p.offset,
    }));
    await admin.setOffsets({ groupId: GROUP, topic: Topics.audit, partitions });
  });
  settings = loadPlatformSettings(serviceOptions);
  await migrateService(serviceOptions, settings);
  issuer = await startTestIssuer();

  @Module({
    imports: [
      PlatformModule.forRoot(serviceOptions),
      AuthModule.forRoot({
        audience: [Audiences.operator, Audiences.internal],
        settings: { AUTH_ISSUER: issuer.issuer, AUTH_JWKS_URL: issuer.jwksUrl },
      }),
      AuditStoreModule,
    ],
  })
  class TestAppModule {}

  const moduleRef = await Test.createTestingModule({ imports: [TestAppModule] })
    .overrideProvider(AUDIT_STORE_CONSUMER_OPTIONS)
    .useValue({ groupId: GROUP })
    .compile();
  app = moduleRef.createNestApplication({ logger: ['error', 'warn'] });
  await app.listen(0, '127.0.0.1');
  baseUrl = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  const runner = app.get(AuditStoreConsumer).runner;
  await waitFor(
    'the audit group to join',
    async () => runner.health().connected,
    (c) => c,
    { timeoutMs: 60_000 },
  );
  db = await connectTestClient(settings.postgres, DATABASE);
}, 120_000);

afterAll(async () => {
  await db?.end();
  await app?.close();
  await issuer?.close();
  await withAdmin(kafka, (admin) =>
    admin.deleteTopics({ topics: [retryTopic(Topics.audit, GROUP), deadLetterTopic(Topics.audit, GROUP)] }),
  ).catch(() => undefined);
  await dropTestDatabase(settings.postgres, DATABASE);
});

describe('audit store', () => {
  let operatorToken: string;

  it('stores records written concurrently through AuditWriter (group commit) in one valid chain', async () => {
    const writer = app.get(AuditWriter, { strict: false });
    const registry = app.get<Registry>(METRICS_REGISTRY, { strict: false });
    await Promise.all(Array.from({ length: N }, (_, i) => writer.record(record(i))));
    // Acknowledged by Kafka in far fewer produce requests than records.
    const metrics = await registry.getMetricsAsJSON();
    const values = metrics.find((m) => m.name === 'audit_group_commit_records')?.values ?? [];
    const sends = values.find(
      (v) => (v as { metricName?: string }).metricName === 'audit_group_commit_records_count',
    )?.value;
    expect(sends).toBeGreaterThan(0);
    expect(sends).toBeLessThanOrEqual(N / 10);

    await waitFor(
      'every record to be stored',
      () => storedFor(PATIENTS),
      (n) => n === N,
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    const { rows } = await db.query<{ seq: string; prev_hash: string; hash: string }>(
      'SELECT seq, prev_hash, hash FROM audit_events ORDER BY seq',
    );
    expect(rows[0]?.prev_hash).toBe('0'.repeat(64));
    // Positions are assigned under the chain lock: 1, 2, 3, ... without gaps.
    expect(rows.map((r) => Number(r.seq))).toEqual(rows.map((_, i) => i + 1));
    for (let i = 1; i < rows.length; i += 1) expect(rows[i]?.prev_hash).toBe(rows[i - 1]?.hash);

    const result = await verify();
    expect(result.code).toBe(0);
    // Other writers may share hie.audit while the test runs: at least our N records are in the chain.
    const line = result.out.find((l) => l.startsWith('audit chain OK: ')) ?? '';
    const [, count, head] = /^audit chain OK: (\d+) records, head ([0-9a-f]{64})$/.exec(line) ?? [];
    expect(Number(count)).toBeGreaterThanOrEqual(N);
    expect(head).toBe(rows[rows.length - 1]?.hash);
  }, 120_000);

  it('answers a patient trail as a FHIR Bundle of BALP AuditEvents to audit.read, and audits that search', async () => {
    operatorToken = await issuer.mint({
      kind: 'operator',
      clientId: `auditor-${RUN}`,
      roles: ['audit.read'],
    });
    const patient = PATIENTS[1] ?? '';
    const { status, body } = await get(
      `/AuditEvent?patient=${patient}&date=ge2020-01-01&_count=100`,
      operatorToken,
    );
    expect(status).toBe(200);
    const bundle = body as unknown as Bundle<AuditEvent>;
    expect(bundle).toMatchObject({ resourceType: 'Bundle', type: 'searchset', total: N / PATIENTS.length });
    expect(bundle.entry).toHaveLength(N / PATIENTS.length);
    const event = bundle.entry?.[0]?.resource;
    expect(event?.type.code).toBe('rest');
    expect(event?.subtype?.[0]?.code).toBe('search-type');
    expect(event?.entity?.[0]?.what?.reference).toBe(`Patient/${patient}`);
    expect(event?.agent[0]?.who?.identifier?.value).toBe(`client-${RUN}`);
    expect(event?.purposeOfEvent?.[0]?.coding?.[0]?.code).toBe('TREAT');
    // Newest first.
    const recorded = (bundle.entry ?? []).map((e) => e.resource?.recorded ?? '');
    expect([...recorded].sort().reverse()).toEqual(recorded);

    // Paging and filters.
    const page = (await get(`/AuditEvent?patient=${patient}&_count=7&_offset=7`, operatorToken))
      .body as unknown as Bundle;
    expect(page.entry).toHaveLength(7);
    expect(page.link?.map((l) => l.relation)).toEqual(['self', 'next', 'previous']);
    const none = (await get(`/AuditEvent?patient=${patient}&date=lt2020-01-01`, operatorToken))
      .body as unknown as Bundle;
    expect(none.total).toBe(0);
    const alerts = (await get(`/AuditEvent?patient=${patient}&type=security-alert`, operatorToken))
      .body as unknown as Bundle;
    expect(alerts.total).toBe(0);

    // The operator's search is in the trail too (BALP: reading the audit log is audited).
    const mine = await waitFor(
      'the audit search to be audited',
      async () =>
        (await get(`/AuditEvent?patient=${patient}&_count=1`, operatorToken))
          .body as unknown as Bundle<AuditEvent>,
      (b) => b.entry?.[0]?.resource?.agent[0]?.who?.identifier?.value === `auditor-${RUN}`,
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    expect(mine.entry?.[0]?.resource?.entity?.some((e) => e.type?.code === 'AuditEvent')).toBe(true);

    // The exchange's service token may read one patient's trail for one institution, not the whole store.
    const service = await issuer.mint({ kind: 'service', clientId: 'exchange' });
    const forHospital = { 'x-tessera-requesting-institution': `hosp-${RUN}` };
    expect((await get(`/AuditEvent?patient=${patient}&_count=1`, service, forHospital)).status).toBe(200);
    expect((await get(`/AuditEvent?_count=1`, service, forHospital)).status).toBe(400);
    const unnamed = await get(`/AuditEvent?patient=${patient}&_count=1`, service);
    expect(unnamed.status).toBe(400);
    expect(JSON.stringify(unnamed.body)).toContain('X-Tessera-Requesting-Institution');
    // No token, an operator without audit.read, an institution token: refused.
    expect((await get(`/AuditEvent?patient=${patient}`)).status).toBe(401);
    const noRole = await issuer.mint({ kind: 'operator', clientId: `op-${RUN}`, roles: ['consent.read'] });
    expect((await get(`/AuditEvent?patient=${patient}`, noRole)).status).toBe(403);
    const institution = await issuer.mint({
      kind: 'institution',
      clientId: `ehr-${RUN}`,
      institutionId: `hosp-${RUN}`,
    });
    expect((await get(`/AuditEvent?patient=${patient}`, institution)).status).toBe(401);
    // A bad parameter is a 400 OperationOutcome naming it.
    const bad = await get(`/AuditEvent?patient=${patient}&date=soon`, operatorToken);
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('"date"');
  }, 60_000);

  it('gives an institution (through the exchange) only accesses to the items it contributed: exact totals, its items only, no other persons, queries, details or hidden counts', async () => {
    const writer = app.get(AuditWriter, { strict: false });
    const mine = `E-${RUN}-p`;
    const other = `E-${RUN}-q`;
    const hospA = `hosp-a-${RUN}`;
    const hospB = `hosp-b-${RUN}`;
    const base = {
      type: 'rest' as const,
      action: 'E' as const,
      outcome: '0' as const,
      agent: { clientId: `other-${RUN}`, institutionId: `hosp-o-${RUN}`, user: `dr-${RUN}` },
      purposeOfUse: 'TREAT',
    };
    // Another institution's PDQm: it found both persons; no item of anyone was returned.
    await writer.record({
      ...base,
      subtype: 'search-type',
      patients: [mine, other],
      entities: [{ type: 'Patient', query: `family=Synthetic${RUN}&birthdate=1970-01-01` }],
      hiddenCount: 2,
      detail: 'reasons label-deny:HIV',
    });
    // Its document search returned one item of A and one of B.
    await writer.record({
      ...base,
      subtype: 'search-type',
      patients: [mine],
      entities: [
        { type: 'DocumentReference', query: `patient=${mine}` },
        { type: 'DocumentReference', reference: `DocumentReference/a1-${RUN}`, sourceInstitution: hospA },
        { type: 'DocumentReference', reference: `DocumentReference/b1-${RUN}`, sourceInstitution: hospB },
      ],
      hiddenCount: 1,
      detail: 'returned 2',
    });
    // It read B's document content.
    await writer.record({
      ...base,
      subtype: 'read',
      action: 'R',
      patients: [mine],
      entities: [
        { type: 'DocumentReference', reference: `DocumentReference/b1-${RUN}`, sourceInstitution: hospB },
      ],
    });
    await waitFor(
      'the records to be stored',
      () => storedFor([mine]),
      (n) => n === 3,
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    const service = await issuer.mint({ kind: 'service', clientId: 'exchange' });
    const asA = await get(`/AuditEvent?patient=${mine}`, service, {
      'x-tessera-requesting-institution': hospA,
    });
    expect(asA.status).toBe(200);
    const bundleA = asA.body as unknown as Bundle<AuditEvent>;
    expect(bundleA.total).toBe(1);
    const event = bundleA.entry?.[0]?.resource;
    expect(event?.agent[0]?.who?.identifier?.value).toBe(`other-${RUN}`);
    expect(event?.entity?.map((e) => e.what?.reference).filter((r) => r !== undefined)).toEqual([
      `Patient/${mine}`,
      `DocumentReference/a1-${RUN}`,
    ]);
    expect(event?.entity?.[1]?.detail).toEqual([{ type: 'source-institution', valueString: hospA }]);
    expect(JSON.stringify(asA.body)).not.toContain(other);
    expect(JSON.stringify(asA.body)).not.toContain(hospB);
    expect(JSON.stringify(asA.body)).not.toContain(`b1-${RUN}`);
    expect(event?.entity?.some((e) => e.query !== undefined)).toBe(false);
    expect(JSON.stringify(event?.extension ?? [])).not.toMatch(/audit-hidden-count|audit-detail/);
    // B sees both accesses to its document, paged with an exact total.
    const asB = await get(`/AuditEvent?patient=${mine}&_count=1`, service, {
      'x-tessera-requesting-institution': hospB,
    });
    expect((asB.body as unknown as Bundle<AuditEvent>).total).toBe(2);
    expect((asB.body as unknown as Bundle<AuditEvent>).entry).toHaveLength(1);
    // An institution that contributed nothing sees nothing (the PDQm is nobody's item).
    const asNone = await get(`/AuditEvent?patient=${mine}`, service, {
      'x-tessera-requesting-institution': `hosp-o-${RUN}`,
    });
    expect((asNone.body as unknown as Bundle<AuditEvent>).total).toBe(0);
    // A regional operator (audit.read) still reads the whole trail and whole records.
    const full = (await get(`/AuditEvent?patient=${mine}`, operatorToken))
      .body as unknown as Bundle<AuditEvent>;
    expect(full.total).toBe(3);
    expect(JSON.stringify(full)).toContain(other);
    expect(JSON.stringify(full)).toContain('audit-hidden-count');
  }, 60_000);

  it('refuses UPDATE, DELETE and TRUNCATE, also under session_replication_role = replica', async () => {
    for (const sql of [
      `UPDATE audit_events SET outcome = '8' WHERE seq = (SELECT min(seq) FROM audit_events)`,
      `DELETE FROM audit_events WHERE seq = (SELECT min(seq) FROM audit_events)`,
      `TRUNCATE audit_events`,
    ]) {
      await expect(db.query(sql)).rejects.toThrow(/append-only/);
    }
    await db.query('BEGIN');
    try {
      await db.query('SET LOCAL session_replication_role = replica');
      await expect(db.query(`DELETE FROM audit_events`)).rejects.toThrow(/append-only/);
    } finally {
      await db.query('ROLLBACK');
    }
  });

  it('reports a row changed behind the triggers as BROKEN at exactly its seq', async () => {
    const { rows } = await db.query<{ seq: string; event_id: string }>(
      `SELECT seq, event_id FROM audit_events WHERE patients @> ARRAY[$1] ORDER BY seq OFFSET 20 LIMIT 1`,
      [PATIENTS[2]],
    );
    const target = rows[0];
    expect(target).toBeDefined();
    // A superuser (or the table owner) switches the triggers off and edits one record.
    await db.query('BEGIN');
    await db.query('ALTER TABLE audit_events DISABLE TRIGGER USER');
    await db.query(`UPDATE audit_events SET record = jsonb_set(record, '{outcome}', '"8"') WHERE seq = $1`, [
      target?.seq,
    ]);
    await db.query('ALTER TABLE audit_events ENABLE ALWAYS TRIGGER audit_events_no_update_delete');
    await db.query('ALTER TABLE audit_events ENABLE ALWAYS TRIGGER audit_events_no_truncate');
    await db.query('COMMIT');

    const result = await verify();
    expect(result.code).toBe(1);
    expect(result.out).toContain(
      `audit chain BROKEN at seq ${target?.seq} (event ${target?.event_id}): hash does not match the record (the record, its seq or its event id was changed)`,
    );
  });
});
