import {
  isOid,
  localAssigningAuthoritySystem,
  localCodeSystem,
  resolveCodeSystem,
} from './code-systems.vocabulary';

describe('coding system names (table 0396) -> FHIR system URIs', () => {
  it('maps the standard systems', () => {
    expect(resolveCodeSystem('LN', 'hosp-a', undefined)).toEqual({ system: 'http://loinc.org', known: true });
    expect(resolveCodeSystem('SCT', 'hosp-a', undefined).system).toBe('http://snomed.info/sct');
    expect(resolveCodeSystem('I10', 'hosp-a', undefined).system).toBe('http://hl7.org/fhir/sid/icd-10');
    expect(resolveCodeSystem('UCUM', 'hosp-a', undefined).system).toBe('http://unitsofmeasure.org');
  });

  it('maps HL7nnnn to the THO v2 table', () => {
    expect(resolveCodeSystem('HL70203', 'hosp-a', undefined).system).toBe(
      'http://terminology.hl7.org/CodeSystem/v2-0203',
    );
  });

  it('prefers the institution map, and keeps unknown local systems under the institution (never guessed)', () => {
    expect(resolveCodeSystem('LN', 'hosp-a', { LN: 'https://override.example/ln' }).system).toBe(
      'https://override.example/ln',
    );
    expect(resolveCodeSystem('99LAB', 'hosp-a', undefined)).toEqual({
      system: 'urn:tessera:cs:hosp-a:99LAB',
      known: false,
    });
    expect(localCodeSystem('hosp a', 'L/1')).toBe('urn:tessera:cs:hosp%20a:L%2F1');
  });

  it('builds assigning-authority URNs and recognises OIDs', () => {
    expect(localAssigningAuthoritySystem('hosp-a', 'LEGACY')).toBe('urn:tessera:aa:hosp-a:LEGACY');
    expect(localAssigningAuthoritySystem('hosp-a')).toBe('urn:tessera:aa:hosp-a');
    expect(isOid('2.16.840.1.113883.19.5')).toBe(true);
    expect(isOid('1.2.03')).toBe(false);
    expect(isOid('HOSPA')).toBe(false);
  });
});
