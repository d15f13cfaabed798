import { buildCandidates, estimateRuleSetFromCandidates, evaluate } from './linkage-evaluation.spec-helper';
import { RULE_SET_V1, RULE_SET_V2 } from './rule-set.loader';

// A real quality gate: blocking + Fellegi–Sunter scoring with the committed rule set on a synthetic
// population it was NOT tuned on (tuning used seed 777), at the rule set's own thresholds.
describe('linkage quality on a synthetic population (2,000 persons, seed 2026)', () => {
  it.each([
    ['us', 'v1'],
    ['cn', 'v1'],
    ['us', 'v2'],
    ['cn', 'v2'],
  ] as const)('%s, rule set %s: pairwise precision >= 0.99 and recall >= 0.95', (region, version) => {
    const ruleSet = version === 'v1' ? RULE_SET_V1 : RULE_SET_V2;
    const candidates = buildCandidates(region, 2000, 2026, ruleSet);
    const q = evaluate(candidates, ruleSet);
    expect(q.truthPairs).toBeGreaterThan(800);
    expect(q.blockingRecall).toBeGreaterThan(0.99);
    expect(q.precision).toBeGreaterThanOrEqual(0.99);
    expect(q.recall).toBeGreaterThanOrEqual(0.95);
    expect(q.placeholderAutoLinks).toBe(0);
  });

  it('EM re-estimates a rule set from unlabeled pairs that also meets the bar', () => {
    const sets = (['eu'] as const).map((r) => buildCandidates(r, 1500, 31, RULE_SET_V1));
    const estimated = estimateRuleSetFromCandidates(sets, RULE_SET_V1);
    const given = estimated.fields.find((f) => f.field === 'given')!;
    const weight = (level: string): number => {
      const l = given.levels.find((x) => x.level === level)!;
      return Math.log2(l.m / l.u);
    };
    expect(weight('exact')).toBeGreaterThan(3);
    expect(weight('different')).toBeLessThan(-3);
    const q = evaluate(buildCandidates('eu', 1500, 32, estimated), estimated);
    expect(q.precision).toBeGreaterThanOrEqual(0.99);
    expect(q.recall).toBeGreaterThanOrEqual(0.95);
  });
});
