// Test-only harness: links a synthetic population with blocking + scoring and measures it against the
// ground truth. Imported by specs only (never from index.ts).
import { generatePopulation, type Region, type SourceRecord } from '@tessera/synthetic-population';
import { blockingKeys } from './blocking.util';
import { compareRecords } from './field-comparison.util';
import { scoreVector } from './fellegi-sunter.scorer';
import type {
  ComparisonField,
  ComparisonVector,
  MatchInput,
  NormalizedRecord,
  RegionConfig,
  RuleSet,
} from './matching.types';
import { REGION_CN, REGION_EU, REGION_US } from './matching.types';
import { normalizeRecord } from './record-normalization.util';
import { estimateWeights } from './weight.estimator';

export const TEST_REGIONS: Readonly<Record<Region, RegionConfig>> = {
  us: { ...REGION_US, allowSyntheticSsn: true },
  cn: REGION_CN,
  eu: REGION_EU,
};

export function toMatchInput(r: SourceRecord): MatchInput {
  const d = r.demographics;
  return {
    ...(d.family !== undefined ? { family: d.family } : {}),
    ...(d.given !== undefined ? { given: d.given } : {}),
    ...(d.middle !== undefined ? { middle: d.middle } : {}),
    ...(d.sex !== undefined ? { sex: d.sex } : {}),
    ...(d.birthDate !== undefined ? { birthDate: d.birthDate } : {}),
    ...(d.address !== undefined ? { address: d.address } : {}),
    ...(d.phone !== undefined ? { phone: d.phone } : {}),
    ...(d.nationalId !== undefined ? { nationalId: d.nationalId } : {}),
    ...(d.insuranceId !== undefined ? { insuranceId: d.insuranceId } : {}),
  };
}

export interface CandidateSet {
  readonly records: readonly SourceRecord[];
  readonly normalized: readonly NormalizedRecord[];
  /** Index pairs (i < j) sharing at least one blocking key. */
  readonly pairs: readonly (readonly [number, number])[];
  readonly vectors: readonly ComparisonVector[];
  readonly truthPairCount: number;
}

export function buildCandidates(
  region: Region,
  persons: number,
  seed: number,
  ruleSet: RuleSet,
  blockCap = 100,
): CandidateSet {
  const pop = generatePopulation({
    seed,
    persons,
    region,
    institutions: [
      { id: 'H1', assigningAuthority: '1.2.3.1' },
      { id: 'H2', assigningAuthority: '1.2.3.2' },
      { id: 'H3', assigningAuthority: '1.2.3.3' },
      { id: 'H4', assigningAuthority: '1.2.3.4' },
    ],
  });
  const records = pop.materialize().records;
  const regionConfig = TEST_REGIONS[region];
  const normalized = records.map((r) => normalizeRecord(toMatchInput(r), regionConfig, ruleSet));
  const blocks = new Map<string, number[]>();
  normalized.forEach((n, i) => {
    for (const key of blockingKeys(n)) {
      const list = blocks.get(key);
      if (list) list.push(i);
      else blocks.set(key, [i]);
    }
  });
  const seen = new Set<number>();
  const pairs: [number, number][] = [];
  for (const members of blocks.values()) {
    if (members.length > blockCap) continue;
    for (let x = 0; x < members.length; x++)
      for (let y = x + 1; y < members.length; y++) {
        const i = members[x];
        const j = members[y];
        const code = i * records.length + j;
        if (seen.has(code)) continue;
        seen.add(code);
        pairs.push([i, j]);
      }
  }
  const vectors = pairs.map(([i, j]) => compareRecords(normalized[i], normalized[j]));
  let truthPairCount = 0;
  for (const _ of pop.truthPairs()) truthPairCount++;
  return { records, normalized, pairs, vectors, truthPairCount };
}

export interface LinkageQuality {
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
  readonly truePositives: number;
  readonly falsePositives: number;
  readonly truthPairs: number;
  readonly candidatePairs: number;
  readonly possibleMatches: number;
  readonly blockingRecall: number;
  readonly placeholderAutoLinks: number;
}

export function evaluate(c: CandidateSet, ruleSet: RuleSet): LinkageQuality {
  let tp = 0;
  let fp = 0;
  let possible = 0;
  let truthInCandidates = 0;
  let placeholderAutoLinks = 0;
  c.pairs.forEach(([i, j], k) => {
    const a = c.records[i];
    const b = c.records[j];
    const same = a.personId === b.personId;
    if (same) truthInCandidates++;
    const result = scoreVector(
      c.vectors[k],
      ruleSet,
      c.normalized[i].placeholder || c.normalized[j].placeholder,
    );
    if (result.decision === 'MATCH') {
      if (same) tp++;
      else fp++;
      if (a.placeholder || b.placeholder) placeholderAutoLinks++;
    } else if (result.decision === 'POSSIBLE_MATCH') possible++;
  });
  const precision = tp + fp === 0 ? 1 : tp / (tp + fp);
  const recall = c.truthPairCount === 0 ? 1 : tp / c.truthPairCount;
  return {
    precision,
    recall,
    f1: precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall),
    truePositives: tp,
    falsePositives: fp,
    truthPairs: c.truthPairCount,
    candidatePairs: c.pairs.length,
    possibleMatches: possible,
    blockingRecall: c.truthPairCount === 0 ? 1 : truthInCandidates / c.truthPairCount,
    placeholderAutoLinks,
  };
}

const ALL_FIELDS: readonly ComparisonField[] = [
  'family',
  'given',
  'birthDate',
  'sex',
  'address',
  'phone',
  'nationalId',
  'insuranceId',
];

function vectorsSharing(sets: readonly CandidateSet[], prefix: string): ComparisonVector[] {
  return sets.flatMap((s) =>
    s.pairs.flatMap(([i, j], k) => {
      const keysA = new Set(blockingKeys(s.normalized[i]).filter((q) => q.startsWith(prefix)));
      return blockingKeys(s.normalized[j]).some((q) => keysA.has(q)) ? [s.vectors[k]] : [];
    }),
  );
}

/**
 * How data/rule-set.v1.json was estimated (seed 777, 3,000 persons per region): EM for every field but
 * the birth date on pairs sharing a birth-date block, then EM for the rest but the names on pairs
 * sharing a phonetic-name block; birth-date levels come from the second run.
 */
export function estimateRuleSetFromCandidates(sets: readonly CandidateSet[], initial: RuleSet): RuleSet {
  const byDob = estimateWeights(vectorsSharing(sets, 'dob:'), initial, 200, {
    fields: ALL_FIELDS.filter((f) => f !== 'birthDate'),
    initialMatchProportion: 0.3,
    probabilityFloor: 5e-4,
  });
  const byName = estimateWeights(vectorsSharing(sets, 'pn:'), byDob.ruleSet, 200, {
    fields: ALL_FIELDS.filter((f) => f !== 'family' && f !== 'given'),
    initialMatchProportion: 0.3,
    probabilityFloor: 5e-4,
  });
  return {
    ...byDob.ruleSet,
    fields: byDob.ruleSet.fields.map((f) =>
      f.field === 'birthDate' ? byName.ruleSet.fields.find((g) => g.field === 'birthDate')! : f,
    ),
  };
}
