// Migration 1765100000000 on a registry indexed before it (real Postgres): reports get the Observation
// ids of their `result` and the labels of those observations, as the indexer now gives them.
import { Client } from 'pg';
import { loadConfig, postgresConfig } from '@tessera/platform-config';
import { migrate } from '@tessera/platform-persistence';
import type { PostgresSettings } from '@tessera/platform-persistence';
import { dropTestDatabase, testClientConfig, uniqueTestId } from '@tessera/testing';
import { migrations } from './index';

const DATABASE = `tessera_registry_test_${uniqueTestId('mig')}`;
const ACT_CODE = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
const CONFIDENTIALITY = 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality';

let settings: PostgresSettings;
let client: Client;

async function insertResult(
  id: string,
  institutionId: string,
  resource: Record<string, unknown>,
  labels: readonly { system: string; code: string }[],
): Promise<void> {
  await client.query(
    `INSERT INTO results (id, institution_id, patient_system, local_patient_id, status, is_current,
       security_labels, label_codes, source_message_id, mapper_version, channel, event_id, resource, resource_type)
     VALUES ($1, $2, 'urn:oid:2.999.1', 'MRN-1', 'final', true, $3, $4, 'msg-1', '1.0.0', 'hl7v2', 'evt-1', $5, $6)`,
    [
      id,
      institutionId,
      JSON.stringify(labels),
      [...new Set(labels.map((l) => l.code))].sort(),
      JSON.stringify({ id, ...resource }),
      resource['resourceType'],
    ],
  );
}

async function row(id: string) {
  const rows = await client.query<{
    result_ids: string[];
    security_labels: unknown[];
    label_codes: string[];
  }>('SELECT result_ids, security_labels, label_codes FROM results WHERE id = $1', [id]);
  return rows.rows[0];
}

beforeAll(async () => {
  settings = loadConfig(postgresConfig);
  // The registry as it was before the migration.
  await migrate({ settings, database: DATABASE, migrations: migrations.slice(0, -1) });
  client = new Client(testClientConfig(DATABASE, settings));
  await client.connect();
  const observation = (code: string) => ({
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code }] },
  });
  await insertResult('obs-hiv', 'hosp-a', observation('7917-8'), [{ system: ACT_CODE, code: 'HIV' }]);
  await insertResult('obs-glucose', 'hosp-a', observation('2345-7'), []);
  // Another institution's row under an id the report lists: not the report's result.
  await insertResult('obs-other', 'hosp-b', observation('2345-7'), [{ system: ACT_CODE, code: 'PSY' }]);
  const panel = (...observationIds: string[]) => ({
    resourceType: 'DiagnosticReport',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '24323-8' }] },
    result: [
      ...observationIds.map((id) => ({ reference: `Observation/${id}` })),
      { reference: 'Specimen/not-an-observation' },
    ],
  });
  await insertResult('dr-hiv', 'hosp-a', panel('obs-glucose', 'obs-hiv', 'obs-other'), []);
  await insertResult('dr-sent', 'hosp-a', panel('obs-hiv'), [
    { system: CONFIDENTIALITY, code: 'R' },
    { system: ACT_CODE, code: 'HIV' },
  ]);
  await insertResult('dr-plain', 'hosp-a', panel('obs-glucose'), []);
  await insertResult('dr-empty', 'hosp-a', { resourceType: 'DiagnosticReport', status: 'final' }, []);
  await migrate({ settings, database: DATABASE, migrations });
}, 60_000);

afterAll(async () => {
  await client?.end();
  await dropTestDatabase(settings, DATABASE);
});

describe('migration 1765100000000: reports take on the labels of their results', () => {
  it('fills result_ids with the Observation ids of result, in order', async () => {
    expect((await row('dr-hiv'))?.result_ids).toEqual(['obs-glucose', 'obs-hiv', 'obs-other']);
    expect((await row('dr-empty'))?.result_ids).toEqual([]);
    expect((await row('obs-hiv'))?.result_ids).toEqual([]);
  });

  it("labels a plain panel listing an HIV result HIV (not from another institution's row)", async () => {
    expect(await row('dr-hiv')).toMatchObject({
      security_labels: [{ system: ACT_CODE, code: 'HIV' }],
      label_codes: ['HIV'],
    });
    expect(await row('dr-plain')).toMatchObject({ security_labels: [], label_codes: [] });
  });

  it("keeps a report's own labels first and adds each label once", async () => {
    expect(await row('dr-sent')).toMatchObject({
      security_labels: [
        { system: CONFIDENTIALITY, code: 'R' },
        { system: ACT_CODE, code: 'HIV' },
      ],
      label_codes: ['HIV', 'R'],
    });
  });
});
