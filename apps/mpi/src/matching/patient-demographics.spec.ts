import { demographicsOf } from './patient-demographics';

describe('demographicsOf', () => {
  it('reads name, sex, birth date, home phone and address, and typed national / insurance ids', () => {
    const input = demographicsOf({
      resourceType: 'Patient',
      name: [{ use: 'maiden', family: 'Old' }, { use: 'official', family: 'Okafor', given: ['Ada', 'Grace'] }],
      gender: 'female',
      birthDate: '1980-02-03',
      telecom: [{ system: 'phone', use: 'work', value: '555-0199' }, { system: 'phone', use: 'home', value: '555-0100' }],
      address: [{ use: 'home', line: ['1 Main St'], city: 'Springfield', postalCode: '62701', country: 'US' }],
      identifier: [
        { system: 'urn:oid:1.2.3', value: 'MRN1', type: { coding: [{ code: 'MR' }] } },
        { system: 'urn:oid:2.16.840.1.113883.4.1', value: '900-11-2222', type: { coding: [{ code: 'SS' }] } },
        { system: 'urn:oid:9.9', value: 'INS-7', type: { coding: [{ code: 'MB' }] } },
      ],
    });
    expect(input).toEqual({
      family: 'Okafor',
      given: 'Ada',
      middle: 'Grace',
      sex: 'female',
      birthDate: '1980-02-03',
      address: { line: '1 Main St', city: 'Springfield', postalCode: '62701', country: 'US' },
      phone: '555-0100',
      nationalId: '900-11-2222',
      insuranceId: 'INS-7',
    });
  });

  it('leaves out what the Patient does not carry (an MRN is not a national id)', () => {
    expect(
      demographicsOf({ resourceType: 'Patient', identifier: [{ value: 'MRN1', type: { coding: [{ code: 'MR' }] } }] }),
    ).toEqual({});
  });
});
