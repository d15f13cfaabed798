// The consent service in-process against real Postgres, Redis and Kafka, with tokens from a test
// issuer: FHIR Consent create/revise/read/search, the policy version raised in Redis before the
// answer, GET /internal/policy, link moves and PD1-12 from the topics, break-the-glass and its
// privacy review, institution access and validation errors, ownership of directives (other
// institutions, consent operators, privacy officers), holding earned by authenticated senders, and
// the privacy officer's watch (registered-then-queried), the privacy review of every label permit an
// institution records, and PD1-12 against message order (replays).
import type { INestApplication } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import { Test } from '@nestjs/testing';
import path from 'node:path';
import { DataSource } from 'typeorm';
import type { Kafka } from 'kafkajs';
import {
  AuditRecorded,
  deadLetterTopic,
  MpiLinkChanged,
  PatientUpserted,
  retryTopic,
  Topics,
} from '@tessera/contracts';
import type { Patient, SenderAuthentication } from '@tessera/contracts';
import {
  CONSENT_SCOPE_SYSTEM,
  decidePatient,
  INSTITUTION_SYSTEM,
  parseRegionPolicy,
  POLICY_RULE_SYSTEM,
  SENSITIVITY_SYSTEM,
} from '@tessera/consent-policy';
import type { PatientPolicy, RegionPolicy } from '@tessera/consent-policy';
import { readPolicyVersion } from '@tessera/platform-consent-cache';
import type { EventProducer } from '@tessera/platform-kafka';
import type { RedisClient } from '@tessera/platform-redis';
import {
  EVENT_PRODUCER,
  loadPlatformSettings,
  migrateService,
  REDIS_CLIENT,
} from '@tessera/platform-service';
import {
  dropTestDatabase,
  freePort,
  startTestIssuer,
  testKafka,
  uniqueTestId,
  waitFor,
  withAdmin,
} from '@tessera/testing';
import type { TestIssuer } from '@tessera/testing';
import { PROTECTION_INDICATOR_EXTENSION } from '@tessera/v2-fhir';

const RUN = uniqueTestId('c');
const REGION_POLICY_FILE = path.resolve(__dirname, '../../../deploy/demo-region/consent-policy.yaml');
const DATABASE = `tessera_consent_test_${RUN}`;
const SUFFIX = `test-${RUN}`;
const GROUPS = [
  { id: `consent.links.${SUFFIX}`, topic: Topics.mpiLink },
  { id: `consent.patient.${SUFFIX}`, topic: Topics.patient },
  { id: `consent.audit.${SUFFIX}`, topic: Topics.audit },
  { id: `consent.watch.${SUFFIX}`, topic: Topics.mpiLink },
  { id: `consent.watch.${SUFFIX}`, topic: Topics.audit },
];
// The watch alerts above this many registered-then-queried persons per institution (low for the test).
const WATCH_THRESHOLD = 2;
const GROUP_TOPICS = GROUPS.flatMap((g) => [retryTopic(g.topic, g.id), deadLetterTopic(g.topic, g.id)]);

let app: INestApplication;
let baseUrl: string;
let dataSource: DataSource;
let redis: RedisClient;
let kafka: Kafka;
let producer: EventProducer;
let issuer: TestIssuer;
let operatorToken: string;
let exchangeToken: string;
let officerToken: string;
let writerOnlyToken: string;
let auditorToken: string;

beforeAll(async () => {
  issuer = await startTestIssuer();
  process.env['DB_NAME'] = DATABASE;
  process.env['HTTP_PORT'] = String(await freePort());
  process.env['LOG_LEVEL'] = process.env['LOG_LEVEL'] ?? 'warn';
  process.env['CONSENT_GROUP_SUFFIX'] = SUFFIX;
  process.env['CONSENT_WATCH_THRESHOLD'] = String(WATCH_THRESHOLD);
  process.env['AUTH_ISSUER'] = issuer.issuer;
  process.env['AUTH_JWKS_URL'] = issuer.jwksUrl;
  process.env['CONSENT_REGION_POLICY_FILE'] = REGION_POLICY_FILE;
  kafka = testKafka(`consent-int-${RUN}`);
  await withAdmin(kafka, (admin) =>
    admin.createTopics({ topics: GROUP_TOPICS.map((topic) => ({ topic, numPartitions: 1 })) }),
  );

  const { AppModule, serviceOptions } = await import('./app.module');
  const { CONSENT_CONSUMER_OPTIONS, ConsentLinksConsumer } = await import('./links/consent-links.consumer');
  const { ConsentPatientConsumer } = await import('./patient-feed/consent-patient.consumer');
  const { PatternWatchConsumer } = await import('./watch/pattern-watch.consumer');
  const { AuditStoreConsumer } = await import('./audit/audit-store.consumer');
  await migrateService(serviceOptions, loadPlatformSettings(serviceOptions));
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] })
    .overrideProvider(CONSENT_CONSUMER_OPTIONS)
    .useValue({ groupSuffix: SUFFIX, fromBeginning: false })
    .overrideProvider((await import('./audit/audit-store.consumer')).AUDIT_STORE_CONSUMER_OPTIONS)
    .useValue({ groupId: `consent.audit.${SUFFIX}`, fromBeginning: false })
    .compile();
  app = moduleRef.createNestApplication({ logger: ['error', 'warn'] });
  await app.listen(Number(process.env['HTTP_PORT']), '127.0.0.1');
  baseUrl = `http://127.0.0.1:${process.env['HTTP_PORT']}`;
  dataSource = app.get(DataSource);
  redis = app.get<RedisClient>(REDIS_CLIENT);
  producer = app.get<EventProducer>(EVENT_PRODUCER);
  for (const runner of [
    app.get(ConsentLinksConsumer).runner,
    app.get(ConsentPatientConsumer).runner,
    app.get(PatternWatchConsumer).runner,
    app.get(AuditStoreConsumer).runner,
  ]) {
    await waitFor(
      'a consent group to join',
      async () => runner.health().connected,
      (c) => c,
      { timeoutMs: 60_000 },
    );
  }
  operatorToken = await issuer.mint({
    kind: 'operator',
    clientId: 'op-console',
    roles: ['consent.write', 'consent.read'],
  });
  officerToken = await issuer.mint({ kind: 'operator', clientId: 'privacy-1', roles: ['privacy.officer'] });
  exchangeToken = await issuer.mint({ kind: 'service', clientId: 'exchange' });
  writerOnlyToken = await issuer.mint({ kind: 'operator', clientId: 'op-writer', roles: ['consent.write'] });
  auditorToken = await issuer.mint({ kind: 'operator', clientId: 'auditor', roles: ['audit.read'] });
}, 120_000);

afterAll(async () => {
  await app?.close();
  await issuer?.close();
  await withAdmin(kafka, async (admin) => {
    await admin.deleteGroups([...new Set(GROUPS.map((g) => g.id))]).catch(() => undefined);
    await admin.deleteTopics({ topics: GROUP_TOPICS });
  }).catch(() => undefined);
  await dropTestDatabase(
    loadPlatformSettings((await import('./app.module')).serviceOptions).postgres,
    DATABASE,
  );
});

interface Reply {
  readonly status: number;
  readonly headers: Headers;
  readonly json: Record<string, unknown>;
}

async function http(
  method: string,
  url: string,
  init: { token?: string; body?: unknown; headers?: Record<string, string>; contentType?: string } = {},
): Promise<Reply> {
  const response = await fetch(`${baseUrl}${url}`, {
    method,
    headers: {
      ...(init.body === undefined ? {} : { 'content-type': init.contentType ?? 'application/fhir+json' }),
      ...(init.token === undefined ? {} : { authorization: `Bearer ${init.token}` }),
      ...init.headers,
    },
    ...(init.body === undefined
      ? {}
      : { body: typeof init.body === 'string' ? init.body : JSON.stringify(init.body) }),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    json: (text === '' ? {} : JSON.parse(text)) as Record<string, unknown>,
  };
}

type PatientRef = { reference: string } | { identifier: { system: string; value: string } };

function consent(
  patient: PatientRef,
  status = 'active',
  rule: 'OPTOUT' | 'OPTIN' = 'OPTOUT',
): Record<string, unknown> {
  return {
    resourceType: 'Consent',
    status,
    scope: { coding: [{ system: CONSENT_SCOPE_SYSTEM, code: 'patient-privacy' }] },
    patient,
    policyRule: { coding: [{ system: POLICY_RULE_SYSTEM, code: rule }] },
    provision: { type: rule === 'OPTOUT' ? 'deny' : 'permit' },
  };
}

async function policyOf(eid: string): Promise<PatientPolicy> {
  const reply = await http('GET', `/internal/policy/${eid}`, { token: exchangeToken });
  expect(reply.status).toBe(200);
  return reply.json as unknown as PatientPolicy;
}

async function dbVersion(eid: string): Promise<number> {
  const rows = await dataSource.query<{ version: string }[]>(
    'SELECT version FROM policy_versions WHERE enterprise_id = $1',
    [eid],
  );
  return rows[0] === undefined ? 0 : Number(rows[0].version);
}

async function consentEvents(
  eid: string,
): Promise<{ reason: string; policyVersion: number; consentId?: string }[]> {
  const rows = await dataSource.query<
    { payload: { reason: string; policyVersion: number; consentId?: string } }[]
  >(`SELECT payload FROM messaging_outbox WHERE topic = $1 AND "key" = $2 ORDER BY id`, [
    Topics.consent,
    eid,
  ]);
  return rows.map((r) => r.payload);
}

async function directiveCount(): Promise<number> {
  const rows = await dataSource.query<{ n: string }[]>('SELECT count(*)::text AS n FROM consent_directives');
  return Number(rows[0]?.n);
}

interface SourceRecord {
  readonly institutionId: string;
  readonly system: string;
  readonly value: string;
}
function sourceRecord(institutionId = uniqueTestId('H')): SourceRecord {
  return {
    institutionId,
    system: `urn:oid:2.16.840.1.113883.3.${Date.now()}.${uniqueTestId('aa')}`,
    value: uniqueTestId('MRN'),
  };
}

interface PatientMessage {
  /** The PD1-12 extension (true: Y, false: N or ""); absent: no PD1 / empty PD1-12. */
  readonly protection?: boolean;
  readonly channel?: 'hl7v2' | 'fhir';
  /** How the gateway authenticated the sender; `null` sends none (an event from before the field existed). */
  readonly auth?: SenderAuthentication | null;
  /** Sent as another institution (its MSH-4) about the same record. */
  readonly asInstitution?: string;
  /** The message's own time (MSH-7) as the gateway sends it; absent: unknown. */
  readonly messageTime?: string;
}

/** Publishes a PatientUpserted for the record; returns its event id. */
async function sendPatient(r: SourceRecord, message: PatientMessage = {}): Promise<string> {
  const {
    protection,
    channel = 'hl7v2',
    auth = 'tls-client-certificate',
    asInstitution = r.institutionId,
    messageTime,
  } = message;
  const patient: Patient = {
    resourceType: 'Patient',
    identifier: [{ system: r.system, value: r.value }],
    ...(protection === undefined
      ? {}
      : { extension: [{ url: PROTECTION_INDICATOR_EXTENSION, valueBoolean: protection }] }),
  };
  const sent = await producer.publish(PatientUpserted, {
    key: `${r.system}|${r.value}`,
    source: '/tessera/interop-gateway',
    data: {
      ...(auth === null ? {} : { senderAuthentication: auth }),
      institutionId: asInstitution,
      patientSystem: r.system,
      localPatientId: r.value,
      sourceMessageId: uniqueTestId('msg'),
      ...(messageTime === undefined ? {} : { messageTime }),
      mapperVersion: '1.0.0',
      channel,
      patient,
    },
  });
  return sent.id;
}

/** Waits until a consent consumer group applied the event (its inbox row is written with the change). */
async function applied(group: 'patient' | 'watch', eventId: string): Promise<void> {
  await waitFor(
    `consent.${group} to apply event ${eventId}`,
    () =>
      dataSource.query<unknown[]>(
        'SELECT 1 FROM messaging_inbox WHERE consumer_group = $1 AND event_id = $2',
        [`consent.${group}.${SUFFIX}`, eventId],
      ),
    (rows) => rows.length === 1,
  );
}

async function sendLink(
  r: SourceRecord,
  enterpriseId: string | null,
  decidedAt: Date,
  previous: string | null = null,
): Promise<void> {
  await producer.publish(MpiLinkChanged, {
    key: `${r.system}|${r.value}`,
    source: '/tessera/mpi',
    data: {
      patientSystem: r.system,
      localPatientId: r.value,
      enterpriseId,
      previousEnterpriseId: previous,
      state: 'MATCH',
      origin: 'AUTO',
      score: 20,
      ruleSetVersion: 'test',
      decidedAt: decidedAt.toISOString(),
      reason: 'test',
    },
  });
}

async function linkOf(
  r: SourceRecord,
): Promise<
  { enterprise_id: string | null; institution_id: string | null; authenticated: boolean } | undefined
> {
  const rows = await dataSource.query<
    { enterprise_id: string | null; institution_id: string | null; authenticated: boolean }[]
  >(
    'SELECT enterprise_id, institution_id, authenticated FROM consent_links WHERE system = $1 AND value = $2',
    [r.system, r.value],
  );
  return rows[0];
}

/** Registers `r` at its institution and links it to `eid` (as the gateway and the MPI would). */
/**
 * An hour ahead: newer than any decision an MPI elsewhere on the shared broker may publish about
 * these records (the newest decision wins), so the link the test sets is the one that stays.
 */
function ahead(): Date {
  return new Date(Date.now() + 3_600_000);
}

async function holdRecord(
  r: SourceRecord,
  eid: string,
  at = ahead(),
  auth: SenderAuthentication | null = 'tls-client-certificate',
): Promise<void> {
  await applied('patient', await sendPatient(r, { auth }));
  await sendLink(r, eid, at);
  await waitFor(
    'the record to be held and linked',
    () => linkOf(r),
    (l) => l?.enterprise_id === eid && l.institution_id === r.institutionId,
  );
}

describe('FHIR Consent API', () => {
  it('records an opt-out: 201, the policy shows it and Redis has the new version before the answer', async () => {
    const eid = uniqueTestId('E');
    const created = await http('POST', '/Consent', {
      token: operatorToken,
      body: consent({ reference: `Patient/${eid}` }),
    });
    expect(created.status).toBe(201);
    expect(created.headers.get('etag')).toBe('W/"1"');
    const id = created.json['id'] as string;
    expect(created.headers.get('location')).toBe(`Consent/${id}/_history/1`);
    expect(created.json['meta']).toMatchObject({ versionId: '1' });
    // Immediately after the 201: the version key is already raised.
    expect(await readPolicyVersion(redis, eid)).toBe(1);

    const policy = await policyOf(eid);
    expect(policy).toMatchObject({ enterpriseId: eid, version: 1, breakGlass: [], holdingInstitutions: [] });
    expect(policy.directives).toEqual([
      expect.objectContaining({
        id,
        status: 'active',
        base: 'deny',
        anchor: { kind: 'enterprise', enterpriseId: eid },
        source: 'fhir',
      }),
    ]);
    expect(await consentEvents(eid)).toEqual([
      expect.objectContaining({ reason: 'directive', policyVersion: 1, consentId: id }),
    ]);

    const read = await http('GET', `/Consent/${id}`, { token: operatorToken });
    expect(read.status).toBe(200);
    expect(read.json).toMatchObject({
      resourceType: 'Consent',
      id,
      status: 'active',
      patient: { reference: `Patient/${eid}` },
    });

    const search = await http('GET', `/Consent?patient=${eid}&status=active`, { token: operatorToken });
    expect(search.json).toMatchObject({ resourceType: 'Bundle', type: 'searchset', total: 1 });
  });

  it('revokes with PUT (If-Match): the version rises again, the policy drops it, history keeps both', async () => {
    const eid = uniqueTestId('E');
    const created = await http('POST', '/Consent', {
      token: operatorToken,
      body: consent({ reference: `Patient/${eid}` }),
    });
    const id = created.json['id'] as string;

    const stale = await http('PUT', `/Consent/${id}`, {
      token: operatorToken,
      headers: { 'if-match': 'W/"7"' },
      body: { ...consent({ reference: `Patient/${eid}` }, 'inactive'), id },
    });
    expect(stale.status).toBe(412);
    const missing = await http('PUT', `/Consent/${id}`, {
      token: operatorToken,
      body: consent({ reference: `Patient/${eid}` }, 'inactive'),
    });
    expect(missing.status).toBe(428);

    const revoked = await http('PUT', `/Consent/${id}`, {
      token: operatorToken,
      headers: { 'if-match': 'W/"1"' },
      body: { ...consent({ reference: `Patient/${eid}` }, 'inactive'), id },
    });
    expect(revoked.status).toBe(200);
    expect(revoked.headers.get('etag')).toBe('W/"2"');
    expect(await readPolicyVersion(redis, eid)).toBe(2);
    const policy = await policyOf(eid);
    expect(policy.version).toBe(2);
    expect(policy.directives).toEqual([]);
    const history = await dataSource.query<{ version: number; status: string }[]>(
      'SELECT version, status FROM consent_directive_history WHERE id = $1 ORDER BY version',
      [id],
    );
    expect(history).toEqual([
      { version: 1, status: 'active' },
      { version: 2, status: 'inactive' },
    ]);
    expect(
      (await http('GET', `/Consent?patient=${eid}&status=active`, { token: operatorToken })).json['total'],
    ).toBe(0);
  });

  it('rejects bad Consent bodies with 400 OperationOutcome naming each problem, and stores nothing', async () => {
    const before = await directiveCount();
    const bad = await http('POST', '/Consent', {
      token: operatorToken,
      body: {
        resourceType: 'Consent',
        status: 'revoked',
        scope: { coding: [{ system: 'x', code: 'y' }] },
        patient: { reference: 'Group/1' },
      },
    });
    expect(bad.status).toBe(400);
    expect(bad.json['resourceType']).toBe('OperationOutcome');
    const expressions = (bad.json['issue'] as { expression?: string[] }[]).flatMap((i) => i.expression ?? []);
    expect(expressions).toEqual(
      expect.arrayContaining(['Consent.status', 'Consent.scope', 'Consent.patient', 'Consent.policyRule']),
    );

    const notConsent = await http('POST', '/Consent', {
      token: operatorToken,
      body: { resourceType: 'Patient' },
    });
    expect(notConsent.status).toBe(400);
    const notJson = await http('POST', '/Consent', { token: operatorToken, body: '{nope' });
    expect(notJson.status).toBe(400);
    expect(notJson.json['resourceType']).toBe('OperationOutcome');
    expect(await directiveCount()).toBe(before);
  });

  it('needs a token with a consent role (health stays public)', async () => {
    expect((await http('GET', '/health')).status).toBe(200);
    const anonymous = await http('GET', '/Consent?patient=E1');
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toContain('invalid_token');
    expect((await http('GET', '/Consent?patient=E1', { token: auditorToken })).status).toBe(403);
    expect((await http('GET', '/Consent?patient=E1', { token: officerToken })).status).toBe(200);
    expect((await http('GET', '/internal/policy/E1', { token: operatorToken })).status).toBe(403);
  });

  it('answers 404 for a person it has no trace of (the exchange treats them as unknown)', async () => {
    const unknown = await http('GET', `/internal/policy/${uniqueTestId('E')}`, { token: exchangeToken });
    expect(unknown.status).toBe(404);
    expect(unknown.json['resourceType']).toBe('OperationOutcome');
  });
});

describe('institutions through the exchange', () => {
  it('a hospital holding the patient may record and read their consent; another gets 403', async () => {
    const eid = uniqueTestId('E');
    const record = sourceRecord();
    await holdRecord(record, eid);
    const holder = { 'x-tessera-requesting-institution': record.institutionId };
    const stranger = { 'x-tessera-requesting-institution': uniqueTestId('H') };
    const before = await directiveCount();

    const refused = await http('POST', '/Consent', {
      token: exchangeToken,
      headers: stranger,
      body: consent({ reference: `Patient/${eid}` }),
    });
    expect(refused.status).toBe(403);
    expect(refused.json['resourceType']).toBe('OperationOutcome');
    expect(await directiveCount()).toBe(before);
    expect(
      (await http('GET', `/Consent?patient=${eid}`, { token: exchangeToken, headers: stranger })).status,
    ).toBe(403);

    const created = await http('POST', '/Consent', {
      token: exchangeToken,
      headers: holder,
      body: consent({ reference: `Patient/${eid}` }),
    });
    expect(created.status).toBe(201);
    expect(
      (
        await http('GET', `/Consent/${created.json['id'] as string}`, {
          token: exchangeToken,
          headers: stranger,
        })
      ).status,
    ).toBe(403);
    const search = await http(
      'GET',
      `/Consent?patient=${encodeURIComponent(`${record.system}|${record.value}`)}`,
      {
        token: exchangeToken,
        headers: holder,
      },
    );
    expect(search.status).toBe(200);
    expect(search.json['total']).toBe(1);
    expect((await policyOf(eid)).holdingInstitutions).toEqual([record.institutionId]);
  });
});

describe('links from hie.mpi.link', () => {
  it('a source record carrying a directive moves between persons: both versions rise (reason link)', async () => {
    const from = uniqueTestId('E');
    const to = uniqueTestId('E');
    const record = sourceRecord();
    const t0 = Date.now();
    await holdRecord(record, from, new Date(t0));
    const created = await http('POST', '/Consent', {
      token: operatorToken,
      body: consent({ identifier: { system: record.system, value: record.value } }),
    });
    expect(created.status).toBe(201);
    expect(await readPolicyVersion(redis, from)).toBe(1);
    expect((await policyOf(from)).directives).toHaveLength(1);

    // An older decision delivered late changes nothing; the newer one moves the record.
    await sendLink(record, to, new Date(t0 + 2_000), from);
    await sendLink(record, uniqueTestId('E'), new Date(t0 + 1_000), from);
    await waitFor(
      'both versions raised',
      async () => [await dbVersion(from), await dbVersion(to)],
      ([a, b]) => a === 2 && b === 1,
    );
    await waitFor(
      'Redis raised for both',
      async () => [await readPolicyVersion(redis, from), await readPolicyVersion(redis, to)],
      ([a, b]) => a === 2 && b === 1,
    );
    expect((await linkOf(record))?.enterprise_id).toBe(to);

    const moved = await policyOf(to);
    expect(moved.directives.map((d) => d.id)).toEqual([created.json['id']]);
    expect(moved.holdingInstitutions).toEqual([record.institutionId]);
    const left = await policyOf(from);
    expect(left).toMatchObject({ version: 2, directives: [], holdingInstitutions: [] });
    expect((await consentEvents(to)).map((e) => e.reason)).toEqual(['link']);
    expect((await consentEvents(from)).map((e) => e.reason)).toEqual(['directive', 'link']);
  });
});

describe('consent on a merged person (coverage)', () => {
  it('an opt-out on an enterprise id follows its records through a merge and an unmerge', async () => {
    const e1 = uniqueTestId('E');
    const e2 = uniqueTestId('E');
    const a = sourceRecord();
    const b = sourceRecord();
    const t0 = Date.now();
    await holdRecord(a, e1, new Date(t0));
    await holdRecord(b, e1, new Date(t0));
    const created = await http('POST', '/Consent', {
      token: operatorToken,
      body: consent({ reference: `Patient/${e1}` }),
    });
    expect(created.status).toBe(201);
    const id = created.json['id'] as string;
    const coverage = await dataSource.query<{ system: string; value: string }[]>(
      'SELECT system, value FROM consent_directive_coverage WHERE directive_id = $1',
      [id],
    );
    expect(coverage).toHaveLength(2);
    expect(coverage).toEqual(
      expect.arrayContaining([a, b].map((r) => ({ system: r.system, value: r.value }))),
    );

    // Operator merge E1 → E2: the MPI moves both records; E1 keeps no record.
    await sendLink(a, e2, new Date(t0 + 1_000), e1);
    await sendLink(b, e2, new Date(t0 + 1_000), e1);
    await waitFor(
      'both records on E2',
      async () => [await linkOf(a), await linkOf(b)],
      ([la, lb]) => la?.enterprise_id === e2 && lb?.enterprise_id === e2,
    );
    await waitFor(
      'E2 raised for both moves',
      () => dbVersion(e2),
      (v) => v === 2,
    );
    await waitFor(
      'Redis raised for E2',
      () => readPolicyVersion(redis, e2),
      (v) => v === 2,
    );
    const merged = await policyOf(e2);
    expect(merged.version).toBe(2);
    expect(merged.directives.map((d) => d.id)).toEqual([id]);
    expect((await consentEvents(e2)).map((e) => e.reason)).toEqual(['link', 'link']);
    expect(await dbVersion(e1)).toBe(3);

    // Unmerge: B goes back to E1; A stays on E2. Both persons keep the opt-out (the more restrictive).
    await sendLink(b, e1, new Date(t0 + 2_000), e2);
    await waitFor(
      'versions raised for the unmerge',
      async () => [await dbVersion(e1), await dbVersion(e2)],
      ([v1, v2]) => v1 === 4 && v2 === 3,
    );
    await waitFor(
      'Redis raised for both',
      async () => [await readPolicyVersion(redis, e1), await readPolicyVersion(redis, e2)],
      ([v1, v2]) => v1 === 4 && v2 === 3,
    );
    expect((await policyOf(e1)).directives.map((d) => d.id)).toEqual([id]);
    expect((await policyOf(e2)).directives.map((d) => d.id)).toEqual([id]);
    const search = await http('GET', `/Consent?patient=${e2}&status=active`, { token: operatorToken });
    expect(search.json).toMatchObject({ resourceType: 'Bundle', total: 1 });

    // Revoking it (PUT on E1) raises every person it covers, so no cached policy keeps the old one.
    const revoked = await http('PUT', `/Consent/${id}`, {
      token: operatorToken,
      body: { ...consent({ reference: `Patient/${e1}` }, 'inactive'), id },
      headers: { 'if-match': 'W/"1"' },
    });
    expect(revoked.status).toBe(200);
    expect([await readPolicyVersion(redis, e1), await readPolicyVersion(redis, e2)]).toEqual([5, 4]);
    expect((await policyOf(e2)).directives).toEqual([]);
  });
});

describe('coverage carries only restrictions across a person boundary', () => {
  it("a record leaving E1 brings E1's opt-out to its new person without its permit exceptions; E1's permits stay behind", async () => {
    const e1 = uniqueTestId('E');
    const e2 = uniqueTestId('E');
    const a = sourceRecord();
    const b = sourceRecord();
    const t0 = Date.now();
    await holdRecord(a, e1, new Date(t0));
    await holdRecord(b, e1, new Date(t0));
    const exception = [{ reference: { identifier: { system: INSTITUTION_SYSTEM, value: a.institutionId } } }];
    const optOut = await http('POST', '/Consent', {
      token: operatorToken,
      body: {
        ...consent({ reference: `Patient/${e1}` }),
        provision: { type: 'deny', provision: [{ type: 'permit', actor: exception }] },
      },
    });
    const permit = await http('POST', '/Consent', {
      token: operatorToken,
      body: {
        ...consent({ reference: `Patient/${e1}` }, 'active', 'OPTIN'),
        provision: {
          type: 'permit',
          provision: [
            {
              type: 'permit',
              actor: exception,
              securityLabel: [{ system: SENSITIVITY_SYSTEM, code: 'PSY' }],
            },
          ],
        },
      },
    });
    expect([optOut.status, permit.status]).toEqual([201, 201]);

    // A link correction moves B to another person.
    await sendLink(b, e2, new Date(t0 + 1_000), e1);
    await waitFor(
      'B on E2',
      () => linkOf(b),
      (l) => l?.enterprise_id === e2,
    );
    const other = await policyOf(e2);
    expect(other.directives.map((d) => d.id)).toEqual([optOut.json['id']]);
    expect(other.directives[0]?.base).toBe('deny');
    expect(other.directives[0]?.provisions).toEqual([]);
    const forA = decidePatient(
      parseRegionPolicy(readFileSync(REGION_POLICY_FILE, 'utf8')),
      other,
      { institutionId: a.institutionId, purposeOfUse: 'TREAT' },
      new Date(),
    );
    expect(forA.visibility.others).toBe('none');

    // E1 keeps both, whole.
    const own = await policyOf(e1);
    expect(own.directives.map((d) => d.id).sort()).toEqual(
      [optOut.json['id'] as string, permit.json['id'] as string].sort(),
    );
    expect(own.directives.find((d) => d.id === optOut.json['id'])?.provisions).toHaveLength(1);
  });
});

describe('holdings after a link change (policy cache)', () => {
  it("a record without directives leaves a person: that person's version rises, so a cached policy naming its institution is not used", async () => {
    const from = uniqueTestId('E');
    const to = uniqueTestId('E');
    const record = sourceRecord();
    const t0 = Date.now();
    await holdRecord(record, from, new Date(t0));
    // What an exchange would have cached: the institution holds the person (audit trail, discovery).
    const cached = await policyOf(from);
    expect(cached.holdingInstitutions).toEqual([record.institutionId]);

    await sendLink(record, to, new Date(t0 + 1_000), from);
    await waitFor(
      'the record to move',
      () => linkOf(record),
      (l) => l?.enterprise_id === to,
    );
    await waitFor(
      'the version key of the person left behind to pass the cached version',
      () => readPolicyVersion(redis, from),
      (v) => v > cached.version,
      { timeoutMs: 15_000, intervalMs: 200 },
    );
    expect((await policyOf(from)).holdingInstitutions).toEqual([]);
  });
});

describe('PD1-12 from hie.patient', () => {
  it('Y opens a feed-managed opt-out on the source record, N makes it inactive', async () => {
    const eid = uniqueTestId('E');
    const record = sourceRecord();
    await holdRecord(record, eid);
    const before = await dbVersion(eid);

    await sendPatient(record, { protection: true });
    await waitFor(
      'the PD1-12 opt-out',
      async () => (await policyOf(eid)).directives,
      (d) => d.length === 1,
    );
    const [directive] = (await policyOf(eid)).directives;
    expect(directive).toMatchObject({
      status: 'active',
      base: 'deny',
      source: 'hl7v2',
      recordedBy: record.institutionId,
      anchor: { kind: 'source', system: record.system, value: record.value },
    });
    await waitFor(
      'Redis raised',
      () => readPolicyVersion(redis, eid),
      (v) => v === before + 1,
    );

    // A consent operator may not edit what the institution's feed recorded.
    const put = await http('PUT', `/Consent/${directive.id}`, {
      token: operatorToken,
      headers: { 'if-match': 'W/"1"' },
      body: consent({ identifier: { system: record.system, value: record.value } }, 'inactive'),
    });
    expect(put.status).toBe(403);

    await sendPatient(record, { protection: false });
    await waitFor(
      'the opt-out inactive',
      async () => (await policyOf(eid)).directives,
      (d) => d.length === 0,
    );
    const rows = await dataSource.query<{ status: string; version: number }[]>(
      'SELECT status, version FROM consent_directives WHERE id = $1',
      [directive.id],
    );
    expect(rows).toEqual([{ status: 'inactive', version: 2 }]);
    expect(await dbVersion(eid)).toBe(before + 2);
  });
});

describe('break-the-glass', () => {
  it('creates a grant for the region duration, opens a privacy review, and the officer closes it', async () => {
    const eid = uniqueTestId('E');
    const institutionId = uniqueTestId('H');
    const bad = await http('POST', '/internal/break-glass', {
      token: exchangeToken,
      contentType: 'application/json',
      body: { enterpriseId: eid, institutionId, clientId: 'c1', reason: 'x' },
    });
    expect(bad.status).toBe(400);
    expect((bad.json['issue'] as { expression?: string[] }[])[0]?.expression).toEqual(['reason']);

    const granted = await http('POST', '/internal/break-glass', {
      token: exchangeToken,
      contentType: 'application/json',
      body: {
        enterpriseId: eid,
        institutionId,
        clientId: 'c1',
        reason: 'unconscious patient in the ED',
        user: 'dr-7',
      },
    });
    expect(granted.status).toBe(201);
    const grant = granted.json as {
      grantId: string;
      reviewId: string;
      grantedAt: string;
      expiresAt: string;
      policyVersion: number;
    };
    expect(Date.parse(grant.expiresAt) - Date.parse(grant.grantedAt)).toBe(60 * 60_000);
    expect(await readPolicyVersion(redis, eid)).toBe(grant.policyVersion);
    expect((await policyOf(eid)).breakGlass).toEqual([
      expect.objectContaining({ id: grant.grantId, institutionId, reason: 'unconscious patient in the ED' }),
    ]);
    expect((await consentEvents(eid)).map((e) => e.reason)).toEqual(['break-glass']);

    expect(
      (await http('GET', '/privacy/break-glass-reviews?status=open', { token: operatorToken })).status,
    ).toBe(403);
    const open = await http('GET', '/privacy/break-glass-reviews?status=open&limit=500', {
      token: officerToken,
    });
    const review = (open.json['items'] as { id: string; version: number; grant: { id: string } }[]).find(
      (r) => r.id === grant.reviewId,
    );
    expect(review).toMatchObject({
      status: 'open',
      version: 1,
      grant: { id: grant.grantId, enterpriseId: eid, user: 'dr-7' },
    });

    const decide = (ifMatch: string) =>
      http('POST', `/privacy/break-glass-reviews/${grant.reviewId}/decision`, {
        token: officerToken,
        contentType: 'application/json',
        headers: { 'if-match': ifMatch },
        body: { decision: 'appropriate', note: 'emergency documented' },
      });
    expect((await decide('W/"9"')).status).toBe(412);
    const closed = await decide('W/"1"');
    expect(closed.status).toBe(200);
    expect(closed.json).toMatchObject({
      status: 'closed',
      decision: 'appropriate',
      decidedBy: 'privacy-1',
      version: 2,
    });
    expect((await decide('W/"2"')).status).toBe(409);
  });
});

interface Outcome {
  readonly resourceType: string;
  readonly issue: { severity: string; code: string; diagnostics?: string; expression?: string[] }[];
}

async function storedDirective(
  id: string,
): Promise<{ status: string; version: number; recorded_by: string; owner_institution: string | null }> {
  const rows = await dataSource.query<
    { status: string; version: number; recorded_by: string; owner_institution: string | null }[]
  >('SELECT status, version, recorded_by, owner_institution FROM consent_directives WHERE id = $1', [id]);
  if (rows[0] === undefined) throw new Error(`no directive ${id}`);
  return rows[0];
}

/** A person held by two institutions (St Aurelia and Riverside, both authenticated feeds). */
async function sharedPerson(): Promise<{ eid: string; aurelia: SourceRecord; riverside: SourceRecord }> {
  const eid = uniqueTestId('E');
  const aurelia = sourceRecord(uniqueTestId('AURELIA'));
  const riverside = sourceRecord(uniqueTestId('RIVERSIDE'));
  await holdRecord(aurelia, eid);
  await holdRecord(riverside, eid);
  return { eid, aurelia, riverside };
}

const as = (institutionId: string) => ({ 'x-tessera-requesting-institution': institutionId });

describe('ownership of consent', () => {
  it("another institution holding the patient can neither withdraw, read nor list St Aurelia's opt-out", async () => {
    const { eid, aurelia, riverside } = await sharedPerson();
    const created = await http('POST', '/Consent', {
      token: exchangeToken,
      headers: as(aurelia.institutionId),
      body: consent({ reference: `Patient/${eid}` }),
    });
    expect(created.status).toBe(201);
    expect(created.headers.get('etag')).toBe('W/"1"');
    const id = created.json['id'] as string;
    const versionBefore = await dbVersion(eid);

    // The attack: list, then PUT inactive with the ETag it saw.
    const listed = await http('GET', `/Consent?patient=${eid}`, {
      token: exchangeToken,
      headers: as(riverside.institutionId),
    });
    expect(listed.status).toBe(200);
    expect(listed.json).toMatchObject({ resourceType: 'Bundle', type: 'searchset', total: 0 });
    const entries = listed.json['entry'] as {
      resource: Outcome & { id?: string };
      search: { mode: string };
    }[];
    expect(entries).toHaveLength(1);
    expect(entries[0]?.search.mode).toBe('outcome');
    expect(entries[0]?.resource).toMatchObject({
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'information', code: 'informational' }],
    });
    expect(entries[0]?.resource.issue[0]?.diagnostics).toBe(
      "1 consent directive(s) recorded by other institutions restrict sharing of this patient's data; their content is not shown.",
    );
    expect(JSON.stringify(listed.json)).not.toContain(id);

    const put = await http('PUT', `/Consent/${id}`, {
      token: exchangeToken,
      headers: { ...as(riverside.institutionId), 'if-match': 'W/"1"' },
      body: { ...consent({ reference: `Patient/${eid}` }, 'inactive'), id },
    });
    expect(put.status).toBe(403);
    const outcome = put.json as unknown as Outcome;
    expect(outcome.resourceType).toBe('OperationOutcome');
    expect(outcome.issue[0]?.code).toBe('forbidden');
    expect(outcome.issue[0]?.diagnostics).toContain('recorded by another institution');
    expect(JSON.stringify(put.json)).not.toContain(aurelia.institutionId);
    expect(await storedDirective(id)).toMatchObject({
      status: 'active',
      version: 1,
      owner_institution: aurelia.institutionId,
    });
    expect(await dbVersion(eid)).toBe(versionBefore);
    expect((await policyOf(eid)).directives.map((d) => d.id)).toEqual([id]);

    const read = await http('GET', `/Consent/${id}`, {
      token: exchangeToken,
      headers: as(riverside.institutionId),
    });
    expect(read.status).toBe(403);
    expect((read.json as unknown as Outcome).issue[0]?.code).toBe('forbidden');
    expect(JSON.stringify(read.json)).not.toContain('OPTOUT');

    // The owner sees its own directive, without an outcome entry; regional operators see everything.
    const own = await http('GET', `/Consent?patient=${eid}`, {
      token: exchangeToken,
      headers: as(aurelia.institutionId),
    });
    expect(own.json).toMatchObject({ total: 1 });
    expect((own.json['entry'] as { search: { mode: string } }[]).map((e) => e.search.mode)).toEqual([
      'match',
    ]);
    expect((await http('GET', `/Consent?patient=${eid}`, { token: operatorToken })).json).toMatchObject({
      total: 1,
    });
    expect((await http('GET', `/Consent/${id}`, { token: officerToken })).status).toBe(200);
  });

  it('the owner revises (200, recordedBy kept); a consent.write operator may not (403: a privacy officer must)', async () => {
    const { eid, aurelia } = await sharedPerson();
    const created = await http('POST', '/Consent', {
      token: exchangeToken,
      headers: as(aurelia.institutionId),
      body: consent({ reference: `Patient/${eid}` }),
    });
    const id = created.json['id'] as string;

    const byOperator = await http('PUT', `/Consent/${id}`, {
      token: writerOnlyToken,
      headers: { 'if-match': 'W/"1"' },
      body: { ...consent({ reference: `Patient/${eid}` }, 'inactive'), id },
    });
    expect(byOperator.status).toBe(403);
    expect((byOperator.json as unknown as Outcome).issue[0]?.diagnostics).toContain('privacy officer');
    expect(await storedDirective(id)).toMatchObject({ status: 'active', version: 1 });

    const byOwner = await http('PUT', `/Consent/${id}`, {
      token: exchangeToken,
      headers: { ...as(aurelia.institutionId), 'if-match': 'W/"1"' },
      body: { ...consent({ reference: `Patient/${eid}` }, 'inactive'), id },
    });
    expect(byOwner.status).toBe(200);
    expect(byOwner.headers.get('etag')).toBe('W/"2"');
    expect(await storedDirective(id)).toMatchObject({
      status: 'inactive',
      version: 2,
      recorded_by: aurelia.institutionId,
      owner_institution: aurelia.institutionId,
    });
    const history = await dataSource.query<{ version: number; revised_by: string }[]>(
      'SELECT version, revised_by FROM consent_directive_history WHERE id = $1 ORDER BY version',
      [id],
    );
    expect(history).toEqual([
      { version: 1, revised_by: `${aurelia.institutionId}/exchange` },
      { version: 2, revised_by: `${aurelia.institutionId}/exchange` },
    ]);
  });

  it('a privacy officer needs X-Tessera-Reason (400 without), then revises (200) and the override is audited', async () => {
    const { eid, aurelia } = await sharedPerson();
    const created = await http('POST', '/Consent', {
      token: exchangeToken,
      headers: as(aurelia.institutionId),
      body: consent({ reference: `Patient/${eid}` }),
    });
    const id = created.json['id'] as string;
    const revoke = (headers: Record<string, string>) =>
      http('PUT', `/Consent/${id}`, {
        token: officerToken,
        headers: { 'if-match': 'W/"1"', ...headers },
        body: { ...consent({ reference: `Patient/${eid}` }, 'inactive'), id },
      });

    const noReason = await revoke({});
    expect(noReason.status).toBe(400);
    expect((noReason.json as unknown as Outcome).issue[0]?.expression).toEqual(['X-Tessera-Reason']);
    expect((await revoke({ 'x-tessera-reason': 'ok' })).status).toBe(400);
    expect((await revoke({ 'x-tessera-reason': 'x'.repeat(501) })).status).toBe(400);
    expect(await storedDirective(id)).toMatchObject({ status: 'active', version: 1 });

    const reason = 'Patient withdrew the opt-out in writing at the privacy office, ticket PO-1182';
    const done = await revoke({ 'x-tessera-reason': reason });
    expect(done.status).toBe(200);
    expect(await storedDirective(id)).toMatchObject({
      status: 'inactive',
      version: 2,
      recorded_by: aurelia.institutionId,
      owner_institution: aurelia.institutionId,
    });
    const history = await dataSource.query<{ revised_by: string; revision_reason: string | null }[]>(
      'SELECT revised_by, revision_reason FROM consent_directive_history WHERE id = $1 AND version = 2',
      [id],
    );
    expect(history).toEqual([{ revised_by: 'privacy-1', revision_reason: reason }]);

    const audited = await waitFor(
      'the override in the audit store',
      () =>
        dataSource.query<
          {
            record: {
              type: string;
              detail?: string;
              patients: string[];
              agent: { clientId: string; roles: string[] };
            };
          }[]
        >(`SELECT record FROM audit_events WHERE type = 'consent-decision' AND entities @> $1::jsonb`, [
          JSON.stringify([{ reference: `Consent/${id}` }]),
        ]),
      (rows) => rows.length === 1,
    );
    const record = audited[0]?.record;
    expect(record?.detail).toContain(reason);
    expect(record?.patients).toEqual([eid]);
    expect(record?.agent).toMatchObject({ clientId: 'privacy-1', roles: ['privacy.officer'] });
  });

  it("a feed-recorded opt-out: the institution's own FHIR client may revise it (stays feed-managed), others get 403", async () => {
    const { eid, aurelia, riverside } = await sharedPerson();
    await applied('patient', await sendPatient(aurelia, { protection: true }));
    const [directive] = (await policyOf(eid)).directives;
    expect(directive).toMatchObject({ source: 'hl7v2', recordedBy: aurelia.institutionId });
    const id = directive?.id ?? '';
    const body = {
      ...consent({ identifier: { system: aurelia.system, value: aurelia.value } }, 'inactive'),
      id,
    };

    const other = await http('PUT', `/Consent/${id}`, {
      token: exchangeToken,
      headers: { ...as(riverside.institutionId), 'if-match': 'W/"1"' },
      body,
    });
    expect(other.status).toBe(403);
    const own = await http('PUT', `/Consent/${id}`, {
      token: exchangeToken,
      headers: { ...as(aurelia.institutionId), 'if-match': 'W/"1"' },
      body,
    });
    expect(own.status).toBe(200);
    expect((await policyOf(eid)).directives).toEqual([]);

    // Still the feed's: the next Y from St Aurelia re-activates the same directive.
    await applied('patient', await sendPatient(aurelia, { protection: true }));
    expect(await storedDirective(id)).toMatchObject({ status: 'active', version: 3 });
  });
});

describe('holding and anchors are re-checked', () => {
  it('the owner may not revise a directive once it no longer holds the person; a privacy officer still may', async () => {
    const { eid, aurelia } = await sharedPerson();
    const created = await http('POST', '/Consent', {
      token: exchangeToken,
      headers: as(aurelia.institutionId),
      body: consent({ reference: `Patient/${eid}` }),
    });
    expect(created.status).toBe(201);
    const id = created.json['id'] as string;

    // St Aurelia's only record moves to another person: it no longer holds `eid`.
    const other = uniqueTestId('E');
    await sendLink(aurelia, other, new Date(Date.now() + 7_200_000), eid);
    await waitFor(
      'the record to move',
      () => linkOf(aurelia),
      (l) => l?.enterprise_id === other,
    );
    const put = await http('PUT', `/Consent/${id}`, {
      token: exchangeToken,
      headers: { ...as(aurelia.institutionId), 'if-match': 'W/"1"' },
      body: { ...consent({ reference: `Patient/${eid}` }, 'inactive'), id },
    });
    expect(put.status).toBe(403);
    expect((put.json as unknown as Outcome).issue[0]?.code).toBe('forbidden');
    expect(await storedDirective(id)).toMatchObject({ status: 'active', version: 1 });

    const byOfficer = await http('PUT', `/Consent/${id}`, {
      token: officerToken,
      headers: { 'if-match': 'W/"1"', 'x-tessera-reason': 'patient request, checked by phone' },
      body: { ...consent({ reference: `Patient/${eid}` }, 'inactive'), id },
    });
    expect(byOfficer.status).toBe(200);
    expect(await storedDirective(id)).toMatchObject({ status: 'inactive', version: 2 });
  });

  it("an institution may not anchor, search or read consent by another institution's source record (403, existing or not)", async () => {
    const { aurelia, riverside } = await sharedPerson();
    const before = await directiveCount();
    const onTheirs = await http('POST', '/Consent', {
      token: exchangeToken,
      headers: as(aurelia.institutionId),
      body: consent({ identifier: { system: riverside.system, value: riverside.value } }),
    });
    expect(onTheirs.status).toBe(403);
    const diagnostics = (onTheirs.json as unknown as Outcome).issue[0]?.diagnostics ?? '';
    expect(diagnostics).toContain('source record the requesting institution did not send');
    expect(diagnostics).not.toContain(riverside.value);
    expect(await directiveCount()).toBe(before);

    for (const value of [riverside.value, uniqueTestId('GUESS')]) {
      const search = await http(
        'GET',
        `/Consent?patient=${encodeURIComponent(`${riverside.system}|${value}`)}`,
        { token: exchangeToken, headers: as(aurelia.institutionId) },
      );
      expect(search.status).toBe(403);
      expect((search.json as unknown as Outcome).issue[0]?.diagnostics).toBe(diagnostics);
    }

    // Its own record is fine, and a regional operator may use any.
    const onOwn = await http('POST', '/Consent', {
      token: exchangeToken,
      headers: as(aurelia.institutionId),
      body: consent({ identifier: { system: aurelia.system, value: aurelia.value } }),
    });
    expect(onOwn.status).toBe(201);
    const byOperator = await http(
      'GET',
      `/Consent?patient=${encodeURIComponent(`${riverside.system}|${riverside.value}`)}`,
      { token: operatorToken },
    );
    expect(byOperator.status).toBe(200);
  });

  it("the stored Consent's organization names the owner, whatever the client wrote; none for an operator's", async () => {
    const { eid, aurelia } = await sharedPerson();
    const claimed = [{ reference: 'Organization/someone-else' }];
    const created = await http('POST', '/Consent', {
      token: exchangeToken,
      headers: as(aurelia.institutionId),
      body: { ...consent({ reference: `Patient/${eid}` }), organization: claimed },
    });
    expect(created.status).toBe(201);
    const mine = [{ reference: `Organization/${aurelia.institutionId}` }];
    expect(created.json['organization']).toEqual(mine);
    const id = created.json['id'] as string;
    const revised = await http('PUT', `/Consent/${id}`, {
      token: exchangeToken,
      headers: { ...as(aurelia.institutionId), 'if-match': 'W/"1"' },
      body: { ...consent({ reference: `Patient/${eid}` }, 'inactive'), id, organization: claimed },
    });
    expect(revised.status).toBe(200);
    const read = await http('GET', `/Consent/${id}`, { token: officerToken });
    expect(read.json['organization']).toEqual(mine);

    const byOperator = await http('POST', '/Consent', {
      token: operatorToken,
      body: { ...consent({ reference: `Patient/${eid}` }), organization: claimed },
    });
    expect(byOperator.status).toBe(201);
    expect(byOperator.json['organization']).toBeUndefined();
  });
});

describe('PD1-12: only a present value from the recording institution changes the opt-out', () => {
  it('Y, then no PD1 (still active), N (inactive), "" and false (still inactive); another institution never changes it', async () => {
    const eid = uniqueTestId('E');
    const record = sourceRecord(uniqueTestId('AURELIA'));
    const intruder = uniqueTestId('RIVERSIDE');
    await holdRecord(record, eid);

    await applied('patient', await sendPatient(record, { protection: true }));
    const [directive] = (await policyOf(eid)).directives;
    const id = directive?.id ?? '';
    expect(await storedDirective(id)).toMatchObject({ status: 'active', version: 1 });

    // An A08 without PD1 (no extension) says nothing about protection.
    await applied('patient', await sendPatient(record));
    expect(await storedDirective(id)).toMatchObject({ status: 'active', version: 1 });

    // Another institution, same identifier system and value: N and no-PD1 change nothing, and the
    // record stays St Aurelia's.
    await applied('patient', await sendPatient(record, { protection: false, asInstitution: intruder }));
    await applied('patient', await sendPatient(record, { asInstitution: intruder }));
    expect(await storedDirective(id)).toMatchObject({ status: 'active', version: 1 });
    expect(await linkOf(record)).toMatchObject({ institution_id: record.institutionId, authenticated: true });

    // An unauthenticated message claiming St Aurelia may not lift what an authenticated one recorded.
    await applied('patient', await sendPatient(record, { protection: false, auth: 'none' }));
    expect(await storedDirective(id)).toMatchObject({ status: 'active', version: 1 });

    await applied('patient', await sendPatient(record, { protection: false }));
    expect(await storedDirective(id)).toMatchObject({ status: 'inactive', version: 2 });
    // The gateway maps PD1-12 = "" (explicit null) to false as well: stays withdrawn, no new version.
    await applied('patient', await sendPatient(record, { protection: false }));
    await applied('patient', await sendPatient(record));
    expect(await storedDirective(id)).toMatchObject({ status: 'inactive', version: 2 });

    // Another institution's Y does not re-activate it either.
    await applied('patient', await sendPatient(record, { protection: true, asInstitution: intruder }));
    expect(await storedDirective(id)).toMatchObject({ status: 'inactive', version: 2 });
  });
});

describe('PD1-12 and message order (replays from the ledger)', () => {
  const at = (hour: number): string => `2026-12-01T${String(hour).padStart(2, '0')}:00:00Z`;

  it('a replayed older N does not lift an opt-out recorded since; a replayed older Y does not restore one', async () => {
    const eid = uniqueTestId('E');
    const record = sourceRecord(uniqueTestId('AURELIA'));
    await holdRecord(record, eid);

    // 08:00 N (nothing to withdraw), 09:00 Y: the opt-out is active.
    await applied('patient', await sendPatient(record, { protection: false, messageTime: at(8) }));
    await applied('patient', await sendPatient(record, { protection: true, messageTime: at(9) }));
    const [directive] = (await policyOf(eid)).directives;
    const id = directive?.id ?? '';
    expect(await storedDirective(id)).toMatchObject({ status: 'active', version: 1 });

    // The 08:00 N replayed: older than the Y, so nothing changes.
    await applied('patient', await sendPatient(record, { protection: false, messageTime: at(8) }));
    expect(await storedDirective(id)).toMatchObject({ status: 'active', version: 1 });
    // A Y at 10:00 confirms it (no new version); a replayed N from 09:30 is older than that.
    await applied('patient', await sendPatient(record, { protection: true, messageTime: at(10) }));
    await applied(
      'patient',
      await sendPatient(record, { protection: false, messageTime: '2026-12-01T09:30:00Z' }),
    );
    expect(await storedDirective(id)).toMatchObject({ status: 'active', version: 1 });
    // Unknown or equal time may not lift it either.
    await applied('patient', await sendPatient(record, { protection: false }));
    await applied(
      'patient',
      await sendPatient(record, { protection: false, messageTime: '2026-12-01T11:00:00+01:00' }),
    );
    expect(await storedDirective(id)).toMatchObject({ status: 'active', version: 1 });

    // A newer N withdraws it; the 09:00 Y replayed then changes nothing.
    await applied('patient', await sendPatient(record, { protection: false, messageTime: at(11) }));
    expect(await storedDirective(id)).toMatchObject({ status: 'inactive', version: 2 });
    await applied('patient', await sendPatient(record, { protection: true, messageTime: at(9) }));
    expect(await storedDirective(id)).toMatchObject({ status: 'inactive', version: 2 });
    // A newer Y restores it.
    await applied('patient', await sendPatient(record, { protection: true, messageTime: at(12) }));
    expect(await storedDirective(id)).toMatchObject({ status: 'active', version: 3 });
  });

  it('an unauthenticated sender takes no consent action on a record that arrived authenticated', async () => {
    const eid = uniqueTestId('E');
    const record = sourceRecord(uniqueTestId('AURELIA'));
    await holdRecord(record, eid);
    // Y from an unauthenticated sender claiming the institution: no opt-out is created.
    await applied('patient', await sendPatient(record, { protection: true, auth: 'none' }));
    await applied('patient', await sendPatient(record, { protection: true, auth: null }));
    expect((await policyOf(eid)).directives).toEqual([]);

    await applied('patient', await sendPatient(record, { protection: true }));
    const [directive] = (await policyOf(eid)).directives;
    const id = directive?.id ?? '';
    await applied('patient', await sendPatient(record, { protection: false }));
    expect(await storedDirective(id)).toMatchObject({ status: 'inactive', version: 2 });
    // Nor is a withdrawn one re-activated.
    await applied('patient', await sendPatient(record, { protection: true, auth: 'none' }));
    expect(await storedDirective(id)).toMatchObject({ status: 'inactive', version: 2 });
  });
});

describe('holding a record is earned by an authenticated sender', () => {
  it('a record from an unauthenticated sender does not make its institution a holder; an authenticated one does, for good', async () => {
    const eid = uniqueTestId('E');
    const aurelia = sourceRecord(uniqueTestId('AURELIA'));
    await holdRecord(aurelia, eid);
    const late = sourceRecord(uniqueTestId('RIVERSIDE'));
    await holdRecord(late, eid, ahead(), 'none');
    expect(await linkOf(late)).toMatchObject({ institution_id: late.institutionId, authenticated: false });
    expect((await policyOf(eid)).holdingInstitutions).toEqual([aurelia.institutionId]);

    const onPerson = await http('POST', '/Consent', {
      token: exchangeToken,
      headers: as(late.institutionId),
      body: consent({ reference: `Patient/${eid}` }),
    });
    expect(onPerson.status).toBe(403);
    const onOwnRecord = await http('POST', '/Consent', {
      token: exchangeToken,
      headers: as(late.institutionId),
      body: consent({ identifier: { system: late.system, value: late.value } }),
    });
    expect(onOwnRecord.status).toBe(403);
    // An event from before senderAuthentication existed counts as unauthenticated too.
    await applied('patient', await sendPatient(late, { auth: null }));
    expect((await policyOf(eid)).holdingInstitutions).toEqual([aurelia.institutionId]);

    await applied('patient', await sendPatient(late, { auth: 'ip-allow-list' }));
    expect((await policyOf(eid)).holdingInstitutions).toEqual(
      [aurelia.institutionId, late.institutionId].sort(),
    );
    const recorded = await http('POST', '/Consent', {
      token: exchangeToken,
      headers: as(late.institutionId),
      body: consent({ reference: `Patient/${eid}` }),
    });
    expect(recorded.status).toBe(201);

    // Earned once, kept: a later unauthenticated message does not downgrade the record.
    await applied('patient', await sendPatient(late, { auth: 'none' }));
    expect(await linkOf(late)).toMatchObject({ authenticated: true });
    expect((await policyOf(eid)).holdingInstitutions).toContain(late.institutionId);
  });
});

describe("the privacy officer's watch", () => {
  /** What the exchange writes for a query by `institutionId` about `eid`; returns the event id. */
  async function query(
    institutionId: string,
    eid: string,
    recordedAt = new Date(Date.now() + 2 * 3_600_000),
  ): Promise<string> {
    const sent = await producer.publish(AuditRecorded, {
      key: eid,
      source: '/tessera/exchange',
      data: {
        type: 'rest',
        subtype: 'search-type',
        action: 'E',
        outcome: '0',
        // By default after the registrations (their links are decided an hour ahead, see `ahead`).
        recordedAt: recordedAt.toISOString(),
        agent: { clientId: `${institutionId}-client`, institutionId, roles: [] },
        observer: 'exchange',
        purposeOfUse: 'TREAT',
        breakGlass: false,
        patients: [eid],
        entities: [{ type: 'DocumentReference', query: `patient=${eid}` }],
      },
    });
    return sent.id;
  }

  async function hits(institutionId: string): Promise<number> {
    const rows = await dataSource.query<{ n: string }[]>(
      'SELECT count(*)::text AS n FROM watch_hits WHERE institution_id = $1',
      [institutionId],
    );
    return Number(rows[0]?.n);
  }

  async function alertsOf(institutionId: string): Promise<
    {
      id: string;
      institutionId: string;
      personCount: number;
      threshold: number;
      reason: string;
      version: number;
    }[]
  > {
    const reply = await http('GET', '/privacy/alerts?status=open&limit=500', { token: officerToken });
    expect(reply.status).toBe(200);
    return (
      reply.json['items'] as {
        id: string;
        institutionId: string;
        personCount: number;
        threshold: number;
        reason: string;
        version: number;
      }[]
    ).filter((a) => a.institutionId === institutionId);
  }

  /** A person St Aurelia holds that `institutionId` then registers with a new record of its own. */
  async function registerHeldPerson(institutionId: string): Promise<string> {
    const eid = uniqueTestId('E');
    await holdRecord(sourceRecord(uniqueTestId('AURELIA')), eid);
    const record = sourceRecord(institutionId);
    await holdRecord(record, eid);
    await waitFor(
      'the registration',
      () =>
        dataSource.query<unknown[]>('SELECT 1 FROM watch_registrations WHERE system = $1 AND value = $2', [
          record.system,
          record.value,
        ]),
      (rows) => rows.length === 1,
    );
    return eid;
  }

  it('alerts once when an institution registers and then queries more persons others hold than the threshold', async () => {
    const watched = uniqueTestId('RIVERSIDE');

    // Its own patient (no one else held them) and a person held by others but not registered by it: not counted.
    const ownPatient = uniqueTestId('E');
    await holdRecord(sourceRecord(watched), ownPatient);
    await applied('watch', await query(watched, ownPatient));
    const notRegistered = uniqueTestId('E');
    await holdRecord(sourceRecord(uniqueTestId('AURELIA')), notRegistered);
    await applied('watch', await query(watched, notRegistered));
    expect(await hits(watched)).toBe(0);

    const persons: string[] = [];
    for (let i = 0; i < WATCH_THRESHOLD + 2; i++) persons.push(await registerHeldPerson(watched));

    // Up to the threshold: counted, no alert. Querying the same person again does not count twice.
    for (const eid of persons.slice(0, WATCH_THRESHOLD)) await applied('watch', await query(watched, eid));
    await applied('watch', await query(watched, persons[0] ?? ''));
    expect(await hits(watched)).toBe(WATCH_THRESHOLD);
    expect(await alertsOf(watched)).toEqual([]);

    // One more: the alert opens, with a security-alert audit record.
    await applied('watch', await query(watched, persons[WATCH_THRESHOLD] ?? ''));
    const [alert] = await alertsOf(watched);
    expect(alert).toMatchObject({
      institutionId: watched,
      personCount: WATCH_THRESHOLD + 1,
      threshold: WATCH_THRESHOLD,
      version: 1,
    });
    expect(alert?.reason).toContain('registered');
    const security = await waitFor(
      'the security-alert audit record',
      () =>
        dataSource.query<{ record: { detail?: string } }[]>(
          `SELECT record FROM audit_events WHERE type = 'security-alert' AND subtype = 'registered-then-queried' AND entities @> $1::jsonb`,
          [JSON.stringify([{ reference: `privacy/alerts/${alert?.id ?? ''}` }])],
        ),
      (rows) => rows.length === 1,
    );
    expect(security[0]?.record.detail).toContain(watched);

    // Once per window: a further person raises the count, not a second alert.
    await applied('watch', await query(watched, persons[WATCH_THRESHOLD + 1] ?? ''));
    expect(await hits(watched)).toBe(WATCH_THRESHOLD + 2);
    expect(await alertsOf(watched)).toHaveLength(1);

    // The officer closes it like a break-the-glass review.
    expect((await http('GET', '/privacy/alerts', { token: operatorToken })).status).toBe(403);
    const closed = await http('POST', `/privacy/alerts/${alert?.id ?? ''}/decision`, {
      token: officerToken,
      contentType: 'application/json',
      headers: { 'if-match': 'W/"1"' },
      body: { decision: 'inappropriate', note: 'referred to the institution' },
    });
    expect(closed.status).toBe(200);
    expect(closed.json).toMatchObject({
      status: 'closed',
      decision: 'inappropriate',
      decidedBy: 'privacy-1',
      version: 2,
    });
  });
  it('counts a record moved onto a held person (not only a first link), and its first query however late', async () => {
    const watched = uniqueTestId('RIVERSIDE');
    const victim = uniqueTestId('E');
    await holdRecord(sourceRecord(uniqueTestId('AURELIA')), victim);
    // An A04 with slightly different demographics: a new person of its own (nobody else holds it).
    const record = sourceRecord(watched);
    const fresh = uniqueTestId('E');
    const t0 = Date.now() + 3_600_000;
    await holdRecord(record, fresh, new Date(t0));
    // The A08 with exact demographics: the MPI moves the record onto the victim.
    await sendLink(record, victim, new Date(t0 + 1_000), fresh);
    await waitFor(
      'the move registered',
      () =>
        dataSource.query<{ enterprise_id: string }[]>(
          'SELECT enterprise_id FROM watch_registrations WHERE system = $1 AND value = $2',
          [record.system, record.value],
        ),
      (rows) => rows.length === 1 && rows[0]?.enterprise_id === victim,
    );
    // Queried 40 days later: still the first query after the link, so it counts.
    await applied('watch', await query(watched, victim, new Date(t0 + 40 * 24 * 3_600_000)));
    expect(await hits(watched)).toBe(1);
  });
});

describe('privacy review of every label permit an institution records', () => {
  const region: RegionPolicy = parseRegionPolicy(readFileSync(REGION_POLICY_FILE, 'utf8'));

  /** A Consent (base `rule`) with one label permit naming `actors` (none: anyone) for `labels`. */
  function labelPermit(
    eid: string,
    actors: readonly string[],
    labels: readonly string[],
    rule: 'OPTIN' | 'OPTOUT' = 'OPTIN',
  ): Record<string, unknown> {
    const base = consent({ reference: `Patient/${eid}` }, 'active', rule);
    return {
      ...base,
      provision: {
        type: rule === 'OPTOUT' ? 'deny' : 'permit',
        provision: [
          {
            type: 'permit',
            ...(actors.length > 0
              ? {
                  actor: actors.map((value) => ({
                    reference: { identifier: { system: INSTITUTION_SYSTEM, value } },
                  })),
                }
              : {}),
            securityLabel: labels.map((code) => ({ system: SENSITIVITY_SYSTEM, code })),
          },
        ],
      },
    };
  }

  /** The labels another institution's items stay hidden under, for `institutionId` asking for treatment. */
  async function deniedLabelsFor(eid: string, institutionId: string): Promise<readonly string[]> {
    const decision = decidePatient(
      region,
      await policyOf(eid),
      { institutionId, purposeOfUse: 'TREAT' },
      new Date(),
    );
    expect(decision.visibility.others).toBe('all');
    return decision.visibility.deniedLabels;
  }

  interface ConsentReview {
    readonly id: string;
    readonly version: number;
    readonly status: string;
    readonly recordedBy: string;
    readonly provisions: readonly { readonly actors: string[]; readonly securityLabels: string[] }[];
  }

  async function openReviews(): Promise<ConsentReview[]> {
    const reply = await http('GET', '/privacy/consent-reviews?limit=500', { token: officerToken });
    expect(reply.status).toBe(200);
    return reply.json['items'] as ConsentReview[];
  }

  const decide = (id: string, ifMatch: string, decision: 'approve' | 'reject') =>
    http('POST', `/privacy/consent-reviews/${id}/decision`, {
      token: officerToken,
      contentType: 'application/json',
      headers: { 'if-match': ifMatch },
      body: { decision, note: 'checked against the signed form' },
    });

  it('a self-permit for ETH is proposed and does not count; approved, the version rises and it counts', async () => {
    const { eid, aurelia, riverside } = await sharedPerson();
    expect(await deniedLabelsFor(eid, aurelia.institutionId)).toContain('ETH');

    const created = await http('POST', '/Consent', {
      token: exchangeToken,
      headers: as(aurelia.institutionId),
      body: labelPermit(eid, [aurelia.institutionId], ['ETH']),
    });
    expect(created.status).toBe(201);
    expect(created.json['status']).toBe('proposed');
    expect((created.json['meta'] as { tag?: { system: string; code: string }[] }).tag).toEqual([
      expect.objectContaining({ system: 'urn:tessera:consent-review', code: 'pending' }),
    ]);
    const id = created.json['id'] as string;
    expect(await storedDirective(id)).toMatchObject({ status: 'proposed', version: 1 });
    // Its requests still do not see another institution's ETH items.
    expect(await deniedLabelsFor(eid, aurelia.institutionId)).toContain('ETH');

    // A review item for the privacy officer; an institution cannot list or decide it.
    expect(
      (
        await http('GET', '/privacy/consent-reviews', {
          token: exchangeToken,
          headers: as(aurelia.institutionId),
        })
      ).status,
    ).toBe(403);
    expect((await http('GET', '/privacy/consent-reviews', { token: operatorToken })).status).toBe(403);
    expect((await openReviews()).find((r) => r.id === id)).toMatchObject({
      id,
      version: 1,
      status: 'proposed',
      recordedBy: aurelia.institutionId,
      provisions: [{ actors: [aurelia.institutionId], securityLabels: ['ETH'] }],
    });

    const before = await dbVersion(eid);
    expect((await decide(id, 'W/"7"', 'approve')).status).toBe(412);
    const approved = await decide(id, 'W/"1"', 'approve');
    expect(approved.status).toBe(200);
    expect(approved.headers.get('etag')).toBe('W/"2"');
    expect(approved.json).toMatchObject({ id, version: 2, status: 'active' });
    expect(await dbVersion(eid)).toBeGreaterThan(before);
    expect(await readPolicyVersion(redis, eid)).toBe(await dbVersion(eid));
    expect(await deniedLabelsFor(eid, aurelia.institutionId)).not.toContain('ETH');
    expect(await deniedLabelsFor(eid, riverside.institutionId)).toContain('ETH');
    const read = await http('GET', `/Consent/${id}`, {
      token: exchangeToken,
      headers: as(aurelia.institutionId),
    });
    expect(read.json).toMatchObject({ status: 'active', meta: { versionId: '2' } });
    expect((read.json['meta'] as { tag?: { code: string }[] }).tag).toEqual([
      expect.objectContaining({ code: 'approved' }),
    ]);
    expect((await openReviews()).map((r) => r.id)).not.toContain(id);
    expect((await decide(id, 'W/"2"', 'reject')).status).toBe(409);
    const history = await dataSource.query<{ version: number; status: string; revised_by: string }[]>(
      'SELECT version, status, revised_by FROM consent_directive_history WHERE id = $1 ORDER BY version',
      [id],
    );
    expect(history).toEqual([
      { version: 1, status: 'proposed', revised_by: `${aurelia.institutionId}/exchange` },
      { version: 2, status: 'active', revised_by: 'privacy-1' },
    ]);

    // Any later change by the institution that still holds the permit goes back to review.
    const revised = await http('PUT', `/Consent/${id}`, {
      token: exchangeToken,
      headers: { ...as(aurelia.institutionId), 'if-match': 'W/"2"' },
      body: { ...labelPermit(eid, [aurelia.institutionId], ['ETH', 'SUD']), id },
    });
    expect(revised.status).toBe(200);
    expect(revised.json['status']).toBe('proposed');
    expect(await deniedLabelsFor(eid, aurelia.institutionId)).toEqual(expect.arrayContaining(['ETH', 'SUD']));
  });

  it('rejected by the privacy officer: status rejected, the permit never counts, its opt-out does at once', async () => {
    const { eid, aurelia, riverside } = await sharedPerson();
    // An opt-out with a self-permit for ETH as its exception: the opt-out counts while under review.
    const created = await http('POST', '/Consent', {
      token: exchangeToken,
      headers: as(aurelia.institutionId),
      body: labelPermit(eid, [], ['ETH'], 'OPTOUT'),
    });
    expect(created.status).toBe(201);
    expect(created.json['status']).toBe('proposed');
    const id = created.json['id'] as string;
    for (const institutionId of [aurelia.institutionId, riverside.institutionId]) {
      const decision = decidePatient(
        region,
        await policyOf(eid),
        { institutionId, purposeOfUse: 'TREAT' },
        new Date(),
      );
      expect(decision.visibility.others).toBe('none');
    }
    expect((await openReviews()).map((r) => r.id)).toContain(id);

    const rejected = await decide(id, 'W/"1"', 'reject');
    expect(rejected.status).toBe(200);
    expect(rejected.json).toMatchObject({ id, version: 2, status: 'rejected' });
    expect(await storedDirective(id)).toMatchObject({ status: 'rejected', version: 2 });
    expect(await readPolicyVersion(redis, eid)).toBe(await dbVersion(eid));
    const read = await http('GET', `/Consent/${id}`, {
      token: exchangeToken,
      headers: as(aurelia.institutionId),
    });
    expect(read.json['status']).toBe('rejected');
    const decision = decidePatient(
      region,
      await policyOf(eid),
      { institutionId: aurelia.institutionId, purposeOfUse: 'TREAT' },
      new Date(),
    );
    expect(decision.visibility.others).toBe('none');
    expect(decision.reasons).not.toContain('label-permit:ETH');
    expect((await openReviews()).map((r) => r.id)).not.toContain(id);
  });

  it('mirror permits (each institution lifts PSY / HIV for the other) both wait for review and lift nothing', async () => {
    const { eid, aurelia, riverside } = await sharedPerson();
    expect(await deniedLabelsFor(eid, riverside.institutionId)).toContain('PSY');
    const forRiverside = await http('POST', '/Consent', {
      token: exchangeToken,
      headers: as(aurelia.institutionId),
      body: labelPermit(eid, [riverside.institutionId], ['PSY', 'HIV']),
    });
    const forAurelia = await http('POST', '/Consent', {
      token: exchangeToken,
      headers: as(riverside.institutionId),
      body: labelPermit(eid, [aurelia.institutionId], ['PSY', 'HIV']),
    });
    for (const created of [forRiverside, forAurelia]) {
      expect(created.status).toBe(201);
      expect(created.json['status']).toBe('proposed');
      expect((await openReviews()).map((r) => r.id)).toContain(created.json['id']);
    }
    for (const institutionId of [aurelia.institutionId, riverside.institutionId])
      expect(await deniedLabelsFor(eid, institutionId)).toEqual(expect.arrayContaining(['PSY', 'HIV']));

    // Approved, Riverside's lift counts; Aurelia's still waits.
    const approved = await decide(forRiverside.json['id'] as string, 'W/"1"', 'approve');
    expect(approved.status).toBe(200);
    expect(await deniedLabelsFor(eid, riverside.institutionId)).not.toContain('PSY');
    expect(await deniedLabelsFor(eid, aurelia.institutionId)).toContain('PSY');
  });

  it('a consent operator records a permit for ETH: active at once, no review', async () => {
    const { eid, aurelia } = await sharedPerson();
    const created = await http('POST', '/Consent', {
      token: operatorToken,
      body: labelPermit(eid, [aurelia.institutionId], ['ETH']),
    });
    expect(created.status).toBe(201);
    expect(created.json['status']).toBe('active');
    expect(await deniedLabelsFor(eid, aurelia.institutionId)).not.toContain('ETH');
    expect((await openReviews()).map((r) => r.id)).not.toContain(created.json['id']);
  });
});
