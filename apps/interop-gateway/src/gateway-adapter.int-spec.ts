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
  mllpExchange,
  msaOf,
  testKafka,
  TopicWatcher,
  uniqueTestId,
  waitFor,
  withAdmin,
} from '@tessera/testing';
import type { CollectedRecord } from '@tessera/testing';

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
  if (!withPv1) text = text.split('\r').filter((s) => !s.startsWith('PV1') && !s.startsWith('PV2')).join('\r');
  return text;
}

let app: INestApplication;
let baseUrl: string;
let mllpPort: number;
let dataSource: DataSource;
let kafka: Kafka;
const watchers = new Map<string, TopicWatcher>();

function parsed(record: CollectedRecord): Record<string, unknown> {
  return JSON.parse(record.value ?? 'null') as Record<string, unknown>;
}

async function http(method: string, url: string, init: { body?: unknown; headers?: Record<string, string> } = {}) {
  const response = await fetch(`${baseUrl}${url}`, {
    method,
    headers: { ...(init.body === undefined ? {} : { 'content-type': 'application/json' }), ...init.headers },
    ...(init.body === undefined ? {} : { body: typeof init.body === 'string' ? init.body : JSON.stringify(init.body) }),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json: (json ?? {}) as Record<string, unknown> };
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
  const feed = { institutionId: `it-${tag}`, facility: tag.toUpperCase(), system: `urn:oid:2.16.840.1.113883.3.7777.${Date.now()}` };
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
  process.env['DB_NAME'] = DATABASE;
  process.env['HTTP_PORT'] = String(await freePort());
  mllpPort = await freePort();
  process.env['MLLP_PORT'] = String(mllpPort);
  process.env['INSTITUTIONS_SEED_FILE'] = '';
  process.env['LOG_LEVEL'] = process.env['LOG_LEVEL'] ?? 'warn';
  kafka = testKafka(`gateway-adapter-${RUN}`);
  await withAdmin(kafka, (admin) =>
    admin.createTopics({
      topics: [retryTopic(Topics.inboundHl7v2, GROUP), deadLetterTopic(Topics.inboundHl7v2, GROUP)].map((topic) => ({ topic, numPartitions: 1 })),
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
  await waitFor('the mapper group to join', async () => runner.health().connected, (c) => c, { timeoutMs: 60_000 });
  for (const topic of [Topics.patient, Topics.encounter, Topics.audit, Topics.document, Topics.observation]) {
    watchers.set(topic, await TopicWatcher.open(kafka, topic));
  }
});

afterAll(async () => {
  for (const watcher of watchers.values()) await watcher.close();
  await app?.close();
  await withAdmin(kafka, (admin) =>
    admin.deleteTopics({ topics: [retryTopic(Topics.inboundHl7v2, GROUP), deadLetterTopic(Topics.inboundHl7v2, GROUP)] }),
  ).catch(() => undefined);
  await dropTestDatabase(loadPlatformSettings((await import('./app.module')).serviceOptions).postgres, DATABASE);
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
    const row = await waitFor('the message to be mapped', () => ledgerRow(id), (r) => r['state'] === 'mapped');
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
    expect(parsed(encounter)).toMatchObject({ sourceMessageId: id, encounter: { resourceType: 'Encounter', status: 'in-progress' } });
  });

  it('records a deterministic mapping failure as `failed` with a readable detail and publishes nothing', async () => {
    const feed = await newFeed();
    const controlId = uniqueTestId('NOPV1');
    const mrn = uniqueTestId('MRN');
    const [ack] = await mllpExchange(mllpPort, [adtA01(feed, controlId, mrn, { withPv1: false })]);
    expect(msaOf(ack).code).toBe('AA');
    const id = await ledgerIdOf(controlId);
    const row = await waitFor('the mapping to fail', () => ledgerRow(id), (r) => r['state'] === 'failed');
    expect(row['state_detail']).toContain('101 at PV1');
    expect(row['state_detail']).not.toContain('Xiaoming');
    const outbox = await sql<{ n: number }>(`SELECT count(*)::int AS n FROM messaging_outbox WHERE "key" = $1`, [
      `${feed.institutionId}|${mrn}`,
    ]);
    expect(outbox[0].n).toBe(0);
  });
});
