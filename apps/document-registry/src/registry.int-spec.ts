// The registry end to end, in-process against real Postgres and Kafka: canonical events and MPI
// link events published to hie.encounter / hie.document / hie.observation / hie.mpi.link, indexed by
// the registry's consumer group, answered by its FHIR searches. The MPI is not running: the test
// publishes the link decisions itself. A second, fresh database rebuilt by a fresh consumer group
// from the same records proves replay.
import { createHash } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type {
  Bundle,
  DiagnosticReport,
  DocumentReference,
  Encounter,
  Extension,
  Observation,
  Resource,
} from '@medplum/fhirtypes';
import type { Kafka } from 'kafkajs';
import { DataSource } from 'typeorm';
import {
  deadLetterTopic,
  DocumentPublished,
  EncounterUpserted,
  MpiLinkChanged,
  ObservationReported,
  retryTopic,
  Topics,
} from '@tessera/contracts';
import { ConsumerRunner, EventProducer } from '@tessera/platform-kafka';
import { createDataSource } from '@tessera/platform-persistence';
import { loadPlatformSettings, migrateService } from '@tessera/platform-service';
import type { PlatformSettings } from '@tessera/platform-service';
import {
  dropTestDatabase,
  freePort,
  quietLogger,
  testKafka,
  uniqueTestId,
  waitFor,
  withAdmin,
} from '@tessera/testing';

const RUN = uniqueTestId('r');
const DATABASE = `tessera_registry_test_${RUN}`;
const REPLAY_DATABASE = `tessera_registry_test_${RUN}_replay`;
const GROUP = `document-registry.test-${RUN}`;
const REPLAY_GROUP = `document-registry.replay-${RUN}`;
const TOPICS = [Topics.encounter, Topics.document, Topics.observation, Topics.mpiLink];
const SOURCE = '/tessera/registry-int-spec';

// Two synthetic hospitals and one person known at both.
const A = { institutionId: `hosp-a-${RUN}`, system: `urn:oid:2.999.${Date.now()}.1`, mrn: `MRN-A-${RUN}` };
const B = { institutionId: `hosp-b-${RUN}`, system: `urn:oid:2.999.${Date.now()}.2`, mrn: `MRN-B-${RUN}` };
const E1 = `E1-${RUN}`;
const E2 = `E2-${RUN}`;
const byB = `patient=${encodeURIComponent(`${B.system}|${B.mrn}`)}`;

let app: INestApplication;
let baseUrl: string;
let kafka: Kafka;
let producer: EventProducer;
let settings: PlatformSettings;
/** End offsets of the registry's topics before the test published anything (replay starts there). */
const startOffsets = new Map<string, { partition: number; offset: string }[]>();

function id(kind: string, n: number): string {
  return createHash('sha256').update(`${RUN}:${kind}:${n}`).digest('hex');
}

function provenance(h: typeof A, messageId: string) {
  return {
    institutionId: h.institutionId,
    patientSystem: h.system,
    localPatientId: h.mrn,
    sourceMessageId: messageId,
    mapperVersion: '1.0.0',
    channel: 'hl7v2' as const,
  };
}

function encounter(n: number, status: Encounter['status']): Encounter {
  return {
    resourceType: 'Encounter',
    id: id('enc', n),
    status,
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP' },
    type: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0007', code: 'E' }] }],
    period: { start: '2024-05-01T08:00:00+08:00' },
  };
}

function documentOf(
  n: number,
  text: string,
  extra: Partial<DocumentReference> = {},
): {
  document: DocumentReference;
  content: { contentType: string; sha256: string; size: number; base64: string };
} {
  const bytes = Buffer.from(text, 'utf8');
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  return {
    document: {
      resourceType: 'DocumentReference',
      id: id('doc', n),
      status: 'current',
      type: { coding: [{ system: 'http://loinc.org', code: '11488-4', display: 'Consult note' }] },
      date: `2024-05-0${n}T16:00:00+08:00`,
      securityLabel: [
        { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' }] },
      ],
      content: [{ attachment: { contentType: 'text/plain; charset=utf-8', size: bytes.length } }],
      context: { encounter: [{ reference: `Encounter/${id('enc', 1)}` }] },
      ...extra,
    },
    content: {
      contentType: 'text/plain; charset=utf-8',
      sha256,
      size: bytes.length,
      base64: bytes.toString('base64'),
    },
  };
}

async function publishLink(
  h: typeof A,
  enterpriseId: string | null,
  decidedAt: string,
  origin: 'AUTO' | 'MANUAL' = 'AUTO',
): Promise<string> {
  const attributes = await producer.publish(MpiLinkChanged, {
    key: `${h.system}|${h.mrn}`,
    source: SOURCE,
    data: {
      patientSystem: h.system,
      localPatientId: h.mrn,
      enterpriseId,
      previousEnterpriseId: null,
      state: 'MATCH',
      origin,
      score: origin === 'AUTO' ? 24.5 : null,
      ruleSetVersion: 'test',
      decidedAt,
      reason: 'synthetic link decision',
    },
  });
  return attributes.id;
}

/** Waits until the registry's group has applied these events (their ids are in its inbox). */
async function applied(eventIds: readonly string[]): Promise<void> {
  const live = app.get(DataSource);
  await waitFor(
    'the events to be applied',
    async () =>
      (
        await live.query<{ n: string }[]>(
          'SELECT count(*) AS n FROM messaging_inbox WHERE consumer_group = $1 AND event_id = ANY ($2)',
          [GROUP, eventIds],
        )
      )[0]?.n,
    (n) => Number(n) === eventIds.length,
    { timeoutMs: 30_000, intervalMs: 200 },
  );
}

async function get(path: string) {
  const response = await fetch(`${baseUrl}${path}`);
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    text,
    body: JSON.parse(text) as Record<string, unknown>,
  };
}

async function search(path: string): Promise<Bundle> {
  const response = await get(path);
  if (response.status !== 200) throw new Error(`GET ${path} answered ${response.status}: ${response.text}`);
  return response.body as unknown as Bundle;
}

function ids(bundle: Bundle): string[] {
  return (bundle.entry ?? []).map((e) => `${e.resource?.resourceType ?? ''}/${e.resource?.id ?? ''}`).sort();
}

function registryExtension(resource: Resource | undefined, url: string): Extension[] {
  const ext = (resource as { extension?: Extension[] } | undefined)?.extension ?? [];
  const registry = ext.find(
    (e) => e.url === 'https://tessera.example/fhir/StructureDefinition/registry-source',
  );
  return (registry?.extension ?? []).filter((e) => e.url === url);
}

async function waitForIds(path: string, expected: readonly string[]): Promise<Bundle> {
  const sorted = [...expected].sort();
  return waitFor(
    `${path} to return ${sorted.join(',')}`,
    () => search(path),
    (b) => JSON.stringify(ids(b)) === JSON.stringify(sorted),
    {
      timeoutMs: 30_000,
      intervalMs: 200,
    },
  );
}

beforeAll(async () => {
  process.env['DB_NAME'] = DATABASE;
  process.env['HTTP_PORT'] = String(await freePort());
  process.env['LOG_LEVEL'] = process.env['LOG_LEVEL'] ?? 'warn';
  kafka = testKafka(`registry-int-${RUN}`);
  await withAdmin(kafka, async (admin) => {
    await admin.createTopics({
      topics: [GROUP, REPLAY_GROUP].flatMap((group) =>
        TOPICS.flatMap((topic) => [retryTopic(topic, group), deadLetterTopic(topic, group)]).map((topic) => ({
          topic,
          numPartitions: 1,
        })),
      ),
    });
    // The test's group and the replay group start exactly where the test begins publishing:
    // committed offsets, so there is no race between joining and resolving "latest".
    for (const topic of TOPICS) {
      const partitions = (await admin.fetchTopicOffsets(topic)).map((p) => ({
        partition: p.partition,
        offset: p.offset,
      }));
      startOffsets.set(topic, partitions);
      await admin.setOffsets({ groupId: GROUP, topic, partitions });
    }
  });
  const { AppModule, serviceOptions } = await import('./app.module');
  const { REGISTRY_CONSUMER_OPTIONS, RegistryConsumer } = await import('./indexing/registry.consumer');
  settings = loadPlatformSettings(serviceOptions);
  await migrateService(serviceOptions, settings);
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] })
    .overrideProvider(REGISTRY_CONSUMER_OPTIONS)
    .useValue({ groupId: GROUP })
    .compile();
  app = moduleRef.createNestApplication({ logger: ['error', 'warn'] });
  await app.listen(Number(process.env['HTTP_PORT']), '127.0.0.1');
  baseUrl = `http://127.0.0.1:${process.env['HTTP_PORT']}`;
  const runner = app.get(RegistryConsumer).runner;
  await waitFor(
    'the registry group to join',
    async () => runner.health().connected,
    (c) => c,
    { timeoutMs: 60_000 },
  );
  producer = new EventProducer(kafka, { logger: quietLogger });
  await producer.connect();
}, 120_000);

afterAll(async () => {
  await producer?.disconnect();
  await app?.close();
  await withAdmin(kafka, (admin) =>
    admin.deleteTopics({
      topics: [GROUP, REPLAY_GROUP].flatMap((group) =>
        TOPICS.flatMap((topic) => [retryTopic(topic, group), deadLetterTopic(topic, group)]),
      ),
    }),
  ).catch(() => undefined);
  await dropTestDatabase(settings.postgres, DATABASE);
  await dropTestDatabase(settings.postgres, REPLAY_DATABASE);
});

const doc1 = documentOf(1, `Synthetic consult note ${RUN}`);
const doc2 = documentOf(2, `Synthetic corrected note ${RUN}`, {
  relatesTo: [{ code: 'replaces', target: { reference: `DocumentReference/${id('doc', 1)}` } }],
});
// Hospital B received the same bytes as doc2 (e.g. a copy sent with a referral).
const doc3 = { ...documentOf(3, `Synthetic corrected note ${RUN}`), content: doc2.content };

describe('document registry', () => {
  it('joins hospital A records to a query by hospital B id, follows unmerge and re-link, converges out of order', async () => {
    // The document arrives BEFORE any link event (out-of-order delivery).
    await producer.publish(DocumentPublished, {
      key: `${A.institutionId}|${A.mrn}`,
      source: SOURCE,
      data: { ...provenance(A, `msg-${RUN}-1`), ...doc1 },
    });
    const byA = `patient=${encodeURIComponent(`${A.system}|${A.mrn}`)}`;
    // Not linked yet: A's own id finds it, B's does not.
    await waitForIds(`/DocumentReference?${byA}`, [`DocumentReference/${id('doc', 1)}`]);
    expect(ids(await search(`/DocumentReference?${byB}`))).toEqual([]);

    await publishLink(B, E1, '2024-06-01T00:00:00Z');
    await publishLink(A, E1, '2024-06-01T00:00:01Z');
    await producer.publish(EncounterUpserted, {
      key: `${A.institutionId}|${A.mrn}`,
      source: SOURCE,
      data: { ...provenance(A, `msg-${RUN}-2`), encounter: encounter(1, 'in-progress') },
    });
    const linked = await waitForIds(`/DocumentReference?${byB}`, [`DocumentReference/${id('doc', 1)}`]);
    const item = linked.entry?.[0]?.resource;
    expect(registryExtension(item, 'institution')[0]?.valueString).toBe(A.institutionId);
    expect(registryExtension(item, 'linkConfidence')[0]?.valueCode).toBe('auto');
    expect(item?.meta?.security).toEqual([
      { system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' },
    ]);
    expect(item?.meta?.source).toBe(`urn:tessera:institution:${A.institutionId}`);
    await waitForIds(`/Encounter?${byB}`, [`Encounter/${id('enc', 1)}`]);
    // The document carries its encounter's class once the encounter is indexed.
    const withClass = await search(`/DocumentReference?${byB}`);
    expect(registryExtension(withClass.entry?.[0]?.resource, 'encounterClass')[0]?.valueCode).toBe('IMP');

    // Unmerge: an operator moves A's record to another person.
    await publishLink(A, E2, '2024-06-02T00:00:00Z', 'MANUAL');
    await waitForIds(`/DocumentReference?${byB}`, []);
    expect(ids(await search(`/Encounter?${byB}`))).toEqual([]);
    const e2 = await search(`/Patient/${E2}/$timeline`);
    expect(ids(e2)).toEqual([`DocumentReference/${id('doc', 1)}`, `Encounter/${id('enc', 1)}`].sort());
    expect(registryExtension(e2.entry?.[0]?.resource, 'linkConfidence')[0]?.valueCode).toBe('manual');

    // A stale decision delivered late changes nothing: the newest decision per record wins.
    const late = [
      await publishLink(A, E1, '2024-06-01T12:00:00Z'),
      await publishLink(B, E1, '2024-06-01T00:00:00.500Z'), // newer than B's first: B stays under E1
    ];
    await applied(late);
    expect(ids(await search(`/DocumentReference?${byB}`))).toEqual([]);

    // Re-link: the same answer as before the unmerge, without rewriting any clinical row.
    await publishLink(A, E1, '2024-06-03T00:00:00Z', 'MANUAL');
    await waitForIds(`/DocumentReference?${byB}`, [`DocumentReference/${id('doc', 1)}`]);
    await waitForIds(`/Encounter?${byB}&class=IMP&date=ge2024-05-01`, [`Encounter/${id('enc', 1)}`]);
    expect(ids(await search(`/Encounter?${byB}&date=lt2024-05-01`))).toEqual([]);
    expect(ids(await search(`/Patient/${E2}/$timeline`))).toEqual([]);
  });

  it('indexes results, supersedes a replaced document, de-duplicates content across feeds, drops a cancelled encounter from current results', async () => {
    const report: DiagnosticReport = {
      resourceType: 'DiagnosticReport',
      id: id('dr', 1),
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '24323-8' }] },
      effectiveDateTime: '2024-05-02T08:00:00+08:00',
      result: [{ reference: `Observation/${id('obs', 1)}` }],
    };
    const observation: Observation = {
      resourceType: 'Observation',
      id: id('obs', 1),
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '2345-7' }] },
      effectiveDateTime: '2024-05-02T08:00:00+08:00',
      valueQuantity: { value: 7.8, unit: 'mmol/L' },
    };
    await producer.publish(ObservationReported, {
      key: `${A.institutionId}|${A.mrn}`,
      source: SOURCE,
      data: { ...provenance(A, `msg-${RUN}-3`), reports: [report], observations: [observation] },
    });
    await waitForIds(`/Observation?${byB}&code=http://loinc.org|2345-7`, [`Observation/${id('obs', 1)}`]);
    await waitForIds(`/DiagnosticReport?${byB}&code=24323-8`, [`DiagnosticReport/${id('dr', 1)}`]);
    expect(ids(await search(`/Observation?${byB}&code=9999-9`))).toEqual([]);

    // doc2 replaces doc1 (MDM T10); doc3 from hospital B carries the same bytes as doc2.
    await producer.publish(DocumentPublished, {
      key: `${A.institutionId}|${A.mrn}`,
      source: SOURCE,
      data: { ...provenance(A, `msg-${RUN}-4`), ...doc2 },
    });
    await producer.publish(DocumentPublished, {
      key: `${B.institutionId}|${B.mrn}`,
      source: SOURCE,
      data: { ...provenance(B, `msg-${RUN}-5`), ...doc3 },
    });
    // The same message delivered twice by hospital A (a resend): still one entry.
    await producer.publish(DocumentPublished, {
      key: `${A.institutionId}|${A.mrn}`,
      source: SOURCE,
      data: { ...provenance(A, `msg-${RUN}-4`), ...doc2 },
    });
    const current = await waitFor(
      'doc1 superseded and doc2/doc3 merged',
      () => search(`/DocumentReference?${byB}`),
      (b) => {
        const seen = registryExtension(b.entry?.[0]?.resource, 'seenVia');
        return b.total === 1 && seen.length === 2;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    expect(ids(current)).toEqual([`DocumentReference/${id('doc', 2)}`]);
    const seenVia = registryExtension(current.entry?.[0]?.resource, 'seenVia').map(
      (s) => (s.extension ?? []).find((e) => e.url === 'institution')?.valueString,
    );
    expect(seenVia.sort()).toEqual([A.institutionId, B.institutionId].sort());
    const superseded = await search(`/DocumentReference?${byB}&status=superseded`);
    expect(ids(superseded)).toEqual([`DocumentReference/${id('doc', 1)}`]);
    expect((superseded.entry?.[0]?.resource as DocumentReference).status).toBe('superseded');

    // ITI-68: bytes by content address and through the DocumentReference.
    const attachmentUrl = (current.entry?.[0]?.resource as DocumentReference).content[0]?.attachment.url;
    expect(attachmentUrl).toBe(`Binary/${doc2.content.sha256}`);
    const binary = await fetch(`${baseUrl}/${attachmentUrl ?? ''}`);
    expect(binary.status).toBe(200);
    expect(binary.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(binary.headers.get('etag')).toBe(`"${doc2.content.sha256}"`);
    expect(Buffer.from(await binary.arrayBuffer()).toString('base64')).toBe(doc2.content.base64);
    const viaDoc = await fetch(`${baseUrl}/DocumentReference/${id('doc', 1)}/$content`);
    expect(viaDoc.status).toBe(200);
    expect(
      createHash('sha256')
        .update(Buffer.from(await viaDoc.arrayBuffer()))
        .digest('hex'),
    ).toBe(doc1.content.sha256);
    expect((await get(`/Binary/${'0'.repeat(64)}`)).status).toBe(404);

    // A11: the encounter is cancelled; it leaves current results and stays in history.
    await producer.publish(EncounterUpserted, {
      key: `${A.institutionId}|${A.mrn}`,
      source: SOURCE,
      data: { ...provenance(A, `msg-${RUN}-6`), encounter: encounter(1, 'cancelled') },
    });
    await waitForIds(`/Encounter?${byB}`, []);
    expect(ids(await search(`/Encounter?${byB}&status=cancelled`))).toEqual([`Encounter/${id('enc', 1)}`]);

    // History keeps every version: the cancelled encounter and the superseded document.
    const statuses = (b: Bundle) => (b.entry ?? []).map((e) => (e.resource as { status?: string }).status);
    const encounterHistory = await search(`/Encounter/${id('enc', 1)}/_history`);
    expect(encounterHistory.type).toBe('history');
    expect(statuses(encounterHistory)).toEqual(['cancelled', 'in-progress']);
    expect(statuses(await search(`/DocumentReference/${id('doc', 1)}/_history`))).toEqual([
      'superseded',
      'current',
    ]);
    expect((await get(`/Observation/${id('nope', 1)}/_history`)).status).toBe(404);

    const timeline = await search(`/Patient/${E1}/$timeline`);
    expect(ids(timeline)).toEqual(
      [
        `DocumentReference/${id('doc', 2)}`,
        `DiagnosticReport/${id('dr', 1)}`,
        `Observation/${id('obs', 1)}`,
      ].sort(),
    );
    // Newest first: the document (May 3rd) before the results (May 2nd).
    expect(timeline.entry?.[0]?.resource?.resourceType).toBe('DocumentReference');
  });

  it('answers bad parameters with a 400 OperationOutcome naming the parameter', async () => {
    const bad = await get(`/DocumentReference?${byB}&date=yesterday`);
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toContain('application/fhir+json');
    expect(bad.body).toMatchObject({
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', expression: ['date'] }],
    });
    expect((await get('/Encounter?class=IMP')).body).toMatchObject({ issue: [{ expression: ['patient'] }] });
    expect((await get(`/Observation?${byB}&colour=red`)).body).toMatchObject({
      issue: [{ expression: ['colour'] }],
    });
    expect((await get('/Binary/not-a-digest')).status).toBe(400);
  });

  it('rebuilds the same index from a replay into a fresh database with a fresh consumer group', async () => {
    const replaySettings: PlatformSettings = {
      ...settings,
      service: { ...settings.service, DB_NAME: REPLAY_DATABASE },
    };
    const { serviceOptions } = await import('./app.module');
    await migrateService(serviceOptions, replaySettings);
    const replayDb = createDataSource({
      settings: settings.postgres,
      database: REPLAY_DATABASE,
      migrations: serviceOptions.migrations,
    });
    await replayDb.initialize();
    const { registerRegistryHandlers } = await import('./indexing/registry.consumer');
    const { IndexResourceHandler } = await import('./indexing/index-resource.handler');
    const { LinkChangedHandler } = await import('./links/link-changed.handler');
    const { PostgresDocumentContentStore } = await import('./content/postgres-document-content.store');
    // The fresh group starts where the test began publishing (not at the beginning of shared topics).
    await withAdmin(kafka, async (admin) => {
      for (const [topic, partitions] of startOffsets)
        await admin.setOffsets({ groupId: REPLAY_GROUP, topic, partitions });
    });
    const runner = registerRegistryHandlers(
      new ConsumerRunner({
        kafka,
        dataSource: replayDb,
        groupId: REPLAY_GROUP,
        producer,
        retry: { attempts: 2, backoffMs: 200 },
        logger: quietLogger,
        sessionTimeoutMs: 10_000,
      }),
      new IndexResourceHandler(new PostgresDocumentContentStore(replayDb)),
      new LinkChangedHandler(),
    );
    const live = app.get(DataSource);
    const snapshot = (ds: DataSource) =>
      Promise.all([
        ds.query(
          `SELECT id, status, is_current, institution_id, patient_system, local_patient_id, resource, version, superseded_by, content_sha256
           FROM documents WHERE patient_system = ANY ($1) ORDER BY id`,
          [[A.system, B.system]],
        ),
        ds.query(
          `SELECT id, status, is_current, resource, version FROM encounters WHERE patient_system = ANY ($1) ORDER BY id`,
          [[A.system, B.system]],
        ),
        ds.query(
          `SELECT id, resource_type, status, resource FROM results WHERE patient_system = ANY ($1) ORDER BY id`,
          [[A.system, B.system]],
        ),
        ds.query(
          `SELECT patient_system, local_patient_id, enterprise_id, state, origin, decided_at FROM patient_links
           WHERE patient_system = ANY ($1) ORDER BY patient_system`,
          [[A.system, B.system]],
        ),
        ds.query(
          `SELECT document_id, source_message_id, institution_id FROM seen_via WHERE document_id = ANY ($1) ORDER BY 1, 2`,
          [[1, 2, 3].map((n) => id('doc', n))],
        ),
      ]);
    const expected = await snapshot(live);
    expect(expected[0]).toHaveLength(3);
    expect(expected[3]).toHaveLength(2);
    try {
      await runner.start();
      await waitFor(
        'the replay to rebuild the index',
        () => snapshot(replayDb),
        (s) => JSON.stringify(s) === JSON.stringify(expected),
        {
          timeoutMs: 60_000,
          intervalMs: 300,
        },
      );
    } finally {
      await runner.stop();
      await replayDb.destroy();
    }
  });
});
