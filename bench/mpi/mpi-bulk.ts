import { createHash } from 'node:crypto';
import { blockingKeys, normalizeRecord } from '@tessera/matching';
import type { NormalizedRecord } from '@tessera/matching';
import type { SourceRecord } from '@tessera/synthetic-population';
import { demographicsOf, searchPhones } from '../../apps/mpi/src/matching/patient-demographics';
import type { MatchingProfile } from '../../apps/mpi/src/matching/rule-sets';
import { patientOf, systemOf } from './mpi-data';

/**
 * `--bulk` mode of the MPI benchmark: the rows `MatchRecordHandler.upsert` writes for a new source
 * record (IdentityRepository.appendVersion, replaceBlockingKeys, createEnterpriseId, writeLink),
 * computed with the MPI's own FHIR → demographics mapping, libs/matching normalisation and blocking
 * keys, so they can be bulk-inserted instead of decided one transaction at a time. The link is the
 * generator's truth (one enterprise id per person; a placeholder record gets its own), not a matcher
 * decision: quality is not measured in this mode. Pure.
 */

/** A UUID (version-5 layout) derived from the seed and a key: reruns write the same ids. */
export function benchUuid(seed: number, key: string): string {
  const h = createHash('sha1').update(`${seed}\u0000${key}`).digest();
  h[6] = ((h[6] ?? 0) & 0x0f) | 0x50;
  h[8] = ((h[8] ?? 0) & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

/** Name of the kept bulk database of `n` records: tessera_mpi_bench_1m, tessera_mpi_bench_20k, … */
export function bulkDatabaseName(n: number): string {
  const size = n % 1_000_000 === 0 ? `${n / 1_000_000}m` : n % 1_000 === 0 ? `${n / 1_000}k` : String(n);
  return `tessera_mpi_bench_${size}`;
}

/** One source record's rows, column by column as the repository writes them. */
export interface BulkRecordRows {
  readonly id: string;
  readonly system: string;
  readonly localId: string;
  readonly institutionId: string;
  readonly familyNorm: string | null;
  readonly givenNorm: string | null;
  readonly birthDate: string | null;
  readonly gender: string | null;
  /** source_records.patient and source_record_versions.patient (JSON). */
  readonly patient: string;
  /** source_record_versions.normalized (JSON). */
  readonly normalized: string;
  readonly phones: readonly string[];
  readonly postalCode: string | null;
  readonly sourceMessageId: string;
  /** Distinct blocking keys (replaceBlockingKeys inserts DISTINCT). */
  readonly keys: readonly string[];
  readonly enterpriseId: string;
  /** link_events row of the link's creation. */
  readonly linkEventId: string;
  readonly reason: string;
}

/**
 * The rows of one record. `firstOfCluster`: the record creates its enterprise id (the engine's "new"
 * decision: reason "no candidate above the review threshold"); otherwise it joins it ("matched an
 * existing enterprise id"), both with state MATCH, origin AUTO, like the engine's decisions.
 */
export function bulkRowsOf(
  record: SourceRecord,
  profile: MatchingProfile,
  seed: number,
  firstOfCluster: boolean,
): BulkRecordRows {
  const patient = patientOf(record);
  const normalized: NormalizedRecord = normalizeRecord(demographicsOf(patient), profile.region, profile.ruleSet);
  return {
    id: benchUuid(seed, `record:${record.recordId}`),
    system: systemOf(record),
    localId: record.mrn,
    institutionId: record.institutionId,
    familyNorm: normalized.family?.latin ?? null,
    givenNorm: normalized.given?.latin ?? null,
    birthDate: normalized.birthDate ?? null,
    gender: patient.gender ?? null,
    patient: JSON.stringify(patient),
    normalized: JSON.stringify(normalized),
    phones: searchPhones(patient, profile.region),
    postalCode: normalized.postalCode ?? null,
    sourceMessageId: `bench-${record.recordId}`,
    keys: [...new Set(blockingKeys(normalized))],
    enterpriseId: clusterEnterpriseId(record, seed),
    linkEventId: benchUuid(seed, `link-event:${record.recordId}`),
    reason: firstOfCluster ? 'no candidate above the review threshold' : 'matched an existing enterprise id',
  };
}

/** The truth cluster's enterprise id: one per person; a placeholder record is never linked. */
export function clusterEnterpriseId(record: Pick<SourceRecord, 'personId' | 'recordId' | 'placeholder'>, seed: number): string {
  return benchUuid(seed, record.placeholder ? `eid:record:${record.recordId}` : `eid:person:${record.personId}`);
}

/** Progress line of a load: rows/s and the remaining time at that rate. Pure. */
export function loadProgress(done: number, total: number, elapsedMs: number): string {
  const rate = elapsedMs > 0 ? done / (elapsedMs / 1000) : 0;
  const eta = rate > 0 ? (total - done) / rate : Number.NaN;
  const pct = total > 0 ? (done / total) * 100 : 100;
  return `${done.toLocaleString('en')} / ${total.toLocaleString('en')} records (${pct.toFixed(1)} %, ${rate.toFixed(0)} records/s, eta ${Number.isFinite(eta) ? `${(eta / 60).toFixed(1)} min` : '?'})`;
}
