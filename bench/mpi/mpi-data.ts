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

/** One indexed record with its enterprise id and the generator's truth, for `errorBreakdown`. */
export interface TruthRecord {
  readonly cluster: string;
  readonly person: string;
  readonly household: string;
  /** The truth person's twin, if any. */
  readonly twinOf?: string;
  readonly placeholder: boolean;
  readonly corruptions: readonly string[];
}

export interface ErrorBreakdown {
  /** Wrongly linked pairs (two persons in one enterprise id) by relation: twin, household, placeholder, unrelated. */
  readonly falsePositives: Readonly<Record<string, number>>;
  /** Missed pairs (one person in several enterprise ids), counted once under each corruption of either record ("none" if neither has one). */
  readonly falseNegatives: Readonly<Record<string, number>>;
  readonly falseNegativePairs: number;
}

function forPairs<T>(items: readonly T[], each: (a: T, b: T) => void): void {
  for (let i = 0; i < items.length; i++) for (let j = i + 1; j < items.length; j++) each(items[i], items[j]);
}

function group<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = out.get(k);
    if (list === undefined) out.set(k, [item]);
    else list.push(item);
  }
  return out;
}

/** Why pairs were wrongly linked or missed, from the generator's truth (bench diagnostics). Pure. */
export function errorBreakdown(records: readonly TruthRecord[]): ErrorBreakdown {
  const falsePositives: Record<string, number> = {};
  const falseNegatives: Record<string, number> = {};
  const add = (m: Record<string, number>, k: string): void => {
    m[k] = (m[k] ?? 0) + 1;
  };
  for (const members of group(records, (r) => r.cluster).values()) {
    forPairs(members, (a, b) => {
      if (a.person === b.person) return;
      const relation =
        a.twinOf === b.person || b.twinOf === a.person
          ? 'twin'
          : a.placeholder || b.placeholder
            ? 'placeholder'
            : a.household === b.household
              ? 'household'
              : 'unrelated';
      add(falsePositives, relation);
    });
  }
  let falseNegativePairs = 0;
  for (const copies of group(records, (r) => r.person).values()) {
    forPairs(copies, (a, b) => {
      if (a.cluster === b.cluster) return;
      falseNegativePairs++;
      const causes = new Set([...a.corruptions, ...b.corruptions]);
      if (a.placeholder || b.placeholder) causes.add('placeholder');
      if (causes.size === 0) causes.add('none');
      for (const cause of causes) add(falseNegatives, cause);
    });
  }
  return { falsePositives, falseNegatives, falseNegativePairs };
}
