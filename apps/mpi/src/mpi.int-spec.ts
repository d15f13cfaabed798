// The MPI end to end, in-process against real Postgres and Kafka: PatientUpserted / PatientMerged on
// hie.patient → links, link history and MpiLinkChanged on hie.mpi.link; PIXm, PDQm and the link views
// over HTTP; two records of one new person consumed concurrently from different partitions.
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { Patient } from '@medplum/fhirtypes';
import { DataSource } from 'typeorm';
import { Partitioners } from 'kafkajs';
import type { Kafka } from 'kafkajs';
import { deadLetterTopic, PatientMerged, PatientUpserted, retryTopic, Topics } from '@tessera/contracts';
import type { EventProducer } from '@tessera/platform-kafka';
import { EVENT_PRODUCER, loadPlatformSettings, migrateService } from '@tessera/platform-service';
import { parseHl7 } from '@tessera/hl7v2';
import { generatePopulation } from '@tessera/synthetic-population';
import type { TruthPerson } from '@tessera/synthetic-population';
import { mapHl7Message } from '@tessera/v2-fhir';
import type { MappingResult } from '@tessera/v2-fhir';
import { dropTestDatabase, freePort, startTestIssuer, testKafka, TopicWatcher, uniqueTestId, waitFor, withAdmin } from '@tessera/testing';
import type { CollectedRecord, TestIssuer } from '@tessera/testing';

const RUN = uniqueTestId('m');
const DATABASE = `tessera_mpi_test_${RUN}`;
const GROUP = `mpi.test-${RUN}`;
const ENTERPRISE = 'urn:tessera:enterprise-id';
const SSN = 'urn:oid:2.16.840.1.113883.4.1';

let app: INestApplication;
let baseUrl: string;
let dataSource: DataSource;
let kafka: Kafka;
let producer: EventProducer;
let links: TopicWatcher;
let partitions = 1;
let issuer: TestIssuer;

/**
 * Who calls: `operator` (an operator client with role mpi.review, audience tessera:operator; its
 * client id is the decision's operator), `service` (the exchange's service token, tessera:internal),
 * `none`, or a ready token. Default: an operator for /mpi/ routes, the service token for FHIR routes.
 */
type Caller = { readonly operator: string } | 'service' | 'none' | { readonly token: string };
async function authorization(url: string, caller: Caller | undefined): Promise<Record<string, string>> {
  const who = caller ?? (url.startsWith('/mpi/') ? { operator: 'reviewer-0' } : 'service');
  if (who === 'none') return {};
  if (who === 'service') return { authorization: `Bearer ${await issuer.mint({ kind: 'service', clientId: 'exchange' })}` };
  if ('token' in who) return { authorization: `Bearer ${who.token}` };
  return { authorization: `Bearer ${await issuer.mint({ kind: 'operator', clientId: who.operator, roles: ['mpi.review'] })}` };
}

const persons: TruthPerson[] = generatePopulation({
  seed: 'mpi-int',
  persons: 40,
  region: 'us',
  institutions: [{ id: 'H1', assigningAuthority: '1.2.840.9.1' }],
})
  .materialize()
  .persons.filter((p) => p.kind === 'regular');
let nextPerson = 0;
function person(): TruthPerson {
  const found = persons[nextPerson++];
  if (found === undefined) throw new Error('synthetic population exhausted');
  return found;
}

interface Institution {
  readonly id: string;
  readonly system: string;
}
function institution(): Institution {
  const id = uniqueTestId('inst');
  return { id, system: `urn:oid:2.16.840.1.113883.3.${Date.now()}.${id}` };
}

/** The FHIR Patient an institution sends for `p`; `style` varies spelling and formatting like real feeds do. */
function patientOf(p: TruthPerson, at: Institution, localId: string, style: 'plain' | 'upper' = 'plain'): Patient {
  const d = p.demographics;
  const upper = (s: string): string => (style === 'upper' ? s.toUpperCase() : s);
  return {
    resourceType: 'Patient',
    identifier: [
      { system: at.system, value: localId, type: { coding: [{ code: 'MR' }] } },
      { system: SSN, value: d.nationalId, type: { coding: [{ code: 'SS' }] } },
    ],
    name: [{ use: 'official', family: upper(d.family), given: [upper(d.given)] }],
    gender: d.sex === 'M' ? 'male' : 'female',
    birthDate: d.birthDate,
    telecom: [{ system: 'phone', use: 'home', value: style === 'upper' ? d.phone.replace('+1', '') : d.phone }],
    address: [{ use: 'home', line: [upper(d.address.line)], city: upper(d.address.city), postalCode: d.address.postalCode }],
  };
}

function upserted(at: Institution, localId: string, patient: Patient) {
  return {
    key: `${at.id}|${localId}`,
    source: '/tessera/interop-gateway',
    data: {
      institutionId: at.id,
      patientSystem: at.system,
      localPatientId: localId,
      sourceMessageId: uniqueTestId('msg'),
      mapperVersion: '1.0.0',
      channel: 'fhir' as const,
      patient,
    },
  };
}

async function http(
  url: string,
  init: { method?: string; body?: unknown; operator?: string; as?: Caller } = {},
): Promise<{ status: number; contentType: string | null; json: Record<string, unknown> }> {
  const response = await fetch(`${baseUrl}${url}`, {
    method: init.method ?? 'GET',
    headers: {
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(await authorization(url, init.as ?? (init.operator === undefined ? undefined : { operator: init.operator }))),
    },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  const text = await response.text();
  return {
    status: response.status,
    contentType: response.headers.get('content-type'),
    json: (text === '' ? {} : JSON.parse(text)) as Record<string, unknown>,
  };
}

interface LinkRow {
  readonly enterprise_id: string;
  readonly state: string;
  readonly origin: string;
}
async function linkOf(at: Institution, localId: string): Promise<LinkRow | undefined> {
  const rows = await dataSource.query<LinkRow[]>(
    `SELECT l.enterprise_id, l.state, l.origin FROM links l JOIN source_records sr ON sr.id = l.source_record_id
      WHERE sr.system = $1 AND sr.local_id = $2`,
    [at.system, localId],
  );
  return rows[0];
}
function waitForLink(at: Institution, localId: string): Promise<LinkRow> {
  return waitFor(`the link of ${localId}`, () => linkOf(at, localId), (l) => l !== undefined, { timeoutMs: 60_000 }) as Promise<LinkRow>;
}

function parsed(record: CollectedRecord): Record<string, unknown> {
  return JSON.parse(record.value ?? 'null') as Record<string, unknown>;
}

/**
 * An event of this test's MPI (enterprise ids are random UUIDs per database): another MPI instance
 * consuming hie.patient at the same time (e.g. the service lifecycle test) publishes its own
 * decisions about the same source records on the shared hie.mpi.link.
 */
function ours(record: CollectedRecord, enterpriseId: string): boolean {
  return parsed(record)['enterpriseId'] === enterpriseId;
}

beforeAll(async () => {
  issuer = await startTestIssuer();
  process.env['AUTH_ISSUER'] = issuer.env.AUTH_ISSUER;
  process.env['AUTH_JWKS_URL'] = issuer.env.AUTH_JWKS_URL;
  process.env['DB_NAME'] = DATABASE;
  process.env['HTTP_PORT'] = String(await freePort());
  process.env['LOG_LEVEL'] = process.env['LOG_LEVEL'] ?? 'warn';
  kafka = testKafka(`mpi-int-${RUN}`);
  partitions = await withAdmin(kafka, async (admin) => {
    await admin.createTopics({
      topics: [retryTopic(Topics.patient, GROUP), deadLetterTopic(Topics.patient, GROUP)].map((topic) => ({ topic, numPartitions: 1 })),
    });
    const metadata = await admin.fetchTopicMetadata({ topics: [Topics.patient] });
    return metadata.topics[0]?.partitions.length ?? 1;
  });
  const { AppModule, serviceOptions } = await import('./app.module');
  const { MATCH_CONSUMER_OPTIONS, MatchRecordConsumer } = await import('./matching/match-record.consumer');
  await migrateService(serviceOptions, loadPlatformSettings(serviceOptions));
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] })
    .overrideProvider(MATCH_CONSUMER_OPTIONS)
    .useValue({ groupId: GROUP, fromBeginning: false, partitionsConsumedConcurrently: partitions })
    .compile();
  app = moduleRef.createNestApplication({ logger: ['error', 'warn'] });
  await app.listen(Number(process.env['HTTP_PORT']), '127.0.0.1');
  baseUrl = `http://127.0.0.1:${process.env['HTTP_PORT']}`;
  dataSource = app.get(DataSource);
  producer = app.get<EventProducer>(EVENT_PRODUCER);
  const runner = app.get(MatchRecordConsumer).runner;
  await waitFor('the mpi group to join', async () => runner.health().connected, (c) => c, { timeoutMs: 60_000 });
  links = await TopicWatcher.open(kafka, Topics.mpiLink);
}, 120_000);

afterAll(async () => {
  await links?.close();
  await app?.close();
  await issuer?.close();
  await withAdmin(kafka, (admin) =>
    admin.deleteTopics({ topics: [retryTopic(Topics.patient, GROUP), deadLetterTopic(Topics.patient, GROUP)] }),
  ).catch(() => undefined);
  await dropTestDatabase(loadPlatformSettings((await import('./app.module')).serviceOptions).postgres, DATABASE);
});

async function versionOf(at: Institution, localId: string): Promise<number> {
  const rows = await dataSource.query<{ current_version: number }[]>(
    'SELECT current_version FROM source_records WHERE system = $1 AND local_id = $2',
    [at.system, localId],
  );
  return rows[0]?.current_version ?? 0;
}

describe('matching', () => {
  const h1 = institution();
  const h2 = institution();
  const alice = person();
  const other = person();

  it('links two institutions’ records of one person to one enterprise id and publishes MpiLinkChanged for each', async () => {
    await producer.publish(PatientUpserted, upserted(h1, 'A-1', patientOf(alice, h1, 'A-1')));
    const first = await waitForLink(h1, 'A-1');
    await producer.publish(PatientUpserted, upserted(h2, 'B-1', patientOf(alice, h2, 'B-1', 'upper')));
    const second = await waitForLink(h2, 'B-1');
    expect(second).toEqual({ enterprise_id: first.enterprise_id, state: 'MATCH', origin: 'AUTO' });

    const [event] = await links.waitFor((r) => r.key === `${h2.system}|B-1` && ours(r, first.enterprise_id));
    expect(event.headers['ce_type']).toBe('org.tessera.mpi.link.changed');
    const data = parsed(event);
    expect(data).toMatchObject({
      patientSystem: h2.system,
      localPatientId: 'B-1',
      enterpriseId: first.enterprise_id,
      previousEnterpriseId: null,
      state: 'MATCH',
      origin: 'AUTO',
      reason: 'matched an existing enterprise id',
    });
    expect(data['score']).toBeGreaterThan(0);
    expect(data['comparisons']).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'birthDate', level: 'exact' })]));
    const [created] = await links.waitFor((r) => r.key === `${h1.system}|A-1` && ours(r, first.enterprise_id));
    expect(parsed(created)).toMatchObject({ enterpriseId: first.enterprise_id, reason: 'no candidate above the review threshold' });
  });

  it('gives a clearly different person another enterprise id', async () => {
    await producer.publish(PatientUpserted, upserted(h2, 'B-2', patientOf(other, h2, 'B-2')));
    const link = await waitForLink(h2, 'B-2');
    expect(link.enterprise_id).not.toBe((await linkOf(h1, 'A-1'))?.enterprise_id);
  });

  it('answers PIXm with the other institution’s identifier and the enterprise id', async () => {
    const enterpriseId = (await linkOf(h1, 'A-1'))?.enterprise_id;
    const response = await http(`/Patient/$ihe-pix?sourceIdentifier=${encodeURIComponent(`${h1.system}|A-1`)}`);
    expect(response.status).toBe(200);
    expect(response.contentType).toContain('application/fhir+json');
    expect(response.json).toEqual({
      resourceType: 'Parameters',
      parameter: [
        { name: 'targetIdentifier', valueIdentifier: { system: h2.system, value: 'B-1' } },
        { name: 'targetIdentifier', valueIdentifier: { system: ENTERPRISE, value: enterpriseId } },
      ],
    });
    const filtered = await http(
      `/Patient/$ihe-pix?sourceIdentifier=${encodeURIComponent(`${h1.system}|A-1`)}&targetSystem=${encodeURIComponent(h2.system)}`,
    );
    expect(filtered.json['parameter']).toEqual([{ name: 'targetIdentifier', valueIdentifier: { system: h2.system, value: 'B-1' } }]);
  });

  it('answers PIXm for an unknown source with 404, an unknown target system with 403, a malformed one with 400', async () => {
    const unknown = await http(`/Patient/$ihe-pix?sourceIdentifier=${encodeURIComponent(`${h1.system}|NOPE`)}`);
    expect(unknown.status).toBe(404);
    expect(unknown.json).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'not-found' }] });
    const target = await http(
      `/Patient/$ihe-pix?sourceIdentifier=${encodeURIComponent(`${h1.system}|A-1`)}&targetSystem=urn:oid:9.9.9.9`,
    );
    expect(target.status).toBe(403);
    expect(target.json).toMatchObject({ resourceType: 'OperationOutcome' });
    expect((await http('/Patient/$ihe-pix?sourceIdentifier=A-1')).status).toBe(400);
  });

  it('answers PDQm with the golden record of the enterprise id (most recent source wins per field)', async () => {
    const enterpriseId = (await linkOf(h1, 'A-1'))?.enterprise_id ?? '';
    const d = alice.demographics;
    const response = await http(
      `/Patient?family=${encodeURIComponent(d.family.toLowerCase())}&birthdate=${d.birthDate}&gender=${d.sex === 'M' ? 'male' : 'female'}`,
    );
    expect(response.status).toBe(200);
    expect(response.json).toMatchObject({ resourceType: 'Bundle', type: 'searchset', total: 1 });
    const entries = response.json['entry'] as { fullUrl: string; resource: Patient }[];
    expect(entries[0]?.fullUrl).toBe(`Patient/${enterpriseId}`);
    const golden = entries[0]?.resource;
    // B-1 (upper-case style) arrived last, so its name and address survive.
    expect(golden?.name).toEqual([{ use: 'official', family: d.family.toUpperCase(), given: [d.given.toUpperCase()] }]);
    expect(golden?.birthDate).toBe(d.birthDate);
    // Enterprise id first, then each source's id and identifiers once (the shared SSN is not repeated).
    expect(golden?.identifier).toEqual([
      { system: ENTERPRISE, value: enterpriseId, use: 'official' },
      { system: h2.system, value: 'B-1' },
      { system: SSN, value: d.nationalId, type: { coding: [{ code: 'SS' }] } },
      { system: h1.system, value: 'A-1' },
    ]);
    const byIdentifier = await http(`/Patient?identifier=${encodeURIComponent(`${h2.system}|B-1`)}`);
    expect((byIdentifier.json['entry'] as { fullUrl: string }[]).map((e) => e.fullUrl)).toEqual([`Patient/${enterpriseId}`]);
    // telecom (phones compared as national numbers, whatever the formatting) and address-postalcode (prefix).
    const national = d.phone.replace(/^\+1/, '');
    const byPhone = await http(`/Patient?telecom=${encodeURIComponent(`phone|(${national.slice(0, 3)}) ${national.slice(3, 6)}-${national.slice(6)}`)}&birthdate=${d.birthDate}`);
    expect(byPhone.json).toMatchObject({ total: 1, entry: [{ fullUrl: `Patient/${enterpriseId}` }] });
    const byPostal = await http(`/Patient?address-postalcode=${encodeURIComponent(d.address.postalCode.slice(0, 3))}&birthdate=${d.birthDate}`);
    expect((byPostal.json['entry'] as { fullUrl: string }[]).map((e) => e.fullUrl)).toContain(`Patient/${enterpriseId}`);
    const wrongPostal = await http(`/Patient?address-postalcode=${encodeURIComponent(`${d.address.postalCode}9`)}&birthdate=${d.birthDate}`);
    expect(wrongPostal.json).toMatchObject({ total: 0 });
    expect((await http('/Patient?telecom=fax%7C5550101')).status).toBe(400);
    const none = await http('/Patient?family=zzzzqqq');
    expect(none.json).toMatchObject({ total: 0, entry: [] });
    const invalid = await http('/Patient?birthdate=yesterday');
    expect(invalid.status).toBe(400);
    expect(invalid.json).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ expression: ['birthdate'] }] });
  });

  it('answers Patient/$match with graded golden records, best first', async () => {
    const enterpriseId = (await linkOf(h1, 'A-1'))?.enterprise_id ?? '';
    const probe = async (patient: Patient, extra: object[] = []) =>
      fetch(`${baseUrl}/Patient/$match`, {
        method: 'POST',
        headers: { 'content-type': 'application/fhir+json', ...(await authorization('/Patient/$match', 'service')) },
        body: JSON.stringify({ resourceType: 'Parameters', parameter: [{ name: 'resource', resource: patient }, ...extra] }),
      }).then(async (r) => ({ status: r.status, json: (await r.json()) as Record<string, unknown> }));
    const found = await probe(patientOf(alice, institution(), 'Q-1'));
    expect(found.status).toBe(200);
    expect(found.json).toMatchObject({ resourceType: 'Bundle', type: 'searchset' });
    const [top] = found.json['entry'] as { fullUrl: string; search: { score: number; extension: { valueCode: string }[] } }[];
    expect(top?.fullUrl).toBe(`Patient/${enterpriseId}`);
    expect(top?.search.extension[0]?.valueCode).toBe('certain');
    expect(top?.search.score).toBeGreaterThan(0.99);
    const stranger: Patient = {
      resourceType: 'Patient',
      name: [{ family: 'Quixotevandelaar', given: ['Zebulon'] }],
      birthDate: '1901-01-01',
      gender: 'male',
    };
    expect((await probe(stranger, [{ name: 'onlyCertainMatches', valueBoolean: true }])).json).toMatchObject({ total: 0, entry: [] });
    const bad = await fetch(`${baseUrl}/Patient/$match`, {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json', ...(await authorization('/Patient/$match', 'service')) },
      body: JSON.stringify({ resourceType: 'Patient' }),
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ resourceType: 'OperationOutcome' });
  });

  it('shows a source record’s link history and an enterprise id’s sources', async () => {
    const enterpriseId = (await linkOf(h1, 'A-1'))?.enterprise_id ?? '';
    const history = await http(`/mpi/links/history?system=${encodeURIComponent(h2.system)}&value=B-1`);
    expect(history.status).toBe(200);
    expect(history.json).toMatchObject({
      enterpriseId,
      events: [{ beforeEnterpriseId: null, afterEnterpriseId: enterpriseId, afterState: 'MATCH', origin: 'AUTO', ruleSetVersion: expect.any(String) as string }],
    });
    const view = await http(`/mpi/enterprise-ids/${enterpriseId}`);
    expect((view.json['sources'] as { value: string }[]).map((s) => s.value).sort()).toEqual(['A-1', 'B-1']);
    expect((await http('/mpi/enterprise-ids/00000000-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await http(`/mpi/links/history?system=${encodeURIComponent(h2.system)}&value=NOPE`)).status).toBe(404);
  });

  it('retires the prior record of an A40 merge and redirects it to the surviving record’s enterprise id', async () => {
    const carol = person();
    await producer.publish(PatientUpserted, upserted(h1, 'OLD-1', patientOf(carol, h1, 'OLD-1')));
    const prior = await waitForLink(h1, 'OLD-1');
    const merged = upserted(h1, 'NEW-1', patientOf(carol, h1, 'NEW-1'));
    await producer.publish(PatientMerged, {
      ...merged,
      data: {
        ...merged.data,
        priorPatientSystem: h1.system,
        priorLocalPatientId: 'OLD-1',
        priorPatient: { ...patientOf(carol, h1, 'OLD-1'), active: false },
      },
    });
    const surviving = await waitForLink(h1, 'NEW-1');
    const retired = await waitFor('the prior record to be retired', () => linkOf(h1, 'OLD-1'), (l) => l?.state === 'NO_MATCH');
    expect(retired?.enterprise_id).toBe(surviving.enterprise_id);
    expect(surviving.enterprise_id).toBe(prior.enterprise_id);
    const [event] = await links.waitFor(
      (r) => r.key === `${h1.system}|OLD-1` && parsed(r)['state'] === 'NO_MATCH' && ours(r, surviving.enterprise_id),
    );
    expect(parsed(event)['reason']).toContain('A40');
    // PIXm of the surviving id does not offer the retired one.
    const pix = await http(`/Patient/$ihe-pix?sourceIdentifier=${encodeURIComponent(`${h1.system}|NEW-1`)}`);
    expect(pix.json['parameter']).toEqual([{ name: 'targetIdentifier', valueIdentifier: { system: ENTERPRISE, value: surviving.enterprise_id } }]);
    // A late update of the retired id is kept as a version but does not undo the redirect.
    await producer.publish(PatientUpserted, upserted(h1, 'OLD-1', patientOf(carol, h1, 'OLD-1')));
    await waitFor('the late update to be stored', () => versionOf(h1, 'OLD-1'), (v) => v === 3);
    expect(await linkOf(h1, 'OLD-1')).toEqual({ enterprise_id: surviving.enterprise_id, state: 'NO_MATCH', origin: 'AUTO' });
  });
  async function reviewTasksOf(at: Institution, localId: string): Promise<{ kind: string; status: string; enterprise_ids: string[] }[]> {
    return dataSource.query(
      `SELECT t.kind, t.status, t.enterprise_ids FROM review_tasks t JOIN source_records sr ON sr.id = t.source_record_id
        WHERE sr.system = $1 AND sr.local_id = $2`,
      [at.system, localId],
    );
  }

  it('does not link a record to an enterprise id it claims when the demographics do not support it: review task', async () => {
    const enterpriseId = (await linkOf(h1, 'A-1'))?.enterprise_id ?? '';
    const h9 = institution();
    const sparse: Patient = {
      resourceType: 'Patient',
      identifier: [{ system: h9.system, value: 'S-1' }, { system: ENTERPRISE, value: enterpriseId }],
      name: [{ family: 'Sparse' }],
    };
    await producer.publish(PatientUpserted, upserted(h9, 'S-1', sparse));
    const link = await waitForLink(h9, 'S-1');
    expect(link.enterprise_id).not.toBe(enterpriseId);
    expect(link).toMatchObject({ state: 'MATCH', origin: 'AUTO' });
    expect(await reviewTasksOf(h9, 'S-1')).toEqual([{ kind: 'POSSIBLE_MATCH', status: 'OPEN', enterprise_ids: [enterpriseId] }]);
    const [event] = await links.waitFor((r) => r.key === `${h9.system}|S-1` && ours(r, link.enterprise_id));
    expect(parsed(event)['reason']).toContain('not supported by the demographics');
    // The claimed person is unchanged: its sources, and PIXm of one of them, do not include the record.
    const view = await http(`/mpi/enterprise-ids/${enterpriseId}`);
    expect((view.json['sources'] as { value: string }[]).map((s) => s.value).sort()).toEqual(['A-1', 'B-1']);
    const pix = await http(`/Patient/$ihe-pix?sourceIdentifier=${encodeURIComponent(`${h1.system}|A-1`)}`);
    expect(JSON.stringify(pix.json)).not.toContain(h9.system);
  });

  it('links to a claimed enterprise id when the demographics support it', async () => {
    const carl = person();
    const h10 = institution();
    const h11 = institution();
    await producer.publish(PatientUpserted, upserted(h10, 'C-1', patientOf(carl, h10, 'C-1')));
    const enterpriseId = (await waitForLink(h10, 'C-1')).enterprise_id;
    const claiming = patientOf(carl, h11, 'C-2', 'upper');
    claiming.identifier = [...(claiming.identifier ?? []), { system: ENTERPRISE, value: enterpriseId }];
    await producer.publish(PatientUpserted, upserted(h11, 'C-2', claiming));
    expect(await waitForLink(h11, 'C-2')).toEqual({ enterprise_id: enterpriseId, state: 'MATCH', origin: 'AUTO' });
    const [event] = await links.waitFor((r) => r.key === `${h11.system}|C-2` && ours(r, enterpriseId));
    expect(parsed(event)['reason']).toBe('enterprise id asserted by the source');
    expect(await reviewTasksOf(h11, 'C-2')).toEqual([]);
  });
});

describe('updates from HL7 v2: an absent field keeps, "" deletes', () => {
  /**
   * The Patient the gateway publishes for an HL7 v2 message, produced by the real v2-to-FHIR mapper
   * (so the test exercises the mapper's representation of `""` as well as the MPI's overlay).
   */
  function mapV2(at: Institution, messageType: string, segments: readonly string[]): MappingResult {
    const msh = `MSH|^~\\&|HIS|${at.id}|TESSERA|REGION|20261207090000+0000||${messageType}|${uniqueTestId('c')}|P|2.5.1`;
    const outcome = mapHl7Message(parseHl7([msh, ...segments].join('\r')), {
      institutionId: at.id,
      patientIdentifierSystems: { HOSP: at.system, SSA: SSN },
      defaultPatientSystem: at.system,
    });
    if (outcome.status !== 'mapped') throw new Error(`the test message did not map: ${JSON.stringify(outcome)}`);
    return outcome.result;
  }

  function fromV2(at: Institution, trigger: string, pid: string) {
    const result = mapV2(at, `ADT^${trigger}^ADT_A01`, [pid, 'PV1|1|O']);
    const event = upserted(at, result.localPatientId, result.patient);
    return { ...event, data: { ...event.data, channel: 'hl7v2' as const } };
  }

  async function storedPatient(at: Institution, localId: string): Promise<Patient> {
    const rows = await dataSource.query<{ patient: Patient }[]>(
      'SELECT patient FROM source_records WHERE system = $1 AND local_id = $2',
      [at.system, localId],
    );
    return rows[0]?.patient ?? { resourceType: 'Patient' };
  }

  async function versionsOf(at: Institution, localId: string): Promise<{ version: number; patient: Patient; phone: string | null }[]> {
    return dataSource.query(
      `SELECT v.version, v.patient, v.normalized->>'phone' AS phone FROM source_record_versions v
         JOIN source_records sr ON sr.id = v.source_record_id
        WHERE sr.system = $1 AND sr.local_id = $2 ORDER BY v.version`,
      [at.system, localId],
    );
  }

  async function goldenOf(at: Institution, localId: string): Promise<Patient | undefined> {
    const enterpriseId = (await waitForLink(at, localId)).enterprise_id;
    const response = await http(`/Patient?_id=${enterpriseId}`);
    return (response.json['entry'] as { resource: Patient }[] | undefined)?.[0]?.resource;
  }

  it('keeps phone, address and a second identifier an A08 does not send; deletes the phone an A08 sends as ""', async () => {
    const hx = institution();
    const d = person().demographics;
    const name = `${d.family}^${d.given}^^^^^L`;
    const born = d.birthDate.replace(/-/g, '');
    const sex = d.sex === 'M' ? 'M' : 'F';
    const address = `${d.address.line}^^${d.address.city}^^${d.address.postalCode}^USA^H`;
    const national = d.phone.replace(/^\+1/, '');

    await producer.publish(
      PatientUpserted,
      fromV2(hx, 'A04', `PID|1||U-1^^^HOSP^MR~${d.nationalId}^^^SSA^SS||${name}||${born}|${sex}|||${address}||${d.phone}^PRN^PH`),
    );
    await waitFor('version 1 of U-1', () => versionOf(hx, 'U-1'), (v) => v === 1, { timeoutMs: 60_000 });
    const original = await storedPatient(hx, 'U-1');
    expect(original.telecom).toEqual([{ system: 'phone', value: d.phone, use: 'home' }]);
    expect(original.address?.[0]?.postalCode).toBe(d.address.postalCode);

    // ADT^A08 with a thin PID: no PID-11, no PID-13, only the MR identifier, a new name.
    await producer.publish(PatientUpserted, fromV2(hx, 'A08', `PID|1||U-1^^^HOSP^MR||${d.family}^${d.given}^Quill^^^^L||${born}|${sex}`));
    await waitFor('version 2 of U-1', () => versionOf(hx, 'U-1'), (v) => v === 2, { timeoutMs: 60_000 });
    const afterThin = await storedPatient(hx, 'U-1');
    expect(afterThin.telecom).toEqual(original.telecom);
    expect(afterThin.address).toEqual(original.address);
    expect(afterThin.identifier?.map((i) => i.system)).toEqual([hx.system, SSN]);
    expect(afterThin.name).toEqual([{ use: 'official', family: d.family, given: [d.given, 'Quill'] }]);
    expect(afterThin.birthDate).toBe(d.birthDate);
    // Matching and PDQm use the merged version: the phone is still searchable, the golden record has it.
    const byPhone = await http(`/Patient?telecom=${encodeURIComponent(`phone|${national}`)}&birthdate=${d.birthDate}`);
    expect(byPhone.json).toMatchObject({ total: 1 });
    const golden = await goldenOf(hx, 'U-1');
    expect(golden?.telecom).toEqual([{ system: 'phone', value: d.phone, use: 'home' }]);
    expect(golden?.address?.[0]?.postalCode).toBe(d.address.postalCode);
    expect(golden?.identifier?.some((i) => i.system === SSN && i.value === d.nationalId)).toBe(true);

    // ADT^A08 with PID-13 "" (delete the home phone): the phone goes, the address stays.
    await producer.publish(PatientUpserted, fromV2(hx, 'A08', `PID|1||U-1^^^HOSP^MR||${name}||${born}|${sex}|||||""`));
    await waitFor('version 3 of U-1', () => versionOf(hx, 'U-1'), (v) => v === 3, { timeoutMs: 60_000 });
    const afterClear = await storedPatient(hx, 'U-1');
    expect(afterClear.telecom).toBeUndefined();
    expect(afterClear.address?.[0]?.postalCode).toBe(d.address.postalCode);
    expect(afterClear.name).toEqual([{ use: 'official', family: d.family, given: [d.given] }]);
    // The stored record is the result, not the message: no list of cleared elements is kept.
    expect(afterClear.extension).toBeUndefined();
    const cleared = await http(`/Patient?telecom=${encodeURIComponent(`phone|${national}`)}&birthdate=${d.birthDate}`);
    expect(cleared.json).toMatchObject({ total: 0 });
    expect((await goldenOf(hx, 'U-1'))?.telecom).toBeUndefined();

    // Each version is the merged record at that time (history), with the normalized phone matching used.
    const versions = await versionsOf(hx, 'U-1');
    expect(versions.map((v) => v.version)).toEqual([1, 2, 3]);
    expect(versions.map((v) => v.patient.telecom?.length ?? 0)).toEqual([1, 1, 0]);
    expect(versions.map((v) => v.phone === null)).toEqual([false, false, true]);
  });

  it('replaces the whole record on a FHIR update (FHIR update semantics)', async () => {
    const hx = institution();
    const p = person();
    await producer.publish(PatientUpserted, upserted(hx, 'F-1', patientOf(p, hx, 'F-1')));
    await waitFor('version 1 of F-1', () => versionOf(hx, 'F-1'), (v) => v === 1, { timeoutMs: 60_000 });
    const { telecom: _telecom, address: _address, ...thin } = patientOf(p, hx, 'F-1');
    await producer.publish(PatientUpserted, upserted(hx, 'F-1', thin));
    await waitFor('version 2 of F-1', () => versionOf(hx, 'F-1'), (v) => v === 2, { timeoutMs: 60_000 });
    const stored = await storedPatient(hx, 'F-1');
    expect(stored.telecom).toBeUndefined();
    expect(stored.address).toBeUndefined();
  });

  it('overlays the surviving record of an A40 with a thin PID; the prior record is retired as before', async () => {
    const hx = institution();
    const d = person().demographics;
    const demographics = `${d.family}^${d.given}^^^^^L||${d.birthDate.replace(/-/g, '')}|${d.sex === 'M' ? 'M' : 'F'}`;
    const full = `|||${d.address.line}^^${d.address.city}^^${d.address.postalCode}^USA^H||${d.phone}^PRN^PH`;
    await producer.publish(PatientUpserted, fromV2(hx, 'A04', `PID|1||OLD-2^^^HOSP^MR~${d.nationalId}^^^SSA^SS||${demographics}${full}`));
    const prior = await waitForLink(hx, 'OLD-2');
    await producer.publish(PatientUpserted, fromV2(hx, 'A04', `PID|1||NEW-2^^^HOSP^MR~${d.nationalId}^^^SSA^SS||${demographics}${full}`));
    await waitForLink(hx, 'NEW-2');
    const before = await storedPatient(hx, 'NEW-2');

    const a40 = mapV2(hx, 'ADT^A40^ADT_A39', [`PID|1||NEW-2^^^HOSP^MR||${demographics}`, 'MRG|OLD-2^^^HOSP^MR']);
    const merge = a40.merge!;
    const event = upserted(hx, a40.localPatientId, a40.patient);
    await producer.publish(PatientMerged, {
      ...event,
      data: {
        ...event.data,
        channel: 'hl7v2' as const,
        priorPatientSystem: merge.prior.system,
        priorLocalPatientId: merge.prior.value,
        priorPatient: merge.priorPatient,
      },
    });
    const retired = await waitFor('the prior record to be retired', () => linkOf(hx, 'OLD-2'), (l) => l?.state === 'NO_MATCH');
    const surviving = await waitForLink(hx, 'NEW-2');
    expect(retired?.enterprise_id).toBe(surviving.enterprise_id);
    expect(surviving.enterprise_id).toBe(prior.enterprise_id);
    expect(await versionOf(hx, 'NEW-2')).toBe(2);
    const survivor = await storedPatient(hx, 'NEW-2');
    expect(survivor.telecom).toEqual(before.telecom);
    expect(survivor.address).toEqual(before.address);
    expect(survivor.identifier).toEqual(before.identifier);
    expect(survivor.link).toEqual([{ other: { reference: `Patient/${merge.priorPatientId}` }, type: 'replaces' }]);
    // The prior record is stored as the A40 describes it (inactive, replaced-by), as before.
    expect(await versionOf(hx, 'OLD-2')).toBe(2);
    expect(await storedPatient(hx, 'OLD-2')).toEqual(JSON.parse(JSON.stringify(merge.priorPatient)));
  });
});

describe('operator decisions', () => {
  const h5 = institution();
  const h6 = institution();

  it('unlinks with optimistic locking; the MANUAL decision survives re-matching; linking back restores one id', async () => {
    const erin = person();
    await producer.publish(PatientUpserted, upserted(h5, 'E-1', patientOf(erin, h5, 'E-1')));
    const first = await waitForLink(h5, 'E-1');
    await producer.publish(PatientUpserted, upserted(h6, 'E-2', patientOf(erin, h6, 'E-2', 'upper')));
    expect((await waitForLink(h6, 'E-2')).enterprise_id).toBe(first.enterprise_id);
    const history = await http(`/mpi/links/history?system=${encodeURIComponent(h6.system)}&value=E-2`);
    const version = history.json['linkVersion'] as number;
    const source = { system: h6.system, value: 'E-2' };

    const anonymous = await http('/mpi/links/unlink', { method: 'POST', as: 'none', body: { source, expectedVersion: version, reason: 'x' } });
    expect(anonymous.status).toBe(401);
    const unlinked = await http('/mpi/links/unlink', {
      method: 'POST',
      operator: 'reviewer-1',
      body: { source, expectedVersion: version, reason: 'different person per chart review' },
    });
    expect(unlinked.status).toBe(200);
    expect(unlinked.json).toMatchObject({ state: 'MATCH', origin: 'MANUAL', version: version + 1 });
    const manualId = unlinked.json['enterpriseId'] as string;
    expect(manualId).not.toBe(first.enterprise_id);
    const stale = await http('/mpi/links/unlink', {
      method: 'POST',
      operator: 'reviewer-2',
      body: { source, expectedVersion: version, reason: 'concurrent reviewer' },
    });
    expect(stale.status).toBe(409);
    expect(stale.json).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'conflict' }] });
    const [event] = await links.waitFor((r) => r.key === `${h6.system}|E-2` && ours(r, manualId));
    expect(parsed(event)).toMatchObject({ enterpriseId: manualId, previousEnterpriseId: first.enterprise_id, reason: 'different person per chart review' });

    // An update of the record (A08) is re-matched, but the engine never moves a MANUAL link.
    await producer.publish(PatientUpserted, upserted(h6, 'E-2', patientOf(erin, h6, 'E-2')));
    await waitFor('the update to be applied', () => versionOf(h6, 'E-2'), (v) => v === 2);
    expect(await linkOf(h6, 'E-2')).toEqual({ enterprise_id: manualId, state: 'MATCH', origin: 'MANUAL' });
    const pix = await http(`/Patient/$ihe-pix?sourceIdentifier=${encodeURIComponent(`${h5.system}|E-1`)}`);
    expect(pix.json['parameter']).toEqual([{ name: 'targetIdentifier', valueIdentifier: { system: ENTERPRISE, value: first.enterprise_id } }]);

    const relinked = await http('/mpi/links/link', {
      method: 'POST',
      operator: 'reviewer-1',
      body: { source, enterpriseId: first.enterprise_id, expectedVersion: version + 1, reason: 'same person after all' },
    });
    expect(relinked.status).toBe(200);
    expect(await linkOf(h6, 'E-2')).toEqual({ enterprise_id: first.enterprise_id, state: 'MATCH', origin: 'MANUAL' });
    const events = (await http(`/mpi/links/history?system=${encodeURIComponent(h6.system)}&value=E-2`)).json['events'] as {
      afterEnterpriseId: string;
      origin: string;
    }[];
    expect(events.map((e) => [e.afterEnterpriseId, e.origin])).toEqual([
      [first.enterprise_id, 'AUTO'],
      [manualId, 'MANUAL'],
      [first.enterprise_id, 'MANUAL'],
    ]);
  });

  it('respects "not the same person": an update moves the record away from the other one', async () => {
    const fay = person();
    await producer.publish(PatientUpserted, upserted(h5, 'F-1', patientOf(fay, h5, 'F-1')));
    const first = await waitForLink(h5, 'F-1');
    await producer.publish(PatientUpserted, upserted(h6, 'F-2', patientOf(fay, h6, 'F-2')));
    expect((await waitForLink(h6, 'F-2')).enterprise_id).toBe(first.enterprise_id);
    const marked = await http('/mpi/not-same-person', {
      method: 'POST',
      operator: 'reviewer-1',
      body: { a: { system: h5.system, value: 'F-1' }, b: { system: h6.system, value: 'F-2' }, reason: 'twins' },
    });
    expect(marked.status).toBe(204);
    await producer.publish(PatientUpserted, upserted(h6, 'F-2', patientOf(fay, h6, 'F-2')));
    await waitFor('the update to be applied', () => versionOf(h6, 'F-2'), (v) => v === 2);
    const moved = await linkOf(h6, 'F-2');
    expect(moved?.origin).toBe('AUTO');
    expect(moved?.enterprise_id).not.toBe(first.enterprise_id);
    expect((await linkOf(h5, 'F-1'))?.enterprise_id).toBe(first.enterprise_id);
  });

  it('never auto-links placeholder identities: a second "Baby Boy" gets its own id and a review task in the queue', async () => {
    const baby = person();
    const placeholder = (at: Institution, localId: string): Patient => ({
      ...patientOf(baby, at, localId),
      name: [{ use: 'official', family: baby.demographics.family, given: ['Baby Boy'] }],
    });
    await producer.publish(PatientUpserted, upserted(h5, 'G-1', placeholder(h5, 'G-1')));
    const first = await waitForLink(h5, 'G-1');
    await producer.publish(PatientUpserted, upserted(h6, 'G-2', placeholder(h6, 'G-2')));
    const second = await waitForLink(h6, 'G-2');
    expect(second.enterprise_id).not.toBe(first.enterprise_id);
    const response = await http('/mpi/review-tasks?status=OPEN&limit=500');
    expect(response.status).toBe(200);
    const items = response.json['items'] as { kind: string; system: string; value: string; enterpriseIds: string[]; bestScore: number }[];
    expect(items.find((t) => t.system === h6.system && t.value === 'G-2')).toMatchObject({
      kind: 'POSSIBLE_MATCH',
      enterpriseIds: [first.enterprise_id],
    });
    const scores = items.map((t) => t.bestScore);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    expect((await http('/mpi/review-tasks?status=BOGUS')).status).toBe(400);

    // A reviewer decides the task: link G-2 to G-1's enterprise id (MANUAL); a second, stale decision is refused.
    const task = (response.json['items'] as { id: string; system: string; value: string; version: number }[]).find(
      (t) => t.system === h6.system && t.value === 'G-2',
    );
    // The task view: both records side by side, field by field, with the comparison level and weight.
    const detail = await http(`/mpi/review-tasks/${task?.id ?? ''}`);
    expect(detail.status).toBe(200);
    expect(detail.json).toMatchObject({
      id: task?.id,
      kind: 'POSSIBLE_MATCH',
      status: 'OPEN',
      version: task?.version,
      record: { system: h6.system, value: 'G-2', enterpriseId: second.enterprise_id },
    });
    const [candidate] = detail.json['candidates'] as {
      candidate: { system: string; value: string; enterpriseId: string };
      atTask: { score: number };
      now: { score: number; decision: string };
      fields: { field: string; record: string | null; candidate: string | null; level: string | null; weight: number }[];
    }[];
    expect(candidate?.candidate).toMatchObject({ system: h5.system, value: 'G-1', enterpriseId: first.enterprise_id });
    expect(candidate?.now.decision).toBe('POSSIBLE_MATCH');
    expect(candidate?.now.score).toBeCloseTo(candidate?.atTask.score ?? 0, 6);
    const family = candidate?.fields.find((f) => f.field === 'family');
    expect(family).toMatchObject({ record: baby.demographics.family, candidate: baby.demographics.family, level: 'exact' });
    expect(family?.weight).toBeGreaterThan(0);
    expect(candidate?.fields.find((f) => f.field === 'given')).toMatchObject({ record: 'Baby Boy', candidate: 'Baby Boy' });
    expect(candidate?.fields.find((f) => f.field === 'birthDate')).toMatchObject({ record: baby.demographics.birthDate, level: 'exact' });
    expect((await http('/mpi/review-tasks/00000000-0000-4000-8000-000000000000')).status).toBe(404);

    const decide = (body: object) =>
      http(`/mpi/review-tasks/${task?.id ?? ''}/decision`, { method: 'POST', operator: 'reviewer-3', body });
    const wrongId = await decide({ decision: 'link', enterpriseId: second.enterprise_id, expectedVersion: task?.version, reason: 'x' });
    expect(wrongId.status).toBe(400);
    const decided = await decide({ decision: 'link', enterpriseId: first.enterprise_id, expectedVersion: task?.version, reason: 'same newborn, chart checked' });
    expect(decided.status).toBe(200);
    expect(await linkOf(h6, 'G-2')).toEqual({ enterprise_id: first.enterprise_id, state: 'MATCH', origin: 'MANUAL' });
    const again = await decide({ decision: 'separate', expectedVersion: task?.version, reason: 'second reviewer' });
    expect(again.status).toBe(409);
    const open = (await http('/mpi/review-tasks?status=OPEN&limit=500')).json['items'] as { id: string }[];
    expect(open.map((t) => t.id)).not.toContain(task?.id);
  });
});

describe('concurrency', () => {
  it('two records of one new person arriving at once on different partitions end up in one enterprise id, never two silent ids', async () => {
    const h3 = institution();
    const h4 = institution();
    const partitionOf = Partitioners.DefaultPartitioner();
    const metadata = Array.from({ length: partitions }, (_, partitionId) => ({ partitionId, leader: 0, partitionErrorCode: 0, replicas: [0], isr: [0] }));
    const onPartition = (key: string): number => partitionOf({ topic: Topics.patient, partitionMetadata: metadata, message: { key, value: null } });
    // Three new persons, each sent by two institutions in one batch; local ids chosen so that each
    // person's two keys land on different partitions (consumed in parallel: partitionsConsumedConcurrently).
    const pairs = [person(), person(), person()].map((p, n) => {
      const first = `C-${n}`;
      let second = `D-${n}`;
      for (let i = 0; partitions > 1 && onPartition(`${h4.id}|${second}`) === onPartition(`${h3.id}|${first}`); i++) second = `D-${n}-${i}`;
      return { p, first, second };
    });
    if (partitions > 1) {
      for (const { first, second } of pairs) expect(onPartition(`${h4.id}|${second}`)).not.toBe(onPartition(`${h3.id}|${first}`));
    }
    await producer.publishBatch(
      PatientUpserted,
      pairs.flatMap(({ p, first, second }) => [
        upserted(h3, first, patientOf(p, h3, first)),
        upserted(h4, second, patientOf(p, h4, second, 'upper')),
      ]),
    );
    for (const { first, second } of pairs) {
      const a = await waitForLink(h3, first);
      const b = await waitForLink(h4, second);
      // With the advisory locks the second decision sees the first: one enterprise id, no task needed.
      expect(b.enterprise_id).toBe(a.enterprise_id);
    }
    const tasks = await dataSource.query<{ kind: string }[]>(
      `SELECT kind FROM review_tasks t JOIN source_records sr ON sr.id = t.source_record_id WHERE sr.system IN ($1, $2)`,
      [h3.system, h4.system],
    );
    expect(tasks).toEqual([]);
  });
});

describe('enterprise id merge and unmerge', () => {
  const h7 = institution();
  const h8 = institution();

  interface FullLink {
    readonly local_id: string;
    readonly enterprise_id: string;
    readonly state: string;
    readonly origin: string;
    readonly score: number | null;
    readonly rule_set_version: string;
    readonly comparisons: unknown;
  }
  const fullLinks = (): Promise<FullLink[]> =>
    dataSource.query<FullLink[]>(
      `SELECT sr.local_id, l.enterprise_id, l.state, l.origin, l.score, l.rule_set_version, l.comparisons
         FROM links l JOIN source_records sr ON sr.id = l.source_record_id WHERE sr.system IN ($1, $2) ORDER BY sr.local_id`,
      [h7.system, h8.system],
    );
  const historyOf = async (at: Institution, localId: string) =>
    (await http(`/mpi/links/history?system=${encodeURIComponent(at.system)}&value=${localId}`)).json['events'] as Record<string, unknown>[];

  it('merges two enterprise ids (MANUAL links, events, optimistic locking) and unmerges back to exactly the previous state', async () => {
    const [p, q] = [person(), person()];
    await producer.publish(PatientUpserted, upserted(h7, 'M-1', patientOf(p, h7, 'M-1')));
    await producer.publish(PatientUpserted, upserted(h7, 'M-2', patientOf(q, h7, 'M-2')));
    const survivingId = (await waitForLink(h7, 'M-1')).enterprise_id;
    const mergedId = (await waitForLink(h7, 'M-2')).enterprise_id;
    await producer.publish(PatientUpserted, upserted(h8, 'M-3', patientOf(q, h8, 'M-3', 'upper')));
    expect((await waitForLink(h8, 'M-3')).enterprise_id).toBe(mergedId);
    expect(survivingId).not.toBe(mergedId);

    const before = await fullLinks();
    const historyBefore = { m2: await historyOf(h7, 'M-2'), m3: await historyOf(h8, 'M-3') };
    const survivingView = await http(`/mpi/enterprise-ids/${survivingId}`);
    const mergedView = await http(`/mpi/enterprise-ids/${mergedId}`);
    const expectedVersions = { surviving: survivingView.json['version'] as number, merged: mergedView.json['version'] as number };
    expect(mergedView.json['mergedInto']).toBeNull();
    const body = { survivingEnterpriseId: survivingId, mergedEnterpriseId: mergedId, expectedVersions, reason: 'same person per chart' };

    expect((await http('/mpi/merges', { method: 'POST', as: 'none', body })).status).toBe(401);
    // The exchange's service token is not an operator: 403.
    expect((await http('/mpi/merges', { method: 'POST', as: 'service', body })).status).toBe(403);
    const stale = await http('/mpi/merges', {
      method: 'POST',
      operator: 'reviewer-7',
      body: { ...body, expectedVersions: { ...expectedVersions, merged: expectedVersions.merged - 1 } },
    });
    expect(stale.status).toBe(409);
    expect(stale.json).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'conflict' }] });

    const merged = await http('/mpi/merges', { method: 'POST', operator: 'reviewer-7', body });
    expect(merged.status).toBe(201);
    expect(merged.json).toMatchObject({ status: 'MERGED', version: 1, decidedBy: 'reviewer-7', reason: 'same person per chart' });
    const mergeId = merged.json['id'] as string;
    expect((merged.json['decisions'] as unknown[]).length).toBe(2);
    const afterMerge = await fullLinks();
    expect(afterMerge.map((l) => [l.local_id, l.enterprise_id, l.origin])).toEqual([
      ['M-1', survivingId, 'AUTO'],
      ['M-2', survivingId, 'MANUAL'],
      ['M-3', survivingId, 'MANUAL'],
    ]);
    for (const [at, localId] of [[h7, 'M-2'], [h8, 'M-3']] as const) {
      const [event] = await links.waitFor((r) => r.key === `${at.system}|${localId}` && ours(r, survivingId));
      expect(parsed(event)).toMatchObject({ previousEnterpriseId: mergedId, origin: 'MANUAL', state: 'MATCH' });
      expect(parsed(event)['reason']).toContain(mergeId);
    }
    expect((await http(`/mpi/enterprise-ids/${mergedId}`)).json['mergedInto']).toBe(survivingId);
    const pix = await http(`/Patient/$ihe-pix?sourceIdentifier=${encodeURIComponent(`${h7.system}|M-1`)}&targetSystem=${encodeURIComponent(h8.system)}`);
    expect(pix.json['parameter']).toEqual([{ name: 'targetIdentifier', valueIdentifier: { system: h8.system, value: 'M-3' } }]);
    // A second merge of the same ids is refused: the merged id now points at the survivor.
    expect((await http('/mpi/merges', { method: 'POST', operator: 'reviewer-8', body })).status).toBe(409);

    // Re-matching an update (A08) of a merged-in record never moves its MANUAL link.
    await producer.publish(PatientUpserted, upserted(h8, 'M-3', patientOf(q, h8, 'M-3')));
    await waitFor('the update to be applied', () => versionOf(h8, 'M-3'), (v) => v === 2);
    expect(await linkOf(h8, 'M-3')).toEqual({ enterprise_id: survivingId, state: 'MATCH', origin: 'MANUAL' });

    const staleUnmerge = await http(`/mpi/merges/${mergeId}/unmerge`, { method: 'POST', operator: 'reviewer-9', body: { expectedVersion: 2, reason: 'x' } });
    expect(staleUnmerge.status).toBe(409);
    const unmerged = await http(`/mpi/merges/${mergeId}/unmerge`, {
      method: 'POST',
      operator: 'reviewer-9',
      body: { expectedVersion: 1, reason: 'different people after all' },
    });
    expect(unmerged.status).toBe(200);
    expect(unmerged.json).toMatchObject({
      status: 'UNMERGED',
      version: 2,
      unmerge: { by: 'reviewer-9', reason: 'different people after all' },
      keptByLaterDecision: [],
    });
    // Links exactly as before the merge (enterprise id, state, origin, score, rule set, comparisons).
    expect(await fullLinks()).toEqual(before);
    // History: the earlier decisions unchanged, then the merge, then the unmerge restoring the previous decision.
    for (const [key, at, localId] of [['m2', h7, 'M-2'], ['m3', h8, 'M-3']] as const) {
      const events = await historyOf(at, localId);
      expect(events.slice(0, -2)).toEqual(historyBefore[key]);
      const previous = historyBefore[key].at(-1) ?? {};
      expect(events.at(-2)).toMatchObject({ beforeEnterpriseId: mergedId, afterEnterpriseId: survivingId, origin: 'MANUAL' });
      expect(events.at(-1)).toMatchObject({
        beforeEnterpriseId: survivingId,
        afterEnterpriseId: mergedId,
        afterState: previous['afterState'],
        origin: previous['origin'],
        score: previous['score'],
        comparisons: previous['comparisons'],
      });
      const [event] = await links.waitFor(
        (r) => r.key === `${at.system}|${localId}` && ours(r, mergedId) && String(parsed(r)['reason']).includes('unmerge'),
      );
      expect(parsed(event)).toMatchObject({ previousEnterpriseId: survivingId, enterpriseId: mergedId });
    }
    expect((await http(`/mpi/enterprise-ids/${mergedId}`)).json['mergedInto']).toBeNull();
    expect((await http(`/mpi/merges/${mergeId}`)).json).toMatchObject({ status: 'UNMERGED', version: 2 });
    const again = await http(`/mpi/merges/${mergeId}/unmerge`, { method: 'POST', operator: 'reviewer-9', body: { expectedVersion: 2, reason: 'x' } });
    expect(again.status).toBe(409);
  });
});

describe('re-matching after a rule change', () => {
  const h10 = institution();
  const h11 = institution();

  it('dry-runs in the background with progress and a paged report, then applies it (MANUAL links and "not the same person" respected)', async () => {
    const [r, t, u] = [person(), person(), person()];
    // R: one person at two institutions, linked; then an operator says they are not the same person.
    await producer.publish(PatientUpserted, upserted(h10, 'R-1', patientOf(r, h10, 'R-1')));
    const rEnterprise = (await waitForLink(h10, 'R-1')).enterprise_id;
    await producer.publish(PatientUpserted, upserted(h11, 'R-2', patientOf(r, h11, 'R-2')));
    expect((await waitForLink(h11, 'R-2')).enterprise_id).toBe(rEnterprise);
    const marked = await http('/mpi/not-same-person', {
      method: 'POST',
      operator: 'reviewer-10',
      body: { a: { system: h10.system, value: 'R-1' }, b: { system: h11.system, value: 'R-2' }, reason: 'twins' },
    });
    expect(marked.status).toBe(204);
    // T / U: two different persons an operator put in one enterprise id (MANUAL link of U-2 to T-1's id).
    await producer.publish(PatientUpserted, upserted(h10, 'T-1', patientOf(t, h10, 'T-1')));
    const tEnterprise = (await waitForLink(h10, 'T-1')).enterprise_id;
    await producer.publish(PatientUpserted, upserted(h11, 'U-2', patientOf(u, h11, 'U-2')));
    await waitForLink(h11, 'U-2');
    const uVersion = (await http(`/mpi/links/history?system=${encodeURIComponent(h11.system)}&value=U-2`)).json['linkVersion'] as number;
    const manual = await http('/mpi/links/link', {
      method: 'POST',
      operator: 'reviewer-10',
      body: { source: { system: h11.system, value: 'U-2' }, enterpriseId: tEnterprise, expectedVersion: uVersion, reason: 'chart review' },
    });
    expect(manual.status).toBe(200);
    const linksBefore = { r1: await linkOf(h10, 'R-1'), r2: await linkOf(h11, 'R-2'), t1: await linkOf(h10, 'T-1'), u2: await linkOf(h11, 'U-2') };

    expect((await http('/mpi/rematch-jobs', { method: 'POST', operator: 'ops-1', body: { scope: 'all', ruleSetVersion: 'v0', reason: 'x' } })).status).toBe(400);
    expect((await http('/mpi/rematch-jobs', { method: 'POST', as: 'none', body: { scope: 'all', reason: 'x' } })).status).toBe(401);
    for (const scope of [{ institution: h11.id }, { institution: h10.id }]) {
      const started = await http('/mpi/rematch-jobs', { method: 'POST', operator: 'ops-1', body: { scope, dryRun: true, reason: 'rule set v1 review' } });
      expect(started.status).toBe(202);
      expect(started.json).toMatchObject({ dryRun: true, ruleSetVersion: 'v2', scope, requestedBy: 'ops-1', phase: 'dry-run' });
      const jobId = started.json['id'] as string;
      const done = await waitFor('the dry run', async () => (await http(`/mpi/rematch-jobs/${jobId}`)).json, (j) => j['status'] === 'DONE' || j['status'] === 'FAILED');
      // Scope: the institution's two records (R-x and T-1 / U-2); the only change is its R record leaving R's id.
      expect(done).toMatchObject({
        status: 'DONE',
        version: 2,
        progress: { processed: 2, total: 2, percent: 100, etaSeconds: null },
        report: { recordsEvaluated: 2, wouldChange: 1, toNewEnterpriseId: 1, toExistingEnterpriseId: 0, stateOnly: 0 },
        apply: null,
      });
      const report = await http(`/mpi/rematch-jobs/${jobId}/changes?_count=10`);
      const expectedValue = scope.institution === h10.id ? 'R-1' : 'R-2';
      const expectedSystem = scope.institution === h10.id ? h10.system : h11.system;
      expect(report.json).toMatchObject({
        total: 1,
        items: [{ seq: 1, system: expectedSystem, value: expectedValue, beforeEnterpriseId: rEnterprise, action: 'new', afterEnterpriseId: null, outcome: null }],
      });
      // The dry run wrote nothing.
      expect({ r1: await linkOf(h10, 'R-1'), r2: await linkOf(h11, 'R-2'), t1: await linkOf(h10, 'T-1'), u2: await linkOf(h11, 'U-2') }).toEqual(linksBefore);
      if (scope.institution === h11.id) continue;

      const stale = await http(`/mpi/rematch-jobs/${jobId}/apply`, { method: 'POST', operator: 'ops-2', body: { expectedVersion: 1, reason: 'go' } });
      expect(stale.status).toBe(409);
      const apply = await http(`/mpi/rematch-jobs/${jobId}/apply`, { method: 'POST', operator: 'ops-2', body: { expectedVersion: 2, reason: 'go' } });
      expect(apply.status).toBe(202);
      const applied = await waitFor('the apply', async () => (await http(`/mpi/rematch-jobs/${jobId}`)).json, (j) => j['status'] === 'APPLIED' || j['status'] === 'FAILED');
      expect(applied).toMatchObject({ phase: 'apply', progress: { processed: 1, total: 1, percent: 100 }, apply: { by: 'ops-2', applied: 1 } });
      expect((await http(`/mpi/rematch-jobs/${jobId}/changes`)).json).toMatchObject({ items: [{ value: 'R-1', outcome: 'APPLIED' }] });
      const moved = await linkOf(h10, 'R-1');
      expect(moved?.origin).toBe('AUTO');
      expect(moved?.enterprise_id).not.toBe(rEnterprise);
      const [event] = await links.waitFor((rec) => rec.key === `${h10.system}|R-1` && ours(rec, moved?.enterprise_id ?? ''));
      expect(parsed(event)).toMatchObject({ previousEnterpriseId: rEnterprise, origin: 'AUTO' });
      expect(parsed(event)['reason']).toContain(`rule-set re-match (job ${jobId})`);
      // MANUAL link and the membership it asserts untouched; applying twice is refused.
      expect(await linkOf(h11, 'U-2')).toEqual(linksBefore.u2);
      expect(await linkOf(h10, 'T-1')).toEqual(linksBefore.t1);
      expect((await http(`/mpi/rematch-jobs/${jobId}/apply`, { method: 'POST', operator: 'ops-2', body: { expectedVersion: 3, reason: 'again' } })).status).toBe(409);
    }
    // After the apply, the other institution's dry run finds nothing left to change.
    const after = await http('/mpi/rematch-jobs', { method: 'POST', operator: 'ops-1', body: { scope: { institution: h11.id }, reason: 'check' } });
    const final = await waitFor('the last dry run', async () => (await http(`/mpi/rematch-jobs/${after.json['id'] as string}`)).json, (j) => j['status'] === 'DONE' || j['status'] === 'FAILED');
    expect(final).toMatchObject({ report: { recordsEvaluated: 2, wouldChange: 0 } });
    expect((await http('/mpi/rematch-jobs/00000000-0000-4000-8000-000000000000')).status).toBe(404);
  });
});

describe('access (tokens of the exchange issuer)', () => {
  it('serves PIXm/PDQm/$match to the exchange service token only, and operator routes to mpi.review operators only', async () => {
    const pix = `/Patient/$ihe-pix?sourceIdentifier=${encodeURIComponent('urn:oid:1.2.3|NOBODY')}`;
    expect((await http(pix, { as: 'none' })).status).toBe(401);
    // The internal-audience service token passes the guard (404: unknown source).
    expect((await http(pix, { as: 'service' })).status).toBe(404);
    expect((await http('/Patient?family=zzzzqqq', { as: 'service' })).status).toBe(200);
    // An operator (even with mpi.review) does not query the FHIR routes directly.
    expect((await http(pix, { as: { operator: 'reviewer-x' } })).status).toBe(403);
    // An institution token is for the exchange (audience tessera:exchange): refused here.
    const institutionToken = await issuer.mint({ kind: 'institution', clientId: 'hospital-1', institutionId: 'H1', scopes: ['system/Patient.read'] });
    const asInstitution = await http('/Patient?family=zzzzqqq', { as: { token: institutionToken } });
    expect(asInstitution.status).toBe(401);
    expect(asInstitution.json).toMatchObject({ resourceType: 'OperationOutcome' });
    // A service token signed by a key the issuer does not publish is forged.
    expect((await http(pix, { as: { token: await issuer.mintWithForeignKey({ kind: 'service', clientId: 'exchange' }) } })).status).toBe(401);
    // Operator routes: an operator without mpi.review, the service token and an institution are refused.
    const analyst = await issuer.mint({ kind: 'operator', clientId: 'analyst-1', roles: ['ledger.read'] });
    expect((await http('/mpi/review-tasks', { as: { token: analyst } })).status).toBe(403);
    expect((await http('/mpi/review-tasks', { as: 'service' })).status).toBe(403);
    expect((await http('/mpi/review-tasks', { as: { token: institutionToken } })).status).toBe(401);
    expect((await http('/mpi/review-tasks', { as: { operator: 'reviewer-x' } })).status).toBe(200);
  });
});
