import type { Patient } from '@medplum/fhirtypes';
import type { SourceRecord } from '@tessera/synthetic-population';

/** The identifier system of a synthetic institution's MRNs. */
export function systemOf(record: Pick<SourceRecord, 'assigningAuthority'>): string {
  return `urn:oid:${record.assigningAuthority}`;
}

/**
 * The FHIR Patient the gateway would publish for a synthetic source record (v2 PID → FHIR: MRN with
 * type MR, national id SS, insurance member id MB; sex U → unknown). Pure.
 */
export function patientOf(record: SourceRecord): Patient {
  const d = record.demographics;
  const given = [d.given, d.middle].filter((g): g is string => g !== undefined);
  return {
    resourceType: 'Patient',
    identifier: [
      { system: systemOf(record), value: record.mrn, type: { coding: [{ code: 'MR' }] } },
      ...(d.nationalId === undefined ? [] : [{ system: 'urn:oid:2.16.840.1.113883.4.1', value: d.nationalId, type: { coding: [{ code: 'SS' }] } }]),
      ...(d.insuranceId === undefined ? [] : [{ system: 'urn:tessera:bench:insurance', value: d.insuranceId, type: { coding: [{ code: 'MB' }] } }]),
    ],
    ...(d.family === undefined && given.length === 0
      ? {}
      : { name: [{ use: 'official' as const, ...(d.family === undefined ? {} : { family: d.family }), ...(given.length === 0 ? {} : { given }) }] }),
    ...(d.sex === undefined ? {} : { gender: d.sex === 'M' ? ('male' as const) : d.sex === 'F' ? ('female' as const) : ('unknown' as const) }),
    ...(d.birthDate === undefined ? {} : { birthDate: d.birthDate }),
    ...(d.phone === undefined ? {} : { telecom: [{ system: 'phone' as const, use: 'home' as const, value: d.phone }] }),
    ...(d.address === undefined
      ? {}
      : { address: [{ use: 'home' as const, line: [d.address.line], city: d.address.city, postalCode: d.address.postalCode, country: d.address.country }] }),
  };
}

export interface PairwiseQuality {
  readonly truePairs: number;
  readonly predictedPairs: number;
  readonly truePositives: number;
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
}

function pairs(n: number): number {
  return (n * (n - 1)) / 2;
}

/**
 * Pairwise quality of a clustering (records grouped by enterprise id) against the truth (records
 * grouped by person): a predicted pair is two records in one enterprise id, a true pair two records
 * of one person. Pure.
 */
export function pairwiseQuality(records: readonly { readonly cluster: string; readonly person: string }[]): PairwiseQuality {
  const byCluster = new Map<string, number>();
  const byPerson = new Map<string, number>();
  const byBoth = new Map<string, number>();
  for (const r of records) {
    byCluster.set(r.cluster, (byCluster.get(r.cluster) ?? 0) + 1);
    byPerson.set(r.person, (byPerson.get(r.person) ?? 0) + 1);
    const both = `${r.cluster}\u0000${r.person}`;
    byBoth.set(both, (byBoth.get(both) ?? 0) + 1);
  }
  const sum = (m: Map<string, number>): number => [...m.values()].reduce((s, n) => s + pairs(n), 0);
  const predictedPairs = sum(byCluster);
  const truePairs = sum(byPerson);
  const truePositives = sum(byBoth);
  const precision = predictedPairs === 0 ? 1 : truePositives / predictedPairs;
  const recall = truePairs === 0 ? 1 : truePositives / truePairs;
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { truePairs, predictedPairs, truePositives, precision, recall, f1 };
}
