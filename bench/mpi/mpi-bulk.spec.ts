import { blockingKeys, normalizeRecord } from '@tessera/matching';
import { generatePopulation } from '@tessera/synthetic-population';
import type { SourceRecord } from '@tessera/synthetic-population';
import { demographicsOf, searchPhones } from '../../apps/mpi/src/matching/patient-demographics';
import { matchingProfileOf } from '../../apps/mpi/src/matching/rule-sets';
import { benchUuid, bulkDatabaseName, bulkRowsOf, clusterEnterpriseId, loadProgress } from './mpi-bulk';
import { patientOf, systemOf } from './mpi-data';

const profile = matchingProfileOf({ MPI_REGION: 'us', MPI_NATIONAL_ID_PROFILE: 'synthetic', MPI_RULE_SET_VERSION: 'v2' });
const records: SourceRecord[] = generatePopulation({
  seed: 2026,
  persons: 40,
  region: 'us',
  institutions: [
    { id: 'B1', assigningAuthority: '2.16.840.1.113883.3.9100.1' },
    { id: 'B2', assigningAuthority: '2.16.840.1.113883.3.9100.2', upperCaseNames: true },
  ],
}).materialize().records.slice();

describe('benchUuid', () => {
  it('is a version-5 layout UUID, the same for the same seed and key, different otherwise', () => {
    const id = benchUuid(2026, 'record:A:1');
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(benchUuid(2026, 'record:A:1')).toBe(id);
    expect(benchUuid(2027, 'record:A:1')).not.toBe(id);
    expect(benchUuid(2026, 'record:A:2')).not.toBe(id);
  });
});

describe('bulkDatabaseName', () => {
  it('names the kept database by size', () => {
    expect(bulkDatabaseName(1_000_000)).toBe('tessera_mpi_bench_1m');
    expect(bulkDatabaseName(20_000)).toBe('tessera_mpi_bench_20k');
    expect(bulkDatabaseName(12_345)).toBe('tessera_mpi_bench_12345');
  });
});

describe('clusterEnterpriseId', () => {
  it('gives the records of one person one enterprise id and a placeholder record its own', () => {
    const a = { personId: 'P1', recordId: 'B1:1', placeholder: false };
    expect(clusterEnterpriseId(a, 1)).toBe(clusterEnterpriseId({ ...a, recordId: 'B2:7' }, 1));
    expect(clusterEnterpriseId({ ...a, placeholder: true }, 1)).not.toBe(clusterEnterpriseId(a, 1));
    expect(clusterEnterpriseId({ ...a, placeholder: true }, 1)).not.toBe(clusterEnterpriseId({ ...a, recordId: 'B2:7', placeholder: true }, 1));
  });
});

describe('bulkRowsOf', () => {
  it('computes the columns and blocking keys the MPI writes, with its own normalisation', () => {
    expect(records.length).toBeGreaterThan(20);
    for (const record of records) {
      const patient = patientOf(record);
      const normalized = normalizeRecord(demographicsOf(patient), profile.region, profile.ruleSet);
      const rows = bulkRowsOf(record, profile, 2026, true);
      expect(rows).toMatchObject({
        system: systemOf(record),
        localId: record.mrn,
        institutionId: record.institutionId,
        familyNorm: normalized.family?.latin ?? null,
        givenNorm: normalized.given?.latin ?? null,
        birthDate: normalized.birthDate ?? null,
        gender: patient.gender ?? null,
        postalCode: normalized.postalCode ?? null,
        sourceMessageId: `bench-${record.recordId}`,
        enterpriseId: clusterEnterpriseId(record, 2026),
      });
      expect(JSON.parse(rows.patient)).toEqual(patient);
      expect(JSON.parse(rows.normalized)).toEqual(JSON.parse(JSON.stringify(normalized)));
      expect(rows.phones).toEqual(searchPhones(patient, profile.region));
      expect([...rows.keys].sort()).toEqual([...new Set(blockingKeys(normalized))].sort());
      expect(rows.keys.length).toBeGreaterThan(0);
    }
  });

  it('uses the engine reasons of a new enterprise id and of a joined one', () => {
    const [record] = records;
    if (record === undefined) throw new Error('no record');
    expect(bulkRowsOf(record, profile, 1, true).reason).toBe('no candidate above the review threshold');
    expect(bulkRowsOf(record, profile, 1, false).reason).toBe('matched an existing enterprise id');
    expect(bulkRowsOf(record, profile, 1, false).id).toBe(bulkRowsOf(record, profile, 1, true).id);
  });
});

describe('loadProgress', () => {
  it('reports rate and remaining time', () => {
    expect(loadProgress(250_000, 1_000_000, 100_000)).toBe('250,000 / 1,000,000 records (25.0 %, 2500 records/s, eta 5.0 min)');
    expect(loadProgress(0, 10, 0)).toBe('0 / 10 records (0.0 %, 0 records/s, eta ?)');
  });
});
