import { pairwiseQuality, patientOf } from './mpi-data';

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
