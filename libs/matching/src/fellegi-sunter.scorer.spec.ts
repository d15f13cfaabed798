import { levelWeight, scorePair, scoreVector } from './fellegi-sunter.scorer';
import { REGION_CN, REGION_US, type ComparisonVector, type MatchInput, type RuleSet } from './matching.types';
import { normalizeRecord } from './record-normalization.util';
import { RULE_SET_V1, RULE_SET_V2 } from './rule-set.loader';

const RULES: RuleSet = {
  version: 'test-1',
  thresholds: { autoLink: 10, review: 3 },
  autoLinkVetoes: [
    { field: 'given', levels: ['different'], unless: [{ field: 'nationalId', levels: ['exact-valid'] }] },
  ],
  placeholderPatterns: ['^baby (boy|girl)'],
  fields: [
    {
      field: 'family',
      levels: [
        { level: 'exact', m: 0.9, u: 0.01 },
        { level: 'different', m: 0.1, u: 0.99 },
      ],
    },
    {
      field: 'given',
      levels: [
        { level: 'exact', m: 0.9, u: 0.01 },
        { level: 'different', m: 0.1, u: 0.99 },
      ],
    },
    {
      field: 'birthDate',
      levels: [
        { level: 'exact', m: 0.9, u: 0.001 },
        { level: 'different', m: 0.1, u: 0.999 },
      ],
    },
    {
      field: 'nationalId',
      levels: [
        { level: 'exact-valid', m: 0.9, u: 0.00001 },
        { level: 'one-digit-off', m: 0.05, u: 0.00001, maxWeight: 2 },
        { level: 'different', m: 0.05, u: 0.99999 },
      ],
    },
  ],
};

const vector = (v: Partial<ComparisonVector>): ComparisonVector => ({
  family: null,
  given: null,
  birthDate: null,
  sex: null,
  address: null,
  phone: null,
  nationalId: null,
  insuranceId: null,
  ...v,
});

describe('Fellegi–Sunter scoring', () => {
  it('weights are log2(m/u); missing fields weigh 0; the breakdown explains the total', () => {
    expect(levelWeight(0.9, 0.01)).toBeCloseTo(6.492, 3);
    const r = scoreVector(vector({ family: 'exact', given: 'exact', birthDate: null }), RULES);
    expect(r.comparisons).toEqual([
      { field: 'family', level: 'exact', weight: 6.492 },
      { field: 'given', level: 'exact', weight: 6.492 },
      { field: 'birthDate', level: null, weight: 0 },
      { field: 'nationalId', level: null, weight: 0 },
    ]);
    expect(r.score).toBeCloseTo(12.984, 3);
    expect(r.decision).toBe('MATCH');
    expect(r.ruleSetVersion).toBe('test-1');
  });

  it('thresholds give MATCH / POSSIBLE_MATCH / NO_MATCH', () => {
    expect(scoreVector(vector({ family: 'exact', given: 'exact', birthDate: 'exact' }), RULES).decision).toBe(
      'MATCH',
    );
    expect(scoreVector(vector({ family: 'exact' }), RULES).decision).toBe('POSSIBLE_MATCH');
    expect(scoreVector(vector({ family: 'different', birthDate: 'different' }), RULES).decision).toBe(
      'NO_MATCH',
    );
  });

  it('a one-digit-off identifier is capped (maxWeight) and cannot carry a link on its own', () => {
    const r = scoreVector(
      vector({ nationalId: 'one-digit-off', family: 'different', given: 'different' }),
      RULES,
    );
    expect(r.comparisons.find((c) => c.field === 'nationalId')!.weight).toBe(2);
    expect(r.decision).toBe('NO_MATCH');
    // while a valid agreeing id is strong evidence
    const strong = scoreVector(vector({ nationalId: 'exact-valid' }), RULES);
    expect(strong.score).toBeGreaterThan(16);
  });

  it('vetoes cap MATCH at POSSIBLE_MATCH unless an exception holds', () => {
    const twin = scoreVector(
      vector({ family: 'exact', given: 'different', birthDate: 'exact', nationalId: null }),
      RULES,
    );
    expect(twin.score).toBeGreaterThan(10);
    expect(twin.decision).toBe('POSSIBLE_MATCH');
    expect(twin.capped).toBe('veto');
    const sameId = scoreVector(
      vector({ family: 'exact', given: 'different', birthDate: 'exact', nationalId: 'exact-valid' }),
      RULES,
    );
    expect(sameId.decision).toBe('MATCH');
  });

  it('placeholders never auto-link, however high the score', () => {
    const r = scoreVector(vector({ family: 'exact', given: 'exact', birthDate: 'exact' }), RULES, true);
    expect(r.decision).toBe('POSSIBLE_MATCH');
    expect(r.capped).toBe('placeholder');
  });

  it('with rule set v1: same person across institutions links; twins and John Does do not', () => {
    const norm = (m: MatchInput, region = REGION_US) =>
      normalizeRecord(m, { ...region, allowSyntheticSsn: true }, RULE_SET_V1);
    const a = norm({
      family: 'Smith',
      given: 'William',
      sex: 'M',
      birthDate: '1970-04-02',
      phone: '(217) 555-0100',
      address: { line: '12 Oak St', postalCode: '62701' },
    });
    const b = norm({
      family: 'SMITH',
      given: 'BILL',
      sex: 'M',
      birthDate: '19700204',
      phone: '2175550100',
      address: { line: '12 OAK STREET', postalCode: '62701' },
    });
    expect(scorePair(a, b, RULE_SET_V1).decision).toBe('MATCH');
    const twin = norm({
      family: 'Smith',
      given: 'Robert',
      sex: 'M',
      birthDate: '1970-04-02',
      phone: '(217) 555-0100',
      address: { line: '12 Oak St', postalCode: '62701' },
    });
    expect(scorePair(a, twin, RULE_SET_V1).decision).not.toBe('MATCH');
    const doe1 = norm({ family: 'Doe', given: 'John', sex: 'M', birthDate: '1980-01-01' });
    const doe2 = norm({ family: 'DOE', given: 'JOHN', sex: 'M', birthDate: '1980-01-01' });
    expect(doe1.placeholder).toBe(true);
    expect(scorePair(doe1, doe2, RULE_SET_V1).decision).not.toBe('MATCH');
    const cn1 = norm(
      { family: '王', given: '伟', sex: 'M', birthDate: '1980-05-06', nationalId: '11010519800506001X' },
      REGION_CN,
    );
    const cn2 = norm(
      { family: 'WANG', given: 'WEI', sex: 'M', birthDate: '1980-05-06', nationalId: '11010519800506001X' },
      REGION_CN,
    );
    expect(cn1.nationalId?.validity).toBe('invalid'); // made-up id, wrong check digit
    expect(scorePair(cn1, cn2, RULE_SET_V1).comparisons.find((c) => c.field === 'nationalId')!.level).toBe(
      'exact-invalid',
    );
    expect(scorePair(cn1, cn2, RULE_SET_V1).decision).toBe('MATCH');
  });

  it('a veto level "missing" matches a field missing on either side', () => {
    const rules: RuleSet = { ...RULES, autoLinkVetoes: [{ field: 'given', levels: ['different', 'missing'], unless: [{ field: 'nationalId', levels: ['exact-valid'] }] }] };
    const noGiven = scoreVector(vector({ family: 'exact', given: null, birthDate: 'exact', nationalId: null }), rules);
    expect(noGiven.score).toBeGreaterThan(10);
    expect(noGiven.capped).toBe('veto');
    expect(scoreVector(vector({ family: 'exact', given: null, birthDate: 'exact', nationalId: 'exact-valid' }), rules).decision).toBe('MATCH');
    // without "missing" in the levels a missing field never triggers the veto (v1 behaviour)
    expect(scoreVector(vector({ family: 'exact', given: null, birthDate: 'exact', nationalId: null }), RULES).decision).toBe('MATCH');
  });

  it('with rule set v2: a twin whose given name is missing or only similar does not auto-link without a common id', () => {
    const region = { ...REGION_US, allowSyntheticSsn: true };
    const household = { family: 'Nguyen', sex: 'F', birthDate: '2001-06-30', phone: '(217) 555-0199', address: { line: '4 Elm St', postalCode: '62702' } };
    const twinA = normalizeRecord({ ...household, given: 'Aubrey', insuranceId: 'INS-1' }, region, RULE_SET_V2);
    const noGiven = normalizeRecord({ ...household, insuranceId: 'INS-2' }, region, RULE_SET_V2);
    const similar = normalizeRecord({ ...household, given: 'Audrey', insuranceId: 'INS-2' }, region, RULE_SET_V2);
    // v1 links the record without a given name to twin A (surname, birth date, address and phone agree)
    expect(scorePair(twinA, noGiven, RULE_SET_V1).decision).toBe('MATCH');
    const v2 = scorePair(twinA, noGiven, RULE_SET_V2);
    expect(v2).toMatchObject({ decision: 'POSSIBLE_MATCH', capped: 'veto', ruleSetVersion: 'v2' });
    expect(scorePair(twinA, similar, RULE_SET_V2).decision).not.toBe('MATCH');
    // the same valid national id is enough evidence
    const withId = (m: MatchInput) => normalizeRecord({ ...m, nationalId: '912-34-5678' }, region, RULE_SET_V2);
    expect(scorePair(withId({ ...household, given: 'Aubrey' }), withId(household), RULE_SET_V2).decision).toBe('MATCH');
  });
});
