// The adapter end to end, in-process against real Postgres, Redis and Kafka: MLLP → ledger →
// hie.inbound.hl7v2 → mapper → canonical events; the operators' ledger API (search, raw view with
// audit, replay, replay jobs, prune); FHIR ingest; the institutions admin API.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { DataSource } from 'typeorm';
import type { Kafka } from 'kafkajs';
import { retryTopic, deadLetterTopic, Topics } from '@tessera/contracts';
import { loadPlatformSettings, migrateService } from '@tessera/platform-service';
import {
  dropTestDatabase,
  freePort,
  startTestIssuer,
  mllpExchange,
  msaOf,
  testKafka,
  TopicWatcher,
  uniqueTestId,
  waitFor,
  withAdmin,
} from '@tessera/testing';
import type { CollectedRecord, TestIssuer } from '@tessera/testing';

const RUN = uniqueTestId('g');
const DATABASE = `tessera_gateway_test_${RUN}`;
const GROUP = `interop-gateway.mapper.test-${RUN}`;

const GOLDEN = path.resolve(__dirname, '../../../libs/v2-fhir/test-data');

interface Feed {
  readonly institutionId: string;
  readonly facility: string;
  readonly system: string;
}

/** A synthetic ADT^A01 of `feed` with a unique MSH-10 and MRN (the golden A01 re-addressed). */
function adtA01(feed: Feed, controlId: string, mrn: string, { withPv1 = true } = {}): string {
  let text = readFileSync(path.join(GOLDEN, 'ADT_A01.hl7'), 'utf8')
    .replace(/\r?\n/g, '\r')
    .replace(/\r+$/, '')
    .replaceAll('HOSPA', feed.facility)
    .replace('MSG-A01-0001', controlId)
    .replace('MRN-100231', mrn);
  if (!withPv1)
    text = text
      .split('\r')
      .filter((s) => !s.startsWith('PV1') && !s.startsWith('PV2'))
      .join('\r');
  return text;
}

let app: INestApplication;
let issuer: TestIssuer;
/** A regional operator holding every role: the default caller of these tests. */
let opsToken: string;

const ALL_ROLES = ['platform.admin', 'ledger.read', 'ledger.replay'];

function operatorToken(clientId: string, roles = ALL_ROLES, institutionId?: string): Promise<string> {
  return issuer.mint({ kind: 'operator', clientId, roles, ...(institutionId === undefined ? {} : { institutionId }) });
}

function institutionToken(institutionId: string, scopes = ['system/Bundle.write']): Promise<string> {
  return issuer.mint({ kind: 'institution', clientId: `${institutionId}-client`, institutionId, scopes });
}
let baseUrl: string;
let mllpPort: number;
let dataSource: DataSource;
let kafka: Kafka;
const watchers = new Map<string, TopicWatcher>();

function parsed(record: CollectedRecord): Record<string, unknown> {
  return JSON.parse(record.value ?? 'null') as Record<string, unknown>;
}

async function http(
  method: string,
  url: string,
  init: { body?: unknown; headers?: Record<string, string>; token?: string | null } = {},
) {
  const token = init.token === undefined ? opsToken : init.token;
  const response = await fetch(`${baseUrl}${url}`, {
    method,
    headers: {
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(token === null ? {} : { authorization: `Bearer ${token}` }),
      ...init.headers,
    },
    ...(init.body === undefined
      ? {}
      : { body: typeof init.body === 'string' ? init.body : JSON.stringify(init.body) }),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return {
    status: response.status,
    headers: response.headers,
    text,
    json: (json ?? {}) as Record<string, unknown>,
  };
}

function sql<T>(text: string, params: unknown[] = []): Promise<T[]> {
  return dataSource.query<T[]>(text, params);
}

async function ledgerRow(id: string): Promise<Record<string, unknown>> {
  const rows = await sql<Record<string, unknown>>('SELECT * FROM ledger_messages WHERE id = $1', [id]);
  return rows[0] ?? {};
}

async function ledgerIdOf(controlId: string): Promise<string> {
  const rows = await sql<{ id: string }>('SELECT id FROM ledger_messages WHERE control_id = $1', [controlId]);
  if (rows[0] === undefined) throw new Error(`no ledger row for ${controlId}`);
  return rows[0].id;
}

/** Registers a fresh institution through the admin API. */
async function newFeed(): Promise<Feed> {
  const tag = uniqueTestId('f');
  const feed = {
    institutionId: `it-${tag}`,
    facility: tag.toUpperCase(),
    system: `urn:oid:2.16.840.1.113883.3.7777.${Date.now()}`,
  };
  const created = await http('POST', '/admin/institutions', {
    body: {
      id: feed.institutionId,
      name: 'Synthetic integration hospital',
      sendingFacilities: [feed.facility],
      assigningAuthorities: [{ namespace: feed.facility, system: feed.system, default: true }],
      feed: { ackMode: 'original', defaultCharset: 'UNICODE UTF-8' },
    },
  });
  expect(created.status).toBe(201);
  return feed;
}

beforeAll(async () => {
  issuer = await startTestIssuer();
  opsToken = await operatorToken('ops-test');
  process.env['AUTH_ISSUER'] = issuer.env.AUTH_ISSUER;
  process.env['AUTH_JWKS_URL'] = issuer.env.AUTH_JWKS_URL;
  process.env['DB_NAME'] = DATABASE;
  process.env['HTTP_PORT'] = String(await freePort());
  mllpPort = await freePort();
  process.env['MLLP_PORT'] = String(mllpPort);
  process.env['INSTITUTIONS_SEED_FILE'] = '';
  process.env['LOG_LEVEL'] = process.env['LOG_LEVEL'] ?? 'warn';
  kafka = testKafka(`gateway-adapter-${RUN}`);
  await withAdmin(kafka, (admin) =>
    admin.createTopics({
      topics: [retryTopic(Topics.inboundHl7v2, GROUP), deadLetterTopic(Topics.inboundHl7v2, GROUP)].map(
        (topic) => ({ topic, numPartitions: 1 }),
      ),
    }),
  );
  // Imported after the environment is set: settings are read once per process.
  const { AppModule, serviceOptions } = await import('./app.module');
  const { MAPPER_CONSUMER_OPTIONS, MapperConsumer } = await import('./mapping/mapper.consumer');
  await migrateService(serviceOptions, loadPlatformSettings(serviceOptions));
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] })
    .overrideProvider(MAPPER_CONSUMER_OPTIONS)
    .useValue({ groupId: GROUP, fromBeginning: false })
    .compile();
  app = moduleRef.createNestApplication({ logger: ['error', 'warn'] });
  await app.listen(Number(process.env['HTTP_PORT']), '127.0.0.1');
  baseUrl = `http://127.0.0.1:${process.env['HTTP_PORT']}`;
  dataSource = app.get(DataSource);
  const runner = app.get(MapperConsumer).runner;
  if (runner === undefined) throw new Error('the mapper role is off (GATEWAY_ROLES)');
  await waitFor(
    'the mapper group to join',
    async () => runner.health().connected,
    (c) => c,
    { timeoutMs: 60_000 },
  );
  for (const topic of [Topics.patient, Topics.encounter, Topics.audit, Topics.document, Topics.observation]) {
    watchers.set(topic, await TopicWatcher.open(kafka, topic));
  }
});

afterAll(async () => {
  for (const watcher of watchers.values()) await watcher.close();
  await app?.close();
  await issuer?.close();
  await withAdmin(kafka, (admin) =>
    admin.deleteTopics({
      topics: [retryTopic(Topics.inboundHl7v2, GROUP), deadLetterTopic(Topics.inboundHl7v2, GROUP)],
    }),
  ).catch(() => undefined);
  await dropTestDatabase(
    loadPlatformSettings((await import('./app.module')).serviceOptions).postgres,
    DATABASE,
  );
});

function watcher(topic: string): TopicWatcher {
  const found = watchers.get(topic);
  if (found === undefined) throw new Error(`no watcher on ${topic}`);
  return found;
}

describe('mapper', () => {
  it('maps an ADT^A01 sent over MLLP: ledger `mapped`, PatientUpserted and EncounterUpserted keyed institution|MRN', async () => {
    const feed = await newFeed();
    const controlId = uniqueTestId('A01');
    const mrn = uniqueTestId('MRN');
    const [ack] = await mllpExchange(mllpPort, [adtA01(feed, controlId, mrn)]);
    expect(msaOf(ack).code).toBe('AA');
    const id = await ledgerIdOf(controlId);
    const row = await waitFor(
      'the message to be mapped',
      () => ledgerRow(id),
      (r) => r['state'] === 'mapped',
    );
    expect(row['mapper_version']).toMatch(/^\d+\.\d+\.\d+$/);
    expect(row['mapped_at']).not.toBeNull();

    const key = `${feed.institutionId}|${mrn}`;
    const [patient] = await watcher(Topics.patient).waitFor((r) => r.key === key);
    expect(patient.headers['ce_type']).toBe('org.tessera.patient.upserted');
    expect(parsed(patient)).toMatchObject({
      institutionId: feed.institutionId,
      localPatientId: mrn,
      patientSystem: feed.system,
      sourceMessageId: id,
      channel: 'hl7v2',
      patient: { resourceType: 'Patient' },
    });
    const [encounter] = await watcher(Topics.encounter).waitFor((r) => r.key === key);
    expect(parsed(encounter)).toMatchObject({
      sourceMessageId: id,
      encounter: { resourceType: 'Encounter', status: 'in-progress' },
    });
  });

  it('answers AE with the mapper\'s location for content it cannot map, keeps it `rejected` and publishes nothing', async () => {
    const feed = await newFeed();
    const controlId = uniqueTestId('NOPV1');
    const mrn = uniqueTestId('MRN');
    const [ack] = await mllpExchange(mllpPort, [adtA01(feed, controlId, mrn, { withPv1: false })]);
    const { code, text } = msaOf(ack);
    expect(code).toBe('AE');
    expect(text).toContain('101^Required field missing^HL70357');
    // ERR-8 is escaped HL7 text: "^" travels as \S\ (v2.5 §2.7.1).
    expect(text).toContain('The PV1 segment is required in ADT\\S\\A01');
    expect(text).not.toContain('Xiaoming');
    const id = await ledgerIdOf(controlId);
    const row = await ledgerRow(id);
    expect(row['state']).toBe('rejected');
    expect(row['published_at']).toBeNull();
    const outbox = await sql<{ n: number }>(
      `SELECT count(*)::int AS n FROM messaging_outbox WHERE "key" = $1`,
      [`${feed.institutionId}|${mrn}`],
    );
    expect(outbox[0].n).toBe(0);
  });
});

describe('ledger operator API', () => {
  let feed: Feed;
  let controlId: string;
  let mrn: string;
  let id: string;

  beforeAll(async () => {
    feed = await newFeed();
    controlId = uniqueTestId('OPS');
    mrn = uniqueTestId('MRN');
    await mllpExchange(mllpPort, [adtA01(feed, controlId, mrn)]);
    id = await ledgerIdOf(controlId);
    await waitFor(
      'the message to be mapped',
      () => ledgerRow(id),
      (r) => r['state'] === 'mapped',
    );
  });

  it('finds a message by control id, without content, and pages newest first', async () => {
    const found = await http('GET', `/ledger/messages?controlId=${controlId}`);
    expect(found.status).toBe(200);
    const items = found.json['items'] as Array<Record<string, unknown>>;
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({
      id,
      controlId,
      institutionId: feed.institutionId,
      sendingFacility: feed.facility,
      messageType: 'ADT^A01',
      state: 'mapped',
      ackCode: 'AA',
      replays: 0,
    });
    expect(JSON.stringify(items[0])).not.toContain(mrn);

    const second = uniqueTestId('OPS2');
    await mllpExchange(mllpPort, [adtA01(feed, second, mrn)]);
    const page1 = await http('GET', `/ledger/messages?institution=${feed.institutionId}&limit=1`);
    expect((page1.json['items'] as Array<{ controlId: string }>)[0].controlId).toBe(second);
    const page2 = await http(
      'GET',
      `/ledger/messages?institution=${feed.institutionId}&limit=1&cursor=${String(page1.json['next'])}`,
    );
    expect((page2.json['items'] as Array<{ controlId: string }>)[0].controlId).toBe(controlId);
  });

  it('answers bad parameters with 400 naming each parameter', async () => {
    const bad = await http('GET', '/ledger/messages?limit=0&state=lost&from=yesterday&colour=red');
    expect(bad.status).toBe(400);
    expect(bad.json['resourceType']).toBe('OperationOutcome');
    const expressions = (bad.json['issue'] as Array<{ expression: string[] }>)
      .map((i) => i.expression[0])
      .sort();
    expect(expressions).toEqual(['colour', 'from', 'limit', 'state']);
  });

  it('shows raw content only to an authenticated operator with ledger.read, and audits it', async () => {
    const anonymous = await http('GET', `/ledger/messages/${id}/raw`, { token: null });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toContain('Bearer');
    expect(anonymous.json['resourceType']).toBe('OperationOutcome');
    const roleless = await http('GET', `/ledger/messages/${id}/raw`, {
      token: await operatorToken('op-no-roles', ['mpi.review']),
    });
    expect(roleless.status).toBe(403);
    // Both refusals are audited as security alerts (endpoint and reason, no token, no content).
    const alerts = await watcher(Topics.audit).waitFor(
      (r) =>
        parsed(r)['type'] === 'security-alert' &&
        (parsed(r)['entities'] as Array<{ reference?: string }>)[0]?.reference === `/ledger/messages/${id}/raw`,
      2,
    );
    expect(alerts.map((r) => parsed(r)['outcome']).sort()).toEqual(['4', '8']);
    expect(alerts.map((r) => (parsed(r)['agent'] as { clientId: string | null }).clientId)).toContain('op-no-roles');
    const wrongAudience = await http('GET', `/ledger/messages/${id}/raw`, {
      token: await issuer.mint({ kind: 'operator', clientId: 'op-aud', roles: ALL_ROLES, audience: 'tessera:internal' }),
    });
    expect(wrongAudience.status).toBe(401);
    const operator = uniqueTestId('op');
    const raw = await http('GET', `/ledger/messages/${id}/raw`, { token: await operatorToken(operator) });
    expect(raw.status).toBe(200);
    expect(raw.text).toContain(mrn);
    expect(raw.text.startsWith('MSH|')).toBe(true);
    const [audit] = await watcher(Topics.audit).waitFor(
      (r) =>
        (parsed(r)['entities'] as Array<{ reference?: string }>)[0]?.reference === `ledger-message/${id}` &&
        (parsed(r)['agent'] as { clientId: string }).clientId === operator,
    );
    expect(parsed(audit)).toMatchObject({
      type: 'operator',
      action: 'R',
      outcome: '0',
      observer: 'interop-gateway',
      agent: { clientId: operator, institutionId: null },
    });
    const detail = await http('GET', `/ledger/messages/${id}`);
    expect(detail.json['rawAccesses']).toEqual([expect.objectContaining({ operator })]);
  });

  it('replays one message: canonical events again (new event ids, same resource ids) and a replay record', async () => {
    const key = `${feed.institutionId}|${mrn}`;
    const before = await watcher(Topics.patient).waitFor(
      (r) => r.key === key && parsed(r)['sourceMessageId'] === id,
    );
    const replay = await http('POST', `/ledger/messages/${id}/replay`, { token: await operatorToken('op-replay') });
    expect(replay.status).toBe(200);
    expect(replay.json).toMatchObject({ id, outcome: 'mapped', events: 2 });
    const after = await watcher(Topics.patient).waitFor(
      (r) => r.key === key && parsed(r)['sourceMessageId'] === id,
      before.length + 1,
    );
    const [first, again] = [after[0], after[after.length - 1]];
    expect(again.headers['ce_id']).not.toBe(first.headers['ce_id']);
    expect((parsed(again)['patient'] as { id: string }).id).toBe(
      (parsed(first)['patient'] as { id: string }).id,
    );
    const detail = await http('GET', `/ledger/messages/${id}`);
    expect(detail.json['replays']).toEqual([
      expect.objectContaining({ by: 'op-replay', outcome: 'mapped', mapperVersion: expect.any(String) }),
    ]);
    expect((await http('POST', `/ledger/messages/${id}/replay`, { token: null })).status).toBe(401);
    const readOnly = await operatorToken('op-read', ['ledger.read']);
    expect((await http('POST', `/ledger/messages/${id}/replay`, { token: readOnly })).status).toBe(403);
  });

  it('runs a filtered replay as a background job that reports progress to done', async () => {
    const job = await http('POST', '/ledger/replays', {
      body: { institution: feed.institutionId, type: 'ADT' },
      token: await operatorToken('op-job'),
    });
    expect(job.status).toBe(202);
    expect(job.json).toMatchObject({ status: expect.stringMatching(/queued|running/), total: 2 });
    const jobId = String(job.json['id']);
    const done = await waitFor(
      'the replay job to finish',
      async () => (await http('GET', `/ledger/replays/${jobId}`)).json,
      (j) => j['status'] === 'done',
    );
    expect(done).toMatchObject({ total: 2, done: 2, failed: 0 });
    expect(
      (
        await http('POST', '/ledger/replays', {
          body: { state: 'rejected' },
        })
      ).status,
    ).toBe(400);
  });

  it("shows an institution's interface analyst only that institution's messages", async () => {
    const other = await newFeed();
    const analyst = await operatorToken('analyst-test', ['ledger.read'], other.institutionId);
    const own = uniqueTestId('OWN');
    await mllpExchange(mllpPort, [adtA01(other, own, uniqueTestId('MRN'))]);
    const listed = await http('GET', '/ledger/messages?limit=50', { token: analyst });
    expect(listed.status).toBe(200);
    const items = listed.json['items'] as Array<{ institutionId: string; controlId: string }>;
    expect(items.map((i) => i.controlId)).toContain(own);
    expect(new Set(items.map((i) => i.institutionId))).toEqual(new Set([other.institutionId]));
    expect((await http('GET', `/ledger/messages?institution=${feed.institutionId}`, { token: analyst })).status).toBe(403);
    expect((await http('GET', `/ledger/messages/${id}`, { token: analyst })).status).toBe(404);
    expect((await http('GET', `/ledger/messages/${id}/raw`, { token: analyst })).status).toBe(404);
    expect((await http('POST', '/ledger/prune', { token: analyst })).status).toBe(403);
  });

  it('prunes on demand and reports counts', async () => {
    const pruned = await http('POST', '/ledger/prune');
    expect(pruned.status).toBe(200);
    expect(pruned.json).toMatchObject({ ran: true, retentionDays: 90, ledgerMessages: 0 });
    expect((await ledgerRow(id))['state']).toBe('mapped');
  });
});

describe('FHIR ingest', () => {
  function transaction(feed: Feed, mrn: string, extra: Record<string, unknown> = {}) {
    return {
      resourceType: 'Bundle',
      type: 'transaction',
      identifier: { system: 'urn:ietf:rfc:3986', value: `urn:uuid:${crypto.randomUUID()}` },
      entry: [
        {
          fullUrl: 'urn:uuid:11111111-1111-4111-8111-111111111111',
          resource: {
            resourceType: 'Patient',
            identifier: [{ system: feed.system, value: mrn }],
            name: [{ family: 'Synthetic', given: ['Test'] }],
          },
          request: { method: 'POST', url: 'Patient' },
        },
        {
          fullUrl: 'urn:uuid:22222222-2222-4222-8222-222222222222',
          resource: {
            resourceType: 'Encounter',
            status: 'finished',
            class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
            subject: { reference: 'urn:uuid:11111111-1111-4111-8111-111111111111' },
            ...extra,
          },
          request: { method: 'POST', url: 'Encounter' },
        },
      ],
    };
  }

  it('accepts a valid transaction Bundle: transaction-response with 201 per entry and PatientUpserted', async () => {
    const feed = await newFeed();
    const mrn = uniqueTestId('FMRN');
    const body = JSON.stringify(transaction(feed, mrn));
    const headers = { 'content-type': 'application/fhir+json' };
    const token = await institutionToken(feed.institutionId);
    const response = await http('POST', '/fhir', { body, headers, token });
    expect(response.status).toBe(200);
    expect(response.json).toMatchObject({ resourceType: 'Bundle', type: 'transaction-response' });
    const entries = response.json['entry'] as Array<{ response: { status: string; location: string } }>;
    expect(entries.map((e) => e.response.status)).toEqual(['201 Created', '201 Created']);
    expect(entries[0].response.location).toMatch(/^Patient\/[0-9a-f]{64}$/);
    const key = `${feed.institutionId}|${mrn}`;
    const [patient] = await watcher(Topics.patient).waitFor((r) => r.key === key);
    expect(parsed(patient)).toMatchObject({
      channel: 'fhir',
      patientSystem: feed.system,
      localPatientId: mrn,
      patient: { id: entries[0].response.location.split('/')[1] },
    });
    const [encounter] = await watcher(Topics.encounter).waitFor((r) => r.key === key);
    expect((parsed(encounter)['encounter'] as { subject: { reference: string } }).subject.reference).toBe(
      entries[0].response.location,
    );

    const again = await http('POST', '/fhir/Bundle', { body, headers, token });
    expect(again.status).toBe(200);
    expect((again.json['entry'] as Array<{ response: { status: string } }>)[0].response.status).toBe(
      '200 OK',
    );
    expect(again.headers.get('x-tessera-ledger-id')).toBe(response.headers.get('x-tessera-ledger-id'));
  });

  it('rejects an invalid Bundle with 400 naming the FHIR path, and stores nothing', async () => {
    const feed = await newFeed();
    const mrn = uniqueTestId('FBAD');
    const bundle = transaction(feed, mrn, { status: 'walking' });
    const response = await http('POST', '/fhir', { body: bundle, token: await institutionToken(feed.institutionId) });
    expect(response.status).toBe(400);
    const issues = response.json['issue'] as Array<{ expression: string[]; diagnostics: string }>;
    expect(issues.map((i) => i.expression[0])).toEqual(['Bundle.entry[1].resource.status']);
    expect(JSON.stringify(issues)).not.toContain('walking');
    const stored = await sql<{ n: number }>(
      `SELECT count(*)::int AS n FROM ledger_messages WHERE institution_id = $1`,
      [feed.institutionId],
    );
    expect(stored[0].n).toBe(0);
    expect(
      (
        await http('POST', '/fhir', { body: bundle, token: await institutionToken('no-such-institution') })
      ).status,
    ).toBe(403);
    // A token without a write scope, and an operator token, are refused too.
    const readOnly = await institutionToken(feed.institutionId, ['system/Patient.read']);
    expect((await http('POST', '/fhir', { body: bundle, token: readOnly })).status).toBe(403);
    expect((await http('POST', '/fhir', { body: bundle })).status).toBe(403);
  });

  it('answers 413 with an OperationOutcome for a Bundle over 10 MB', async () => {
    const feed = await newFeed();
    const response = await http('POST', '/fhir', {
      body: `{"resourceType":"Bundle","padding":"${'x'.repeat(10 * 1024 * 1024)}"}`,
      headers: { 'content-type': 'application/fhir+json' },
      token: await institutionToken(feed.institutionId),
    });
    expect(response.status).toBe(413);
    expect(response.json['resourceType']).toBe('OperationOutcome');
  });
});

describe('institutions admin API', () => {
  it('updates with If-Match and refuses a stale or missing one', async () => {
    const feed = await newFeed();
    const read = await http('GET', `/admin/institutions/${feed.institutionId}`);
    expect(read.status).toBe(200);
    expect(read.headers.get('etag')).toBe('W/"1"');
    const changed = { ...read.json, name: 'Renamed synthetic hospital' };
    expect((await http('PUT', `/admin/institutions/${feed.institutionId}`, { body: changed })).status).toBe(
      428,
    );
    const updated = await http('PUT', `/admin/institutions/${feed.institutionId}`, {
      body: changed,
      headers: { 'If-Match': 'W/"1"' },
    });
    expect(updated.status).toBe(200);
    expect(updated.headers.get('etag')).toBe('W/"2"');
    const stale = await http('PUT', `/admin/institutions/${feed.institutionId}`, {
      body: changed,
      headers: { 'If-Match': 'W/"1"' },
    });
    expect(stale.status).toBe(412);
    expect(stale.json['resourceType']).toBe('OperationOutcome');
    const invalid = await http('POST', '/admin/institutions', {
      body: { ...changed, id: 'Bad Id', assigningAuthorities: [] },
    });
    expect(invalid.status).toBe(400);
    expect(
      (invalid.json['issue'] as Array<{ expression: string[] }>).map((i) => i.expression[0]).sort(),
    ).toEqual(['assigningAuthorities', 'id']);
  });
});
