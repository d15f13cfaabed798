// The registry end to end, in-process against real Postgres and Kafka: canonical events and MPI
// link events published to hie.encounter / hie.document / hie.observation / hie.mpi.link, indexed by
// the registry's consumer group, answered by its FHIR searches. The MPI is not running: the test
// publishes the link decisions itself. A second, fresh database rebuilt by a fresh consumer group
// from the same records proves replay. Every call carries the exchange's service token (a test
// issuer stands in for the exchange) and, for searches, the exchange's decision (X-Tessera-Visibility).
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
import { readFileSync } from 'node:fs';
import { decidePatient, encodeVisibility, parseRegionPolicy } from '@tessera/consent-policy';
import type { LabelingRules, VisibilityHeader } from '@tessera/consent-policy';
import { parseHl7 } from '@tessera/hl7v2';
import { mapHl7Message } from '@tessera/v2-fhir';
import { Audiences } from '@tessera/platform-auth';
import { ConsumerRunner, EventProducer } from '@tessera/platform-kafka';
import { createDataSource } from '@tessera/platform-persistence';
import { loadPlatformSettings, migrateService } from '@tessera/platform-service';
import type { PlatformSettings } from '@tessera/platform-service';
import type { TestIssuer } from '@tessera/testing';
import {
  dropTestDatabase,
  freePort,
  quietLogger,
  startTestIssuer,
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
let issuer: TestIssuer;
/** The exchange's service token. */
let serviceToken: string;
/** An institution requesting through the exchange in the first tests: not A nor B, sees everything. */
const REQUESTER = `hosp-x-${RUN}`;
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
  state: 'MATCH' | 'POSSIBLE_MATCH' = 'MATCH',
): Promise<string> {
  const attributes = await producer.publish(MpiLinkChanged, {
    key: `${h.system}|${h.mrn}`,
    source: SOURCE,
    data: {
      patientSystem: h.system,
      localPatientId: h.mrn,
      enterpriseId,
      previousEnterpriseId: null,
      state,
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

interface CallOptions {
  /** The person the exchange decided for (null: a source record not linked to anyone). */
  readonly as?: string | null;
  readonly visibility?: Partial<VisibilityHeader> | string | null;
  /** Bearer token; null sends none. Default: the service token. */
  readonly token?: string | null;
}

/** The exchange's header: everything visible to REQUESTER unless overridden. */
function visibilityHeader(options: CallOptions): string | undefined {
  if (options.visibility === null) return undefined;
  if (typeof options.visibility === 'string') return options.visibility;
  return encodeVisibility({
    enterpriseId: options.as ?? null,
    ownInstitution: REQUESTER,
    others: 'all',
    deniedLabels: [],
    ...options.visibility,
  });
}

async function get(path: string, options: CallOptions = {}) {
  const headers: Record<string, string> = {};
  const token = options.token === undefined ? serviceToken : options.token;
  if (token !== null) headers['authorization'] = `Bearer ${token}`;
  const visibility = visibilityHeader(options);
  if (visibility !== undefined) headers['x-tessera-visibility'] = visibility;
  const response = await fetch(`${baseUrl}${path}`, { headers });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    text,
    body: (text === '' ? {} : JSON.parse(text)) as Record<string, unknown>,
  };
}

async function search(path: string, as: string | null, options: CallOptions = {}): Promise<Bundle> {
  const response = await get(path, { as, ...options });
  if (response.status !== 200) throw new Error(`GET ${path} answered ${response.status}: ${response.text}`);
  return response.body as unknown as Bundle;
}

/** Bytes of a content route (service token only: the exchange decided on the facts first). */
async function content(path: string, token: string | null = serviceToken): Promise<Response> {
  return fetch(`${baseUrl}${path}`, token === null ? {} : { headers: { authorization: `Bearer ${token}` } });
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

/**
 * Polls until the registry, resolving the patient to `as` (a 409 until its link projection agrees,
 * as the exchange would see it), returns exactly `expected`.
 */
async function waitForIds(path: string, expected: readonly string[], as: string | null): Promise<Bundle> {
  const sorted = [...expected].sort();
  const probe = async (): Promise<Bundle | null> => {
    const response = await get(path, { as });
    if (response.status === 409) return null;
    if (response.status !== 200) throw new Error(`GET ${path} answered ${response.status}: ${response.text}`);
    return response.body as unknown as Bundle;
  };
  const found = await waitFor(
    `${path} to return ${sorted.join(',')}`,
    probe,
    (b) => b !== null && JSON.stringify(ids(b)) === JSON.stringify(sorted),
    {
      timeoutMs: 30_000,
      intervalMs: 200,
    },
  );
  if (found === null) throw new Error('unreachable: waitFor returned a conflict');
  return found;
}

beforeAll(async () => {
  process.env['DB_NAME'] = DATABASE;
  process.env['HTTP_PORT'] = String(await freePort());
  process.env['LOG_LEVEL'] = process.env['LOG_LEVEL'] ?? 'warn';
  issuer = await startTestIssuer();
  process.env['AUTH_ISSUER'] = issuer.env.AUTH_ISSUER;
  process.env['AUTH_JWKS_URL'] = issuer.env.AUTH_JWKS_URL;
  serviceToken = await issuer.mint({ kind: 'service', clientId: 'exchange', audience: Audiences.internal });
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
  await issuer?.close();
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
    await waitForIds(`/DocumentReference?${byA}`, [`DocumentReference/${id('doc', 1)}`], null);
    expect(ids(await search(`/DocumentReference?${byB}`, null))).toEqual([]);

    await publishLink(B, E1, '2024-06-01T00:00:00Z');
    await publishLink(A, E1, '2024-06-01T00:00:01Z');
    await producer.publish(EncounterUpserted, {
      key: `${A.institutionId}|${A.mrn}`,
      source: SOURCE,
      data: { ...provenance(A, `msg-${RUN}-2`), encounter: encounter(1, 'in-progress') },
    });
    const linked = await waitForIds(`/DocumentReference?${byB}`, [`DocumentReference/${id('doc', 1)}`], E1);
    const item = linked.entry?.[0]?.resource;
    expect(registryExtension(item, 'institution')[0]?.valueString).toBe(A.institutionId);
    expect(registryExtension(item, 'linkConfidence')[0]?.valueCode).toBe('auto');
    expect(item?.meta?.security).toEqual([
      { system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' },
    ]);
    expect(item?.meta?.source).toBe(`urn:tessera:institution:${A.institutionId}`);
    await waitForIds(`/Encounter?${byB}`, [`Encounter/${id('enc', 1)}`], E1);
    // The document carries its encounter's class once the encounter is indexed.
    const withClass = await search(`/DocumentReference?${byB}`, E1);
    expect(registryExtension(withClass.entry?.[0]?.resource, 'encounterClass')[0]?.valueCode).toBe('IMP');

    // Unmerge: an operator moves A's record to another person.
    await publishLink(A, E2, '2024-06-02T00:00:00Z', 'MANUAL');
    await waitForIds(`/DocumentReference?${byB}`, [], E1);
    expect(ids(await search(`/Encounter?${byB}`, E1))).toEqual([]);
    const e2 = await search(`/Patient/${E2}/$timeline`, E2);
    expect(ids(e2)).toEqual([`DocumentReference/${id('doc', 1)}`, `Encounter/${id('enc', 1)}`].sort());
    expect(registryExtension(e2.entry?.[0]?.resource, 'linkConfidence')[0]?.valueCode).toBe('manual');

    // A stale decision delivered late changes nothing: the newest decision per record wins.
    const late = [
      await publishLink(A, E1, '2024-06-01T12:00:00Z'),
      await publishLink(B, E1, '2024-06-01T00:00:00.500Z'), // newer than B's first: B stays under E1
    ];
    await applied(late);
    expect(ids(await search(`/DocumentReference?${byB}`, E1))).toEqual([]);

    // Re-link: the same answer as before the unmerge, without rewriting any clinical row.
    await publishLink(A, E1, '2024-06-03T00:00:00Z', 'MANUAL');
    await waitForIds(`/DocumentReference?${byB}`, [`DocumentReference/${id('doc', 1)}`], E1);
    await waitForIds(`/Encounter?${byB}&class=IMP&date=ge2024-05-01`, [`Encounter/${id('enc', 1)}`], E1);
    expect(ids(await search(`/Encounter?${byB}&date=lt2024-05-01`, E1))).toEqual([]);
    expect(ids(await search(`/Patient/${E2}/$timeline`, E2))).toEqual([]);
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
    await waitForIds(`/Observation?${byB}&code=http://loinc.org|2345-7`, [`Observation/${id('obs', 1)}`], E1);
    await waitForIds(`/DiagnosticReport?${byB}&code=24323-8`, [`DiagnosticReport/${id('dr', 1)}`], E1);
    expect(ids(await search(`/Observation?${byB}&code=9999-9`, E1))).toEqual([]);

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
      () => search(`/DocumentReference?${byB}`, E1),
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
    const superseded = await search(`/DocumentReference?${byB}&status=superseded`, E1);
    expect(ids(superseded)).toEqual([`DocumentReference/${id('doc', 1)}`]);
    expect((superseded.entry?.[0]?.resource as DocumentReference).status).toBe('superseded');

    // ITI-68: bytes by content address and through the DocumentReference.
    const attachmentUrl = (current.entry?.[0]?.resource as DocumentReference).content[0]?.attachment.url;
    expect(attachmentUrl).toBe(`Binary/${doc2.content.sha256}`);
    const binary = await content(`/${attachmentUrl ?? ''}`);
    expect(binary.status).toBe(200);
    expect(binary.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(binary.headers.get('etag')).toBe(`"${doc2.content.sha256}"`);
    expect(Buffer.from(await binary.arrayBuffer()).toString('base64')).toBe(doc2.content.base64);
    const viaDoc = await content(`/DocumentReference/${id('doc', 1)}/$content`);
    expect(viaDoc.status).toBe(200);
    expect(
      createHash('sha256')
        .update(Buffer.from(await viaDoc.arrayBuffer()))
        .digest('hex'),
    ).toBe(doc1.content.sha256);
    expect((await content(`/Binary/${'0'.repeat(64)}`)).status).toBe(404);

    // A11: the encounter is cancelled; it leaves current results and stays in history.
    await producer.publish(EncounterUpserted, {
      key: `${A.institutionId}|${A.mrn}`,
      source: SOURCE,
      data: { ...provenance(A, `msg-${RUN}-6`), encounter: encounter(1, 'cancelled') },
    });
    await waitForIds(`/Encounter?${byB}`, [], E1);
    expect(ids(await search(`/Encounter?${byB}&status=cancelled`, E1))).toEqual([
      `Encounter/${id('enc', 1)}`,
    ]);

    // History keeps every version: the cancelled encounter and the superseded document.
    const statuses = (b: Bundle) => (b.entry ?? []).map((e) => (e.resource as { status?: string }).status);
    const encounterHistory = await search(`/Encounter/${id('enc', 1)}/_history`, E1);
    expect(encounterHistory.type).toBe('history');
    expect(statuses(encounterHistory)).toEqual(['cancelled', 'in-progress']);
    expect(statuses(await search(`/DocumentReference/${id('doc', 1)}/_history`, E1))).toEqual([
      'superseded',
      'current',
    ]);
    expect((await get(`/Observation/${id('nope', 1)}/_history`, { as: E1 })).status).toBe(404);

    const timeline = await search(`/Patient/${E1}/$timeline`, E1);
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
    const bad = await get(`/DocumentReference?${byB}&date=yesterday`, { as: E1 });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toContain('application/fhir+json');
    expect(bad.body).toMatchObject({
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', expression: ['date'] }],
    });
    expect((await get('/Encounter?class=IMP')).body).toMatchObject({ issue: [{ expression: ['patient'] }] });
    expect((await get(`/Observation?${byB}&colour=red`, { as: E1 })).body).toMatchObject({
      issue: [{ expression: ['colour'] }],
    });
    expect((await content('/Binary/not-a-digest')).status).toBe(400);
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
    const { ItemLabeler } = await import('./indexing/item-labeler');
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
      new IndexResourceHandler(
        new PostgresDocumentContentStore(replayDb),
        new ItemLabeler({ REGISTRY_LABELING_RULES_FILE: 'deploy/demo-region/labeling-rules.yaml' }),
      ),
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

// Consent pushdown: hospital C and clinic D both know person E3; C holds psychiatric items.
const C = { institutionId: `hosp-c-${RUN}`, system: `urn:oid:2.999.${Date.now()}.3`, mrn: `MRN-C-${RUN}` };
const D = { institutionId: `clin-d-${RUN}`, system: `urn:oid:2.999.${Date.now()}.4`, mrn: `MRN-D-${RUN}` };
const E3 = `E3-${RUN}`;
const byC = `patient=${encodeURIComponent(`${C.system}|${C.mrn}`)}`;
const ICD10 = 'http://hl7.org/fhir/sid/icd-10';
const ACT_CODE = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';

/** Five documents at C: a psychiatry consult (LOINC 34788-0, labelled by the rules), one the source labelled PSY, three plain. */
const cDocs = [1, 2, 3, 4, 5].map((n) =>
  documentOf(10 + n, `Synthetic note ${n} of C ${RUN}`, {
    date: `2024-07-0${n}T10:00:00Z`,
    context: {},
    securityLabel: [],
    ...(n === 1 ? { type: { coding: [{ system: 'http://loinc.org', code: '34788-0' }] } } : {}),
    ...(n === 2 ? { meta: { security: [{ system: ACT_CODE, code: 'PSY' }] } } : {}),
  }),
);
const cDocId = (n: number) => `DocumentReference/${id('doc', 10 + n)}`;
/** C's encounter with a depressive episode (ICD-10 F32.1) as its reason. */
const cEncounter: Encounter = {
  ...encounter(20, 'finished'),
  reasonCode: [{ coding: [{ system: ICD10, code: 'F32.1' }] }],
};
const dEncounter: Encounter = { ...encounter(21, 'finished'), period: { start: '2024-07-10T09:00:00Z' } };

describe('document registry enforcement (consent pushdown, service token, visibility header)', () => {
  const asD = (extra: Partial<VisibilityHeader> = {}): CallOptions => ({
    as: E3,
    visibility: { ownInstitution: D.institutionId, ...extra },
  });

  beforeAll(async () => {
    await publishLink(C, E3, '2024-07-01T00:00:00Z');
    await publishLink(D, E3, '2024-07-01T00:00:00Z');
    for (const doc of cDocs) {
      await producer.publish(DocumentPublished, {
        key: `${C.institutionId}|${C.mrn}`,
        source: SOURCE,
        data: { ...provenance(C, `msg-${RUN}-c-${doc.document.id ?? ''}`), ...doc },
      });
    }
    await producer.publish(EncounterUpserted, {
      key: `${C.institutionId}|${C.mrn}`,
      source: SOURCE,
      data: { ...provenance(C, `msg-${RUN}-c-enc`), encounter: cEncounter },
    });
    await producer.publish(EncounterUpserted, {
      key: `${D.institutionId}|${D.mrn}`,
      source: SOURCE,
      data: { ...provenance(D, `msg-${RUN}-d-enc`), encounter: dEncounter },
    });
    await waitForIds(`/DocumentReference?${byC}`, [1, 2, 3, 4, 5].map(cDocId), E3);
    await waitForIds(`/Encounter?${byC}`, [`Encounter/${id('enc', 20)}`, `Encounter/${id('enc', 21)}`], E3);
  }, 60_000);

  it('stores labels derived by the rules with the ones the source sent', async () => {
    const rows = await app
      .get(DataSource)
      .query<{ id: string; label_codes: string[] }[]>(
        'SELECT id, label_codes FROM documents WHERE patient_system = $1 ORDER BY id',
        [C.system],
      );
    const codes = new Map(rows.map((r) => [`DocumentReference/${r.id}`, r.label_codes]));
    expect(codes.get(cDocId(1))).toEqual(['PSY']);
    expect(codes.get(cDocId(2))).toEqual(['PSY']);
    expect(codes.get(cDocId(3))).toEqual([]);
    const enc = await app
      .get(DataSource)
      .query<{ label_codes: string[] }[]>('SELECT label_codes FROM encounters WHERE id = $1', [
        id('enc', 20),
      ]);
    expect(enc[0]?.label_codes).toEqual(['PSY']);
  });

  it("hides another institution's items when others is none and shows them when all", async () => {
    const none = await search(`/DocumentReference?${byC}`, E3, asD({ others: 'none' }));
    expect(none.total).toBe(0);
    expect(ids(await search(`/Encounter?${byC}`, E3, asD({ others: 'none' })))).toEqual([
      `Encounter/${id('enc', 21)}`,
    ]);
    const timeline = await search(`/Patient/${E3}/$timeline`, E3, asD({ others: 'none' }));
    expect(ids(timeline)).toEqual([`Encounter/${id('enc', 21)}`]);
    expect(timeline.total).toBe(1);

    const all = await search(`/DocumentReference?${byC}`, E3, asD({ others: 'all' }));
    expect(all.total).toBe(5);
    expect(ids(await search(`/Encounter?${byC}`, E3, asD({ others: 'all' })))).toHaveLength(2);
  });

  it('hides items with a denied label before paging: total and next links count visible items only', async () => {
    const denied = asD({ others: 'all', deniedLabels: ['PSY'] });
    const page1 = await search(`/DocumentReference?${byC}&_count=2`, E3, denied);
    expect(page1.total).toBe(3);
    expect(page1.entry).toHaveLength(2);
    const next = page1.link?.find((l) => l.relation === 'next')?.url;
    expect(next).toBeDefined();
    const page2 = await search(next ?? '', E3, denied);
    expect(page2.total).toBe(3);
    expect(page2.link?.find((l) => l.relation === 'next')).toBeUndefined();
    expect([...ids(page1), ...ids(page2)].sort()).toEqual([3, 4, 5].map(cDocId).sort());
    // The psychiatric encounter (F32.1) is hidden; D's own encounter is not.
    expect(ids(await search(`/Encounter?${byC}`, E3, denied))).toEqual([`Encounter/${id('enc', 21)}`]);
    const timeline = await search(`/Patient/${E3}/$timeline?_count=1`, E3, denied);
    expect(timeline.total).toBe(4);
    // History of a hidden item is not found; its own institution sees it.
    expect((await get(`/${cDocId(1)}/_history`, denied)).status).toBe(404);
    expect(
      (
        await get(`/${cDocId(1)}/_history`, {
          as: E3,
          visibility: { ownInstitution: C.institutionId, others: 'none' },
        })
      ).status,
    ).toBe(200);
    // The requester's own items are visible whatever their labels.
    const own = await search(`/DocumentReference?${byC}`, E3, {
      visibility: { ownInstitution: C.institutionId, others: 'none', deniedLabels: ['PSY'] },
    });
    expect(own.total).toBe(5);
  });

  it("_includeProbable never shows another institution's possibly-matched record (not covered by the person's decision)", async () => {
    // Hospital G's record is only a POSSIBLE_MATCH to E3: maybe another person, with its own consent.
    const G = {
      institutionId: `hosp-g-${RUN}`,
      system: `urn:oid:2.999.${Date.now()}.7`,
      mrn: `MRN-G-${RUN}`,
    };
    await publishLink(G, E3, '2024-07-01T00:00:00Z', 'AUTO', 'POSSIBLE_MATCH');
    await producer.publish(EncounterUpserted, {
      key: `${G.institutionId}|${G.mrn}`,
      source: SOURCE,
      data: { ...provenance(G, `msg-${RUN}-g-enc`), encounter: encounter(30, 'finished') },
    });
    const gEnc = `Encounter/${id('enc', 30)}`;
    // G itself sees its own record through the probable link.
    const asG = { as: E3, visibility: { ownInstitution: G.institutionId, others: 'all' as const } };
    await waitFor(
      "G's encounter to be indexed",
      async () => ids(await search(`/Encounter?patient=${E3}&_includeProbable=true`, E3, asG)),
      (found) => found.includes(gEnc),
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    // D, allowed everything of E3, must not get G's possibly-matched record (search and timeline).
    const forD = await search(`/Encounter?patient=${E3}&_includeProbable=true`, E3, asD({ others: 'all' }));
    expect(ids(forD)).not.toContain(gEnc);
    expect(forD.total).toBe(2);
    const timeline = await search(
      `/Patient/${E3}/$timeline?_includeProbable=true`,
      E3,
      asD({ others: 'all' }),
    );
    expect(ids(timeline)).not.toContain(gEnc);
  });

  it('requires the service token and the visibility header', async () => {
    const path = `/DocumentReference?${byC}`;
    const noToken = await get(path, { ...asD(), token: null });
    expect(noToken.status).toBe(401);
    expect(noToken.headers.get('www-authenticate')).toContain('invalid_token');
    expect((await content(`/Binary/${cDocs[2]?.content.sha256 ?? ''}`, null)).status).toBe(401);
    expect((await get(`/_facts/${cDocId(3)}`, { token: null })).status).toBe(401);
    // An institution's token is for the exchange's audience: not accepted here at all.
    const forExchange = await issuer.mint({
      kind: 'institution',
      clientId: 'hosp-c-client',
      institutionId: C.institutionId,
      scopes: ['system/*.read'],
    });
    expect((await get(path, { ...asD(), token: forExchange })).status).toBe(401);
    // Even one that also names the internal audience is an institution, not the exchange: 403.
    const institutionToken = await issuer.mint({
      kind: 'institution',
      clientId: 'hosp-c-client',
      institutionId: C.institutionId,
      scopes: ['system/*.read'],
      audience: [Audiences.exchange, Audiences.internal],
    });
    expect((await get(path, { ...asD(), token: institutionToken })).status).toBe(403);
    expect((await content(`/Binary/${cDocs[2]?.content.sha256 ?? ''}`, institutionToken)).status).toBe(403);

    const missing = await get(path, { visibility: null });
    expect(missing.status).toBe(403);
    expect(missing.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'security' }] });
    expect((await get(`/Patient/${E3}/$timeline`, { visibility: null })).status).toBe(403);
    // No decision, no data: checked before the parameters.
    expect((await get(`${path}&colour=red`, { visibility: null })).status).toBe(403);
    expect((await get(`/${cDocId(3)}/_history`, { visibility: null })).status).toBe(403);
    const malformed = await get(path, { visibility: 'not*base64url' });
    expect(malformed.status).toBe(400);
    expect(malformed.body).toMatchObject({
      issue: [{ code: 'value', expression: ['X-Tessera-Visibility'] }],
    });
    const wrongShape = Buffer.from(JSON.stringify({ others: 'some' })).toString('base64url');
    expect((await get(path, { visibility: wrongShape })).status).toBe(400);

    // The platform's health and metrics stay public.
    expect((await fetch(`${baseUrl}/health/live`)).status).toBe(200);
    expect((await fetch(`${baseUrl}/metrics`)).status).toBe(200);
    // Content needs no visibility (the exchange decided on the facts first).
    expect((await content(`/Binary/${cDocs[2]?.content.sha256 ?? ''}`)).status).toBe(200);
  });

  it('answers 409 conflict when the visibility was decided for another person', async () => {
    const other = await get(`/DocumentReference?${byC}`, { ...asD(), as: `E9-${RUN}` });
    expect(other.status).toBe(409);
    expect(other.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'conflict' }] });
    // A linked record searched with a decision for "no known person".
    expect((await get(`/Encounter?${byC}`, { ...asD(), as: null })).status).toBe(409);
    expect((await get(`/Patient/${E3}/$timeline`, { ...asD(), as: `E9-${RUN}` })).status).toBe(409);
    expect((await get(`/${cDocId(3)}/_history`, { ...asD(), as: `E9-${RUN}` })).status).toBe(409);
  });

  it('relabels indexed rows when the rules change, and back', async () => {
    const { relabel } = await import('./indexing/relabel.command');
    const { ItemLabeler } = await import('./indexing/item-labeler');
    const demo = ItemLabeler.loadRules('deploy/demo-region/labeling-rules.yaml');
    // A region that also treats consult notes (LOINC 11488-4, C's documents 2–5) as sensitive.
    const stricter = {
      ...demo,
      rules: [...demo.rules, { system: 'http://loinc.org', codes: ['11488-4'], label: 'SEX' }],
    };
    const denySex = asD({ others: 'all', deniedLabels: ['SEX'] });
    expect((await search(`/DocumentReference?${byC}`, E3, denySex)).total).toBe(5);
    const progress: { table: string; scanned: number }[] = [];
    const summary = await relabel(app.get(DataSource), stricter, (p) => progress.push(p), 3);
    expect(summary.find((s) => s.table === 'documents')?.changed).toBeGreaterThanOrEqual(3);
    expect(progress.filter((p) => p.table === 'documents').length).toBeGreaterThan(1);
    // Only the psychiatry consult (34788-0) is not a consult note.
    expect(ids(await search(`/DocumentReference?${byC}`, E3, denySex))).toEqual([cDocId(1)]);
    // Unchanged rows are not written again; the demo rules restore the labels.
    expect((await relabel(app.get(DataSource), stricter)).every((s) => s.changed === 0)).toBe(true);
    await relabel(app.get(DataSource), demo);
    expect((await search(`/DocumentReference?${byC}`, E3, denySex)).total).toBe(5);
    const facts = await get(`/_facts/${cDocId(3)}`);
    expect(facts.body).toMatchObject({ items: [{ securityLabels: [] }] });
  });

  it("does not show a hidden encounter's class and type on the visible documents of that encounter", async () => {
    const H = {
      institutionId: `hosp-h-${RUN}`,
      system: `urn:oid:2.999.${Date.now()}.8`,
      mrn: `MRN-H-${RUN}`,
    };
    const E4 = `E4-${RUN}`;
    await publishLink(H, E4, '2024-07-01T00:00:00Z');
    // An encounter labelled SUD/ETH (absolute) by its service type; a plain note of that encounter.
    const hEncounter: Encounter = {
      ...encounter(40, 'finished'),
      serviceType: { coding: [{ system: 'http://snomed.info/sct', code: '7200002' }] },
    };
    await producer.publish(EncounterUpserted, {
      key: `${H.institutionId}|${H.mrn}`,
      source: SOURCE,
      data: { ...provenance(H, `msg-${RUN}-h-enc`), encounter: hEncounter },
    });
    const note = documentOf(41, `Synthetic note of H ${RUN}`, {
      date: '2024-07-20T10:00:00Z',
      securityLabel: [],
      context: { encounter: [{ reference: `Encounter/${id('enc', 40)}` }] },
    });
    await producer.publish(DocumentPublished, {
      key: `${H.institutionId}|${H.mrn}`,
      source: SOURCE,
      data: { ...provenance(H, `msg-${RUN}-h-doc`), ...note },
    });
    await waitForIds(`/DocumentReference?patient=${E4}`, [`DocumentReference/${id('doc', 41)}`], E4);
    await waitForIds(`/Encounter?patient=${E4}`, [`Encounter/${id('enc', 40)}`], E4);
    // H's own view carries the encounter's details.
    const own = await search(`/DocumentReference?patient=${E4}`, E4, {
      visibility: { ownInstitution: H.institutionId, others: 'none' },
    });
    expect(registryExtension(own.entry?.[0]?.resource, 'encounterType').length).toBeGreaterThan(0);

    const denied = { as: E4, visibility: { ownInstitution: D.institutionId, deniedLabels: ['ETH', 'SUD'] } };
    expect((await search(`/Encounter?patient=${E4}`, E4, denied)).total).toBe(0);
    const docs = await search(`/DocumentReference?patient=${E4}`, E4, denied);
    expect(ids(docs)).toEqual([`DocumentReference/${id('doc', 41)}`]);
    const resource = docs.entry?.[0]?.resource;
    expect(registryExtension(resource, 'encounterType')).toEqual([]);
    expect(registryExtension(resource, 'encounterClass')).toEqual([]);
    expect(JSON.stringify(resource)).not.toContain('7200002');
  });

  it('_history leaves out an older version whose own codes carry a label the requester may not see', async () => {
    const K = {
      institutionId: `hosp-k-${RUN}`,
      system: `urn:oid:2.999.${Date.now()}.9`,
      mrn: `MRN-K-${RUN}`,
    };
    const E5 = `E5-${RUN}`;
    await publishLink(K, E5, '2024-07-01T00:00:00Z');
    // Version 1 names a depressive episode (PSY); version 2 corrects the reason away.
    const first: Encounter = {
      ...encounter(50, 'finished'),
      reasonCode: [{ coding: [{ system: ICD10, code: 'F32.1' }] }],
    };
    const corrected: Encounter = { ...encounter(50, 'finished'), reasonCode: [{ text: 'follow-up' }] };
    for (const [n, enc] of [first, corrected].entries()) {
      await producer.publish(EncounterUpserted, {
        key: `${K.institutionId}|${K.mrn}`,
        source: SOURCE,
        data: { ...provenance(K, `msg-${RUN}-k-enc-${n}`), encounter: enc },
      });
    }
    const path = `/Encounter/${id('enc', 50)}/_history`;
    const own = { as: E5, visibility: { ownInstitution: K.institutionId, others: 'none' as const } };
    await waitFor(
      'both versions',
      async () => (await get(path, own)).body['total'],
      (t) => t === 2,
      {
        timeoutMs: 30_000,
        intervalMs: 200,
      },
    );
    const denied = await get(path, {
      as: E5,
      visibility: { ownInstitution: D.institutionId, deniedLabels: ['PSY'] },
    });
    expect(denied.status).toBe(200);
    const bundle = denied.body as unknown as Bundle;
    expect((bundle.entry ?? []).map((e) => e.resource?.meta?.versionId)).toEqual(['2']);
    expect(bundle.total).toBe(1);
    expect(denied.text).not.toContain('F32.1');
  });

  it('serves the facts the exchange decides content on', async () => {
    const facts = await get(`/_facts/${cDocId(1)}`);
    expect(facts.status).toBe(200);
    expect(facts.body).toEqual({
      items: [
        {
          resourceType: 'DocumentReference',
          id: id('doc', 11),
          enterpriseId: E3,
          sourceInstitution: C.institutionId,
          securityLabels: [{ system: ACT_CODE, code: 'PSY' }],
        },
      ],
    });
    const enc = await get(`/_facts/Encounter/${id('enc', 20)}`);
    expect(enc.body).toMatchObject({ items: [{ enterpriseId: E3, securityLabels: [{ code: 'PSY' }] }] });
    const binary = await get(`/_facts/Binary/${cDocs[1]?.content.sha256 ?? ''}`);
    expect(binary.body).toMatchObject({
      items: [{ id: id('doc', 12), sourceInstitution: C.institutionId, securityLabels: [{ code: 'PSY' }] }],
    });
    expect((await get(`/_facts/Observation/${id('nope', 2)}`)).status).toBe(404);
    expect((await get('/_facts/Binary/not-a-digest')).status).toBe(400);
    expect((await get(`/_facts/Patient/${E3}`)).status).toBe(404);
  });
});

// Labels from every code that says what a document is: an MDM^T02 mapped by the real v2 mapper
// (TXA-2 "CN" Consultation, OBX-3 34788-0 Psychiatry Consult note) from hospital M, and a FHIR
// document whose only sensitive code is a LOINC code known through the Document Ontology table.
// Hospital N treats the same person and asks for treatment under the demo region's policy.
const M = { institutionId: `hosp-m-${RUN}`, system: `urn:oid:2.999.${Date.now()}.11`, mrn: `MRN-M-${RUN}` };
const N = { institutionId: `hosp-n-${RUN}`, system: `urn:oid:2.999.${Date.now()}.12`, mrn: `MRN-N-${RUN}` };
const E6 = `E6-${RUN}`;

/** The visibility the exchange decides for `institutionId` asking for treatment (demo region, no directives). */
function forTreatment(institutionId: string): CallOptions {
  const region = parseRegionPolicy(readFileSync('deploy/demo-region/consent-policy.yaml', 'utf8'));
  const decision = decidePatient(region, undefined, { institutionId, purposeOfUse: 'TREAT' }, new Date());
  return { as: E6, visibility: decision.visibility };
}

/** M's MDM^T02 as the gateway maps it: its DocumentReference and content, as DocumentPublished carries them. */
function mdmDocument(documentNumber: string, obx3: string) {
  const message = [
    'MSH|^~\\&|HIS|HOSPM|TESSERA|REGION|20240801100000+0800||MDM^T02^MDM_T02|CTRL-M-1|P|2.5.1',
    `PID|1||${M.mrn}^^^HOSPM^MR||Testperson^Alex^^^^^L||19800101|F`,
    `TXA|1|CN^Consultation^HL70270|TX|||20240801093000+0800||||||${documentNumber}^HIS|||||AU||AV`,
    `OBX|1|TX|${obx3}||Synthetic consultation ${documentNumber}.||||||F`,
  ].join('\r');
  const outcome = mapHl7Message(parseHl7(message), {
    institutionId: M.institutionId,
    patientIdentifierSystems: { HOSPM: M.system },
    defaultPatientSystem: M.system,
    identifierSystems: { HIS: 'https://hosp-m.example/fhir/sid/his' },
  });
  if (
    outcome.status !== 'mapped' ||
    outcome.result.document === undefined ||
    outcome.result.content === undefined
  )
    throw new Error(`the MDM did not map: ${JSON.stringify(outcome)}`);
  const { data, ...rest } = outcome.result.content;
  return { document: outcome.result.document, content: { ...rest, base64: data } };
}

describe('labels from every code that says what a document is', () => {
  const psychConsult = mdmDocument(`DOC-M1-${RUN}`, '34788-0^Psychiatry Consult note^LN');
  const plainConsult = mdmDocument(`DOC-M2-${RUN}`, '11488-4^Consult note^LN');
  /** A FHIR document typed only by a LOINC code of the ontology table (Mental health Emergency department Note). */
  const ontologyOnly = documentOf(60, `Synthetic ED note of M ${RUN}`, {
    date: '2024-08-02T10:00:00Z',
    securityLabel: [],
    context: {},
    type: { coding: [{ system: 'http://loinc.org', code: '84198-1' }] },
  });
  const docIds = [psychConsult, plainConsult, ontologyOnly].map(
    (d) => `DocumentReference/${d.document.id ?? ''}`,
  );

  beforeAll(async () => {
    await publishLink(M, E6, '2024-08-01T00:00:00Z');
    await publishLink(N, E6, '2024-08-01T00:00:00Z');
    for (const [n, doc] of [psychConsult, plainConsult, ontologyOnly].entries()) {
      await producer.publish(DocumentPublished, {
        key: `${M.institutionId}|${M.mrn}`,
        source: SOURCE,
        data: { ...provenance(M, `msg-${RUN}-m-${n}`), ...doc },
      });
    }
    await waitForIds(`/DocumentReference?patient=${E6}`, docIds, E6);
  }, 60_000);

  it("hides M's psychiatry consult (TXA-2 CN, OBX-3 34788-0) from N for treatment while M sees it", async () => {
    expect(psychConsult.document.type?.coding?.map((c) => c.code)).toEqual(['CN', '34788-0']);
    const byN = await search(`/DocumentReference?patient=${E6}`, E6, forTreatment(N.institutionId));
    expect(ids(byN)).toEqual([`DocumentReference/${plainConsult.document.id ?? ''}`]);
    expect(JSON.stringify(byN)).not.toContain('34788-0');
    const byM = await search(`/DocumentReference?patient=${E6}`, E6, forTreatment(M.institutionId));
    expect(ids(byM)).toEqual([...docIds].sort());
    const facts = await get(`/_facts/DocumentReference/${psychConsult.document.id ?? ''}`);
    expect(facts.body).toMatchObject({ items: [{ securityLabels: [{ system: ACT_CODE, code: 'PSY' }] }] });
  });

  it('labels an item indexed before the rule change once relabel runs with the new rules', async () => {
    const { relabel } = await import('./indexing/relabel.command');
    const { ItemLabeler } = await import('./indexing/item-labeler');
    const current = ItemLabeler.loadRules('deploy/demo-region/labeling-rules.yaml');
    // The rules as they were before the region added its Document Ontology table.
    const before: LabelingRules = { version: 'before', rules: current.rules };
    const ontologyDoc = `DocumentReference/${ontologyOnly.document.id ?? ''}`;
    await relabel(app.get(DataSource), before);
    expect(ids(await search(`/DocumentReference?patient=${E6}`, E6, forTreatment(N.institutionId)))).toEqual(
      [`DocumentReference/${plainConsult.document.id ?? ''}`, ontologyDoc].sort(),
    );

    const progress: { table: string; scanned: number; changed: number }[] = [];
    const summary = await relabel(app.get(DataSource), current, (p) => progress.push(p));
    expect(summary.find((s) => s.table === 'documents')?.changed).toBeGreaterThanOrEqual(1);
    expect(progress.some((p) => p.table === 'documents' && p.changed >= 1)).toBe(true);
    const byN = await search(`/DocumentReference?patient=${E6}`, E6, forTreatment(N.institutionId));
    expect(ids(byN)).toEqual([`DocumentReference/${plainConsult.document.id ?? ''}`]);
    const facts = await get(`/_facts/${ontologyDoc}`);
    expect(facts.body).toMatchObject({ items: [{ securityLabels: [{ system: ACT_CODE, code: 'PSY' }] }] });
    // Running it again changes nothing.
    const again = await relabel(app.get(DataSource), current);
    expect(again.find((s) => s.table === 'documents')?.changed).toBe(0);
  });
});

// A report takes on the labels of the results it lists: hospital P's plain panel (OBR-4 Comprehensive
// metabolic panel) whose first OBX is an HIV antibody test, as the real v2 mapper maps the ORU^R01.
// Clinic Q treats the same person and is denied HIV.
const P = { institutionId: `hosp-p-${RUN}`, system: `urn:oid:2.999.${Date.now()}.13`, mrn: `MRN-P-${RUN}` };
const Q = { institutionId: `clin-q-${RUN}`, system: `urn:oid:2.999.${Date.now()}.14`, mrn: `MRN-Q-${RUN}` };
const E7 = `E7-${RUN}`;
const HIV_OBX = 'OBX|1|CWE|7917-8^HIV 1 Ab [Presence] in Serum^LN||260385009^Negative^SCT||||||F';
const GLUCOSE_OBX =
  'OBX|2|NM|2345-7^Glucose [Mass/volume] in Serum or Plasma^LN||5.1|mmol/L^mmol/L^UCUM|||||F';

/** P's ORU^R01 for one order: the plain panel and its results, as ObservationReported carries them. */
function panelOf(order: string, ...obx: string[]) {
  const message = [
    'MSH|^~\\&|HIS|HOSPP|TESSERA|REGION|20240901100000+0800||ORU^R01^ORU_R01|CTRL-P-1|P|2.5.1',
    `PID|1||${P.mrn}^^^HOSPP^MR||Testperson^Alex^^^^^L||19800101|F`,
    `OBR|1|${order}^HIS|LAB-${order}^LIS|24323-8^Comprehensive metabolic panel^LN|||20240901080000+0800||||||||||||||||CH|F`,
    ...obx,
  ].join('\r');
  const outcome = mapHl7Message(parseHl7(message), {
    institutionId: P.institutionId,
    patientIdentifierSystems: { HOSPP: P.system },
    defaultPatientSystem: P.system,
    identifierSystems: {
      HIS: 'https://hosp-p.example/fhir/sid/his',
      LIS: 'https://hosp-p.example/fhir/sid/lis',
    },
  });
  if (outcome.status !== 'mapped') throw new Error(`the ORU did not map: ${JSON.stringify(outcome)}`);
  const report = outcome.result.reports[0];
  if (report === undefined) throw new Error('the ORU mapped without a DiagnosticReport');
  return { report, observations: outcome.result.observations };
}

describe('a report carries the labels of the results it lists', () => {
  const forQ = { ownInstitution: Q.institutionId, others: 'all' as const };
  const denyHiv: CallOptions = { as: E7, visibility: { ...forQ, deniedLabels: ['HIV'] } };
  const asP: CallOptions = { as: E7, visibility: { ownInstitution: P.institutionId, others: 'none' } };
  const reportIds = async (options: CallOptions) =>
    ids(await search(`/DiagnosticReport?patient=${E7}`, E7, options));
  let message = 0;
  const publishResults = async (
    reports: readonly DiagnosticReport[],
    observations: readonly Observation[],
  ) => {
    message += 1;
    return (
      await producer.publish(ObservationReported, {
        key: `${P.institutionId}|${P.mrn}`,
        source: SOURCE,
        data: {
          ...provenance(P, `msg-${RUN}-p-${message}`),
          reports: [...reports],
          observations: [...observations],
        },
      })
    ).id;
  };

  beforeAll(async () => {
    await applied([
      await publishLink(P, E7, '2024-09-01T00:00:00Z'),
      await publishLink(Q, E7, '2024-09-01T00:00:00Z'),
    ]);
  }, 60_000);

  it('hides a plain panel with an HIV result from an institution denied HIV while its own institution sees it', async () => {
    const panel = panelOf(`ORD-P1-${RUN}`, HIV_OBX, GLUCOSE_OBX);
    const [hiv, glucose] = panel.observations;
    const reportId = `DiagnosticReport/${panel.report.id ?? ''}`;
    await applied([await publishResults([panel.report], panel.observations)]);
    expect(panel.report.result?.map((r) => r.reference)).toEqual([
      `Observation/${hiv?.id ?? ''}`,
      `Observation/${glucose?.id ?? ''}`,
    ]);

    expect(await reportIds(denyHiv)).toEqual([]);
    expect(ids(await search(`/Observation?patient=${E7}`, E7, denyHiv))).toEqual([
      `Observation/${glucose?.id ?? ''}`,
    ]);
    const timeline = await search(`/Patient/${E7}/$timeline`, E7, denyHiv);
    expect(ids(timeline)).toEqual([`Observation/${glucose?.id ?? ''}`]);
    expect(JSON.stringify(timeline)).not.toContain(hiv?.id ?? 'no id');
    expect((await get(`/${reportId}/_history`, denyHiv)).status).toBe(404);
    expect((await get(`/_facts/${reportId}`)).body).toMatchObject({
      items: [{ securityLabels: [{ system: ACT_CODE, code: 'HIV' }] }],
    });

    expect(await reportIds(asP)).toEqual([reportId]);
    // Denied something else, the panel is visible to Q.
    expect(await reportIds({ as: E7, visibility: { ...forQ, deniedLabels: ['PSY'] } })).toEqual([reportId]);
  });

  it('labels a report indexed before its results once they arrive, and follows a corrected result', async () => {
    const panel = panelOf(`ORD-P2-${RUN}`, HIV_OBX, GLUCOSE_OBX);
    const [hiv, glucose] = panel.observations;
    if (hiv === undefined || glucose === undefined) throw new Error('expected two observations');
    const reportId = `DiagnosticReport/${panel.report.id ?? ''}`;
    const visibleToQ = async () => (await reportIds(denyHiv)).includes(reportId);
    // The report alone first: nothing known about its results yet.
    await applied([await publishResults([panel.report], [])]);
    expect(await visibleToQ()).toBe(true);
    // Its results in a later message: the report takes on the HIV label.
    await applied([await publishResults([], [hiv, glucose])]);
    expect(await visibleToQ()).toBe(false);
    // The lab corrects the first result's test code (not an HIV test after all): labels follow.
    const corrected: Observation = {
      ...hiv,
      status: 'corrected',
      code: { coding: [{ system: 'http://loinc.org', code: '2951-2' }] },
      valueCodeableConcept: undefined,
      valueQuantity: { value: 140, unit: 'mmol/L' },
    };
    await applied([await publishResults([], [corrected])]);
    expect(await visibleToQ()).toBe(true);
    // And back: corrected again to the HIV test.
    await applied([await publishResults([], [{ ...hiv, status: 'corrected' }])]);
    expect(await visibleToQ()).toBe(false);
  });

  it("leaves out of a report's _history a version listing a result the requester may not see", async () => {
    const panel = panelOf(`ORD-P4-${RUN}`, HIV_OBX, GLUCOSE_OBX);
    const [hiv, glucose] = panel.observations;
    if (hiv === undefined || glucose === undefined) throw new Error('expected two observations');
    const reportId = `DiagnosticReport/${panel.report.id ?? ''}`;
    await applied([await publishResults([panel.report], [hiv, glucose])]);
    // The lab corrects the panel: the HIV test was ordered in error, the report lists glucose only.
    const corrected: DiagnosticReport = {
      ...panel.report,
      status: 'corrected',
      result: [{ reference: `Observation/${glucose.id ?? ''}` }],
    };
    await applied([await publishResults([corrected], [])]);
    expect(await reportIds(denyHiv)).toContain(reportId);
    const history = await get(`/${reportId}/_history`, denyHiv);
    expect(history.status).toBe(200);
    expect(((history.body as unknown as Bundle).entry ?? []).map((e) => e.resource?.meta?.versionId)).toEqual(
      ['2'],
    );
    expect(history.text).not.toContain(hiv.id ?? 'no id');
    const own = await get(`/${reportId}/_history`, asP);
    expect((own.body as unknown as Bundle).total).toBe(2);
  });

  it('relabel recomputes a report from its results after the rules changed', async () => {
    const { relabel } = await import('./indexing/relabel.command');
    const { ItemLabeler } = await import('./indexing/item-labeler');
    const current = ItemLabeler.loadRules('deploy/demo-region/labeling-rules.yaml');
    // The rules as they were before the region labelled HIV tests.
    const before: LabelingRules = {
      ...current,
      version: 'before-hiv',
      rules: current.rules.filter((r) => r.label !== 'HIV'),
    };
    const panel = panelOf(`ORD-P3-${RUN}`, HIV_OBX, GLUCOSE_OBX);
    const reportId = `DiagnosticReport/${panel.report.id ?? ''}`;
    await applied([await publishResults([panel.report], panel.observations)]);
    expect(await reportIds(denyHiv)).not.toContain(reportId);

    await relabel(app.get(DataSource), before);
    expect(await reportIds(denyHiv)).toContain(reportId);
    expect((await get(`/_facts/${reportId}`)).body).toMatchObject({ items: [{ securityLabels: [] }] });

    const summary = await relabel(app.get(DataSource), current);
    expect(summary.find((s) => s.table === 'results')?.changed).toBeGreaterThanOrEqual(2);
    expect(await reportIds(denyHiv)).not.toContain(reportId);
    expect((await get(`/_facts/${reportId}`)).body).toMatchObject({
      items: [{ securityLabels: [{ system: ACT_CODE, code: 'HIV' }] }],
    });
    expect((await relabel(app.get(DataSource), current)).find((s) => s.table === 'results')?.changed).toBe(0);
  });
});
