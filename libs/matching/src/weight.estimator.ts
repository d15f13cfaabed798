import type { ComparisonField, ComparisonVector, NormalizedRecord, RuleSet } from './matching.types';
import { compareRecords } from './field-comparison.util';

export interface EstimateResult {
  readonly ruleSet: RuleSet;
  /** Estimated share of candidate pairs that are matches (λ). */
  readonly matchProportion: number;
  readonly iterations: number;
}

const FLOOR = 1e-5;

export type CandidatePair = readonly [NormalizedRecord, NormalizedRecord];

function isPair(p: CandidatePair | ComparisonVector): p is CandidatePair {
  return Array.isArray(p);
}

/**
 * Expectation–maximisation of m and u under the Fellegi–Sunter conditional-independence model
 * (Winkler 1988, "Using the EM Algorithm for Weight Computation in the Fellegi-Sunter Model of Record
 * Linkage"; Jaro 1989). Unlabeled candidate pairs (e.g. from blocking) in, a rule set with new m/u out;
 * thresholds, vetoes and placeholder patterns are kept. A missing field is skipped, not counted as a
 * disagreement. Probabilities are floored so no weight becomes infinite.
 */
export interface EstimateOptions {
  /** Starting λ (share of matches among the pairs). */
  readonly initialMatchProportion?: number;
  /**
   * Keep the rule set's u and estimate only m and λ (Splink's practice: u from random pairs, see
   * `estimateUProbabilities`). Without it EM on blocked pairs tends to find "same household" rather
   * than "same person" as its latent class: family members share surname, address and phone.
   */
  readonly fixU?: boolean;
  /**
   * Only these fields take part (the others are neither used nor changed). Leave out the fields the
   * pairs were blocked on: among pairs that share a birth date, birth-date agreement says nothing.
   */
  readonly fields?: readonly ComparisonField[];
  /**
   * Smallest m or u written (default 1e-5). A level never seen among matches in training data (say, a
   * sex disagreement) should still not weigh −17: a floor of 5e-4 bounds every weight to about ±11.
   */
  readonly probabilityFloor?: number;
}

export function estimateWeights(
  pairs: readonly (CandidatePair | ComparisonVector)[],
  initial: RuleSet,
  iterations = 20,
  options: EstimateOptions = {},
): EstimateResult {
  const initialMatchProportion = options.initialMatchProportion ?? 0.1;
  const floor = options.probabilityFloor ?? FLOOR;
  const vectors: readonly ComparisonVector[] = pairs.map((p) => (isPair(p) ? compareRecords(p[0], p[1]) : p));
  let ruleSet = initial;
  const active = (field: ComparisonField): boolean =>
    options.fields === undefined || options.fields.includes(field);
  let lambda = initialMatchProportion;
  let done = 0;
  for (; done < iterations; done++) {
    // E-step: posterior probability that each pair is a match
    const g = vectors.map((v) => {
      let logM = Math.log(lambda);
      let logU = Math.log(1 - lambda);
      for (const f of ruleSet.fields) {
        const level = v[f.field];
        if (level === null || !active(f.field)) continue;
        const rule = f.levels.find((l) => l.level === level);
        if (!rule) continue;
        logM += Math.log(rule.m);
        logU += Math.log(rule.u);
      }
      const diff = logU - logM;
      return diff > 50 ? 0 : 1 / (1 + Math.exp(diff));
    });
    // M-step: new λ, m and u per field level
    const sumG = g.reduce((s, x) => s + x, 0);
    const next = Math.min(1 - FLOOR, Math.max(FLOOR, sumG / Math.max(1, vectors.length)));
    const fields = ruleSet.fields.map((f) => {
      if (!active(f.field)) return f;
      const mCount = new Map<string, number>();
      const uCount = new Map<string, number>();
      let mTotal = 0;
      let uTotal = 0;
      vectors.forEach((v, i) => {
        const level = v[f.field];
        if (level === null || !f.levels.some((l) => l.level === level)) return;
        const gi = g[i];
        mCount.set(level, (mCount.get(level) ?? 0) + gi);
        uCount.set(level, (uCount.get(level) ?? 0) + (1 - gi));
        mTotal += gi;
        uTotal += 1 - gi;
      });
      const norm = (count: number, total: number, n: number): number =>
        total > 0 ? (count + FLOOR) / (total + n * FLOOR) : 1 / n;
      return {
        field: f.field,
        levels: f.levels.map((l) => ({
          ...l,
          m: round(Math.max(floor, norm(mCount.get(l.level) ?? 0, mTotal, f.levels.length))),
          u: options.fixU
            ? l.u
            : round(Math.max(floor, norm(uCount.get(l.level) ?? 0, uTotal, f.levels.length))),
        })),
      };
    });
    const converged = Math.abs(next - lambda) < 1e-7;
    lambda = next;
    ruleSet = { ...ruleSet, fields };
    if (converged) {
      done++;
      break;
    }
  }
  return { ruleSet, matchProportion: lambda, iterations: done };
}

function round(x: number): number {
  return Number(x.toPrecision(4));
}

/**
 * u probabilities from pairs drawn at random (almost all are non-matches, so the frequency of each
 * level among them estimates P(level | non-match)); m and everything else are kept.
 */
export function estimateUProbabilities(
  randomPairs: readonly (CandidatePair | ComparisonVector)[],
  ruleSet: RuleSet,
): RuleSet {
  const vectors = randomPairs.map((p) => (isPair(p) ? compareRecords(p[0], p[1]) : p));
  return {
    ...ruleSet,
    fields: ruleSet.fields.map((f) => {
      const counts = new Map<string, number>();
      let total = 0;
      for (const v of vectors) {
        const level = v[f.field];
        if (level === null || !f.levels.some((l) => l.level === level)) continue;
        counts.set(level, (counts.get(level) ?? 0) + 1);
        total++;
      }
      return {
        ...f,
        levels: f.levels.map((l) => ({
          ...l,
          u:
            total === 0
              ? l.u
              : round(
                  Math.max(FLOOR, ((counts.get(l.level) ?? 0) + FLOOR) / (total + f.levels.length * FLOOR)),
                ),
        })),
      };
    }),
  };
}
