import { parseRuleSet, RULE_SET_V1 } from './rule-set.loader';

describe('rule set loading', () => {
  it('the committed rule set is valid and versioned', () => {
    expect(RULE_SET_V1.version).toBe('v1');
    expect(RULE_SET_V1.thresholds.autoLink).toBeGreaterThan(RULE_SET_V1.thresholds.review);
    expect(RULE_SET_V1.fields.map((f) => f.field)).toEqual([
      'family',
      'given',
      'birthDate',
      'sex',
      'address',
      'phone',
      'nationalId',
      'insuranceId',
    ]);
    // agreement weighs for, disagreement against, on every field
    for (const f of RULE_SET_V1.fields) {
      const first = f.levels[0];
      const last = f.levels[f.levels.length - 1];
      expect(Math.log2(first.m / first.u)).toBeGreaterThan(0);
      expect(Math.log2(last.m / last.u)).toBeLessThan(0);
    }
  });

  it('rejects malformed rule sets with the path of the problem', () => {
    const bad = (patch: Record<string, unknown>) => () => parseRuleSet({ ...RULE_SET_V1, ...patch });
    expect(() => parseRuleSet(null)).toThrow(/at \$/);
    expect(bad({ version: '' })).toThrow(/\$\.version/);
    expect(bad({ thresholds: { autoLink: 1, review: 5 } })).toThrow(/\$\.thresholds/);
    expect(bad({ fields: [{ field: 'shoeSize', levels: [] }] })).toThrow(/\$\.fields\[0\]\.field/);
    expect(
      bad({
        fields: [
          {
            field: 'family',
            levels: [
              { level: 'a', m: 0, u: 0.1 },
              { level: 'b', m: 1, u: 0.9 },
            ],
          },
        ],
      }),
    ).toThrow(/levels\[0\]\.m/);
    expect(bad({ placeholderPatterns: ['(unclosed'] })).toThrow(/placeholderPatterns\[0\]/);
  });
});
