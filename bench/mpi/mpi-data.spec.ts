import { errorBreakdown, pairwiseQuality, patientOf } from './mpi-data';

describe('pairwiseQuality', () => {
  it('counts pairs within enterprise ids against pairs within persons', () => {
    // Person A has 3 records, two linked together and one alone; person B's record wrongly joins A's id.
    const q = pairwiseQuality([
      { cluster: 'e1', person: 'A' },
      { cluster: 'e1', person: 'A' },
      { cluster: 'e2', person: 'A' },
      { cluster: 'e1', person: 'B' },
      { cluster: 'e3', person: 'C' },
    ]);
    expect(q).toMatchObject({ truePairs: 3, predictedPairs: 3, truePositives: 1 });
    expect(q.precision).toBeCloseTo(1 / 3);
    expect(q.recall).toBeCloseTo(1 / 3);
    expect(q.f1).toBeCloseTo(1 / 3);
  });

  it('is perfect when the clusters are the persons', () => {
    expect(pairwiseQuality([{ cluster: 'x', person: 'A' }, { cluster: 'x', person: 'A' }, { cluster: 'y', person: 'B' }])).toMatchObject({
      precision: 1,
      recall: 1,
      f1: 1,
    });
  });
});

describe('patientOf', () => {
  it('maps a synthetic record to the Patient the gateway publishes (MR, SS, MB identifiers; sex U → unknown)', () => {
    const patient = patientOf({
      recordId: 'r1',
      personId: 'p1',
      institutionId: 'H1',
      assigningAuthority: '1.2.3',
      mrn: 'M1',
      demographics: { family: 'Doe', given: 'Ann', middle: 'B', nameScript: 'latin', sex: 'U', birthDate: '1980-01-02', nationalId: '900-11-2222', phone: '555-0101' },
      corruptions: [],
      placeholder: false,
      encounters: [],
    });
    expect(patient).toEqual({
      resourceType: 'Patient',
      identifier: [
        { system: 'urn:oid:1.2.3', value: 'M1', type: { coding: [{ code: 'MR' }] } },
        { system: 'urn:oid:2.16.840.1.113883.4.1', value: '900-11-2222', type: { coding: [{ code: 'SS' }] } },
      ],
      name: [{ use: 'official', family: 'Doe', given: ['Ann', 'B'] }],
      gender: 'unknown',
      birthDate: '1980-01-02',
      telecom: [{ system: 'phone', use: 'home', value: '555-0101' }],
    });
  });
});

describe('errorBreakdown', () => {
  it('classifies wrongly linked pairs by relation and missed pairs by corruption', () => {
    const r = (cluster: string, person: string, extra: Partial<{ household: string; twinOf: string; placeholder: boolean; corruptions: string[] }> = {}) => ({
      cluster,
      person,
      household: extra.household ?? `h-${person}`,
      ...(extra.twinOf === undefined ? {} : { twinOf: extra.twinOf }),
      placeholder: extra.placeholder ?? false,
      corruptions: extra.corruptions ?? [],
    });
    const b = errorBreakdown([
      r('E1', 'A', { household: 'H', twinOf: 'B' }),
      r('E1', 'B', { household: 'H', twinOf: 'A' }), // twin wrongly linked
      r('E2', 'C', { household: 'H2' }),
      r('E2', 'D', { household: 'H2' }), // household member wrongly linked
      r('E3', 'A', { corruptions: ['typo-given', 'moved'] }), // A's second record split off
      r('E4', 'C'),
      r('E5', 'C', { corruptions: ['typo-given'] }),
    ]);
    expect(b.falsePositives).toEqual({ twin: 1, household: 1 });
    // A: E1×E3 (typo-given, moved); C: E2×E4 (none), E2×E5 (typo-given), E4×E5 (typo-given)
    expect(b.falseNegativePairs).toBe(4);
    expect(b.falseNegatives).toEqual({ 'typo-given': 3, moved: 1, none: 1 });
  });
});
