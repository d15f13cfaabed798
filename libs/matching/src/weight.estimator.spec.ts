import { SeededRandom } from '@tessera/synthetic-population';
import { levelWeight } from './fellegi-sunter.scorer';
import type { ComparisonField, ComparisonVector, RuleSet } from './matching.types';
import { estimateUProbabilities, estimateWeights } from './weight.estimator';

// Pairs drawn from a known two-class model; EM must recover m, u and λ without the labels.
const TRUE_M: Readonly<Record<string, number>> = { family: 0.9, given: 0.85, birthDate: 0.95 };
const TRUE_U: Readonly<Record<string, number>> = { family: 0.05, given: 0.1, birthDate: 0.01 };
const FIELDS = ['family', 'given', 'birthDate'] as const;

function sample(n: number, lambda: number, seed: number): ComparisonVector[] {
  const rng = new SeededRandom(seed);
  return Array.from({ length: n }, () => {
    const match = rng.chance(lambda);
    const v: Record<ComparisonField, string | null> = {
      family: null,
      given: null,
      birthDate: null,
      sex: null,
      address: null,
      phone: null,
      nationalId: null,
      insuranceId: null,
    };
    for (const f of FIELDS) v[f] = rng.chance(match ? TRUE_M[f] : TRUE_U[f]) ? 'agree' : 'disagree';
    if (rng.chance(0.1)) v.given = null; // missing fields are skipped, not disagreements
    return v;
  });
}

const START: RuleSet = {
  version: 'em-test',
  thresholds: { autoLink: 10, review: 3 },
  autoLinkVetoes: [],
  placeholderPatterns: [],
  fields: FIELDS.map((field) => ({
    field,
    levels: [
      { level: 'agree', m: 0.7, u: 0.3 },
      { level: 'disagree', m: 0.3, u: 0.7 },
    ],
  })),
};

describe('estimateWeights (EM)', () => {
  it('recovers m, u and the match proportion from unlabeled pairs', () => {
    const result = estimateWeights(sample(20_000, 0.2, 9), START, 100);
    expect(result.matchProportion).toBeCloseTo(0.2, 1);
    for (const f of result.ruleSet.fields) {
      const agree = f.levels.find((l) => l.level === 'agree')!;
      expect(Math.abs(agree.m - TRUE_M[f.field])).toBeLessThan(0.03);
      expect(Math.abs(agree.u - TRUE_U[f.field])).toBeLessThan(0.03);
    }
    expect(result.ruleSet.thresholds).toEqual(START.thresholds);
    expect(result.ruleSet.version).toBe('em-test');
  });

  it('keeps u fixed and leaves other fields alone when asked; floors probabilities', () => {
    const result = estimateWeights(sample(5000, 0.2, 10), START, 50, {
      fixU: true,
      fields: ['family', 'given'],
      probabilityFloor: 0.01,
    });
    const dob = result.ruleSet.fields.find((f) => f.field === 'birthDate')!;
    expect(dob).toEqual(START.fields[2]);
    for (const f of result.ruleSet.fields.slice(0, 2)) {
      expect(f.levels.map((l) => l.u)).toEqual([0.3, 0.7]);
      for (const l of f.levels) expect(l.m).toBeGreaterThanOrEqual(0.01);
    }
  });

  it('estimates u from random pairs', () => {
    const random = sample(10_000, 0, 11);
    const withU = estimateUProbabilities(random, START);
    const family = withU.fields[0].levels[0];
    expect(family.u).toBeCloseTo(0.05, 1);
    expect(family.m).toBe(0.7);
    expect(levelWeight(family.m, family.u)).toBeGreaterThan(3);
  });
});
