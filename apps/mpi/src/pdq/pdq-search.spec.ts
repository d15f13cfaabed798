import { parseMatchParameters, parsePatientSearch } from './pdq.controller';

describe('parsePatientSearch', () => {
  it('normalizes names like the matcher (accents, case) and validates birthdate, gender and paging', () => {
    expect(parsePatientSearch({ family: 'Müller', given: 'JOSÉ', birthdate: 'eq1980-02-03', gender: 'male', _count: '5' })).toEqual({
      search: { familyPrefix: 'muller', givenPrefix: 'jose', birthDate: '1980-02-03', gender: 'male', count: 5, offset: 0 },
      issues: [],
    });
  });

  it('reads identifier as [system|]value, the enterprise id system as an enterprise id', () => {
    expect(parsePatientSearch({ identifier: 'urn:oid:1.1|A1' }).search?.identifier).toEqual({ system: 'urn:oid:1.1', value: 'A1' });
    expect(parsePatientSearch({ identifier: 'A1' }).search?.identifier).toEqual({ value: 'A1' });
    const id = '0b6a5c1e-2f4d-4c39-9a51-2d8f5b0e7c11';
    expect(parsePatientSearch({ identifier: `urn:tessera:enterprise-id|${id}` }).search?.enterpriseId).toBe(id);
  });

  it('reads telecom as a normalized phone or an e-mail, and address-postalcode as a normalized prefix', () => {
    expect(parsePatientSearch({ telecom: 'phone|+1 (617) 555-0101' }).search?.telecom).toEqual({ kind: 'phone', value: '6175550101' });
    expect(parsePatientSearch({ telecom: '617.555.0101' }).search?.telecom).toEqual({ kind: 'phone', value: '6175550101' });
    expect(parsePatientSearch({ telecom: 'Ann@Example.org' }).search?.telecom).toEqual({ kind: 'email', value: 'Ann@Example.org' });
    expect(parsePatientSearch({ 'address-postalcode': '02139-4307' }).search?.postalCodePrefix).toBe('02139');
    expect(parsePatientSearch({ 'address-postalcode': 'sw1a 1' }).search?.postalCodePrefix).toBe('SW1A1');
    expect(parsePatientSearch({ telecom: 'fax|123456' }).issues).toEqual([expect.objectContaining({ code: 'not-supported', expression: 'telecom' })]);
    expect(parsePatientSearch({ telecom: 'phone|12' }).issues).toEqual([expect.objectContaining({ expression: 'telecom' })]);
  });

  it('reports every invalid parameter, and a search without criteria', () => {
    const { search, issues } = parsePatientSearch({ birthdate: 'gt1980', gender: 'M', _count: '1000' });
    expect(search).toBeUndefined();
    expect(issues.map((i) => i.expression)).toEqual(['birthdate', 'gender', '_count']);
    expect(parsePatientSearch({ _count: '5' }).issues).toEqual([expect.objectContaining({ code: 'too-costly' })]);
  });
});

describe('parseMatchParameters', () => {
  it('reads resource, onlyCertainMatches and count', () => {
    const patient = { resourceType: 'Patient' as const, birthDate: '1980-02-03' };
    expect(
      parseMatchParameters({
        resourceType: 'Parameters',
        parameter: [{ name: 'resource', resource: patient }, { name: 'onlyCertainMatches', valueBoolean: true }, { name: 'count', valueInteger: 3 }],
      }).input,
    ).toEqual({ patient, onlyCertain: true, count: 3 });
  });

  it('rejects a body that is not Parameters, a missing Patient and an out-of-range count', () => {
    expect(parseMatchParameters({ resourceType: 'Patient' }).issues).toHaveLength(1);
    const { input, issues } = parseMatchParameters({ resourceType: 'Parameters', parameter: [{ name: 'count', valueInteger: 0 }] });
    expect(input).toBeUndefined();
    expect(issues.map((i) => i.code)).toEqual(['required', 'invalid']);
  });
});
