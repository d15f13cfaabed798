import { ENTERPRISE_ID_SYSTEM, goldenRecord } from './golden-record.projection';

describe('goldenRecord', () => {
  const older = {
    system: 'urn:oid:1.2.3',
    localId: 'A1',
    updatedAt: new Date('2026-01-01T00:00:00Z'),
    patient: {
      resourceType: 'Patient' as const,
      name: [{ family: 'Okafor', given: ['Ada'] }],
      gender: 'female' as const,
      birthDate: '1980-02-03',
      telecom: [{ system: 'phone' as const, value: '555-0100' }],
      identifier: [{ system: 'urn:oid:2.16.840.1.113883.4.1', value: '900-11-2222' }],
    },
  };
  const newer = {
    system: 'urn:oid:4.5.6',
    localId: 'B7',
    updatedAt: new Date('2026-03-01T00:00:00Z'),
    patient: {
      resourceType: 'Patient' as const,
      name: [{ family: 'Okafor-Smith', given: ['Ada'] }],
      birthDate: '1980-02-03',
      identifier: [{ system: 'urn:oid:2.16.840.1.113883.4.1', value: '900-11-2222' }],
    },
  };

  it('takes each field from the most recent source that has it', () => {
    const golden = goldenRecord('E1', [older, newer]);
    expect(golden.name).toEqual([{ family: 'Okafor-Smith', given: ['Ada'] }]);
    expect(golden.gender).toBe('female'); // only the older source has it
    expect(golden.telecom).toEqual([{ system: 'phone', value: '555-0100' }]);
    expect(golden.id).toBe('E1');
  });

  it('lists the enterprise id first, then every source id and identifier once', () => {
    const golden = goldenRecord('E1', [older, newer]);
    expect(golden.identifier).toEqual([
      { system: ENTERPRISE_ID_SYSTEM, value: 'E1', use: 'official' },
      { system: 'urn:oid:4.5.6', value: 'B7' },
      { system: 'urn:oid:2.16.840.1.113883.4.1', value: '900-11-2222' },
      { system: 'urn:oid:1.2.3', value: 'A1' },
    ]);
  });
});
