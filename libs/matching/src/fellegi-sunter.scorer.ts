import type {
  ComparisonVector,
  Decision,
  FieldComparison,
  FieldLevels,
  MatchResult,
  NormalizedRecord,
  RuleSet,
} from './matching.types';
import { compareRecords } from './field-comparison.util';

/** log2(m/u): the Fellegi–Sunter (1969, JASA 64:1183) agreement/disagreement weight of one level. */
export function levelWeight(m: number, u: number): number {
  return Math.log2(m / u);
}

/**
 * Weight of each field's level under the rule set. A missing field (null) weighs 0, as does a level
 * the rule set does not know (so an older rule set never throws on a newer comparator).
 */
export function weighVector(vector: ComparisonVector, ruleSet: RuleSet): FieldComparison[] {
  return ruleSet.fields.map(({ field, levels }) => {
    const level = vector[field];
    const rule = level === null ? undefined : levels.find((l) => l.level === level);
    return {
      field,
      level,
      weight: rule ? Math.min(levelWeight(rule.m, rule.u), rule.maxWeight ?? Infinity) : 0,
    };
  });
}

/**
 * Scores a comparison vector: total weight, decision by thresholds (≥ autoLink → MATCH, ≥ review →
 * POSSIBLE_MATCH, else NO_MATCH), then two caps that only ever lower the decision:
 * - placeholder: either record is a placeholder identity → never MATCH (POSSIBLE_MATCH at most);
 * - veto: a field level listed in autoLinkVetoes (e.g. given names clearly different) → POSSIBLE_MATCH at most.
 */
export function scoreVector(vector: ComparisonVector, ruleSet: RuleSet, placeholder = false): MatchResult {
  const comparisons = weighVector(vector, ruleSet);
  const score = Math.round(comparisons.reduce((s, c) => s + c.weight, 0) * 1000) / 1000;
  let decision: Decision =
    score >= ruleSet.thresholds.autoLink
      ? 'MATCH'
      : score >= ruleSet.thresholds.review
        ? 'POSSIBLE_MATCH'
        : 'NO_MATCH';
  let capped: MatchResult['capped'];
  if (decision === 'MATCH' && placeholder) {
    decision = 'POSSIBLE_MATCH';
    capped = 'placeholder';
  } else if (
    decision === 'MATCH' &&
    ruleSet.autoLinkVetoes.some((v) => at(vector, v) && !(v.unless ?? []).some((u) => at(vector, u)))
  ) {
    decision = 'POSSIBLE_MATCH';
    capped = 'veto';
  }
  return {
    score,
    decision,
    ruleSetVersion: ruleSet.version,
    comparisons: comparisons.map((c) => ({ ...c, weight: Math.round(c.weight * 1000) / 1000 })),
    ...(capped ? { capped } : {}),
  };
}

/** Veto/unless level matching a field missing on either side (comparison level null). */
export const MISSING = 'missing';

function at(vector: ComparisonVector, condition: FieldLevels): boolean {
  const level = vector[condition.field];
  // "missing": the field is missing on either side (a veto may demand evidence, not just no conflict).
  return condition.levels.includes(level ?? MISSING);
}

/** Compares and scores two normalized records. */
export function scorePair(a: NormalizedRecord, b: NormalizedRecord, ruleSet: RuleSet): MatchResult {
  return scoreVector(compareRecords(a, b), ruleSet, a.placeholder || b.placeholder);
}
