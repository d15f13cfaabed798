import type { Patient } from '@medplum/fhirtypes';
import { CLEARED_ELEMENT_EXTENSION, PROTECTION_INDICATOR_EXTENSION } from '@tessera/v2-fhir';
import { overlaySourceRecord } from './source-record-overlay.policy';

const MRN = 'urn:oid:1.2.3.1';
const SSN = 'urn:oid:2.16.840.1.113883.4.1';
const MAIDEN = 'http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName';

const stored: Readonly<Patient> = {
  resourceType: 'Patient',
  id: 'p-1',
  extension: [
    { url: MAIDEN, valueString: 'Oldname' },
    { url: PROTECTION_INDICATOR_EXTENSION, valueBoolean: true },
  ],
  identifier: [
    { system: MRN, value: 'M-1' },
    { system: SSN, value: '900-00-0001' },
  ],
  name: [{ use: 'official', family: 'Rivera', given: ['Ana'] }],
  telecom: [
    { system: 'phone', value: '+1 555 0100', use: 'home' },
    { system: 'phone', value: '+1 555 0199', use: 'work' },
  ],
  gender: 'female',
  birthDate: '1980-01-01',
  deceasedDateTime: '2026-01-01',
  address: [{ use: 'home', line: ['1 Main St'], postalCode: '12345' }],
  maritalStatus: { coding: [{ code: 'M' }] },
  multipleBirthInteger: 2,
  managingOrganization: { identifier: { system: 'urn:tessera:institution', value: 'h1' } },
};

/** What a thin PID (PID-3 MR and PID-5 only) maps to. */
const thin: Readonly<Patient> = {
  resourceType: 'Patient',
  id: 'p-1',
  identifier: [{ system: MRN, value: 'M-1' }],
  name: [{ use: 'official', family: 'Rivera', given: ['Ana', 'Maria'] }],
  managingOrganization: { identifier: { system: 'urn:tessera:institution', value: 'h1' } },
};

function cleared(...elements: string[]): Patient['extension'] {
  return elements.map((valueCode) => ({ url: CLEARED_ELEMENT_EXTENSION, valueCode }));
}

describe('overlaySourceRecord (HL7 v2 §2.5.3: an empty field keeps, "" deletes, a value replaces)', () => {
  it('keeps every stored element the message did not send and replaces the ones it sent', () => {
    expect(overlaySourceRecord(stored, thin)).toEqual({ ...stored, name: thin.name });
  });

  it('replaces a list element as a whole (the message lists all current values of its field)', () => {
    const sent: Patient = { ...thin, telecom: [{ system: 'phone', value: '+1 555 0200', use: 'home' }] };
    expect(overlaySourceRecord(stored, sent).telecom).toEqual([
      { system: 'phone', value: '+1 555 0200', use: 'home' },
    ]);
  });

  it('removes the elements the message cleared and keeps the others', () => {
    const result = overlaySourceRecord(stored, { ...thin, extension: cleared('telecom', 'birthDate') });
    expect(result.telecom).toBeUndefined();
    expect(result.birthDate).toBeUndefined();
    expect(result.address).toEqual(stored.address);
    expect(result.gender).toBe('female');
  });

  it('treats a choice element as one element: any type sent replaces, a cleared one removes every type', () => {
    const replaced = overlaySourceRecord(stored, {
      ...thin,
      deceasedBoolean: false,
      multipleBirthBoolean: true,
    });
    expect(replaced).toMatchObject({ deceasedBoolean: false, multipleBirthBoolean: true });
    expect(replaced.deceasedDateTime).toBeUndefined();
    expect(replaced.multipleBirthInteger).toBeUndefined();
    const removed = overlaySourceRecord(stored, { ...thin, extension: cleared('deceased', 'multipleBirth') });
    expect(
      Object.keys(removed).filter((k) => k.startsWith('deceased') || k.startsWith('multipleBirth')),
    ).toEqual([]);
  });

  it('unites identifiers by system: a sent identifier replaces the stored one of its system', () => {
    expect(overlaySourceRecord(stored, thin).identifier).toEqual(stored.identifier);
    const renumbered: Patient = {
      ...thin,
      identifier: [
        { system: MRN, value: 'M-1' },
        { system: SSN, value: '900-00-0002' },
      ],
    };
    expect(overlaySourceRecord(stored, renumbered).identifier).toEqual(renumbered.identifier);
    const insurance = { system: 'urn:oid:9.9', value: 'INS-1' };
    expect(
      overlaySourceRecord(stored, { ...thin, identifier: [...(thin.identifier ?? []), insurance] })
        .identifier,
    ).toEqual([{ system: MRN, value: 'M-1' }, insurance, { system: SSN, value: '900-00-0001' }]);
  });

  it('merges extensions by URL, removes a cleared one, and never stores the cleared-element list', () => {
    const sent: Patient = {
      ...thin,
      extension: [{ url: PROTECTION_INDICATOR_EXTENSION, valueBoolean: false }, ...(cleared(MAIDEN) ?? [])],
    };
    expect(overlaySourceRecord(stored, sent).extension).toEqual([
      { url: PROTECTION_INDICATOR_EXTENSION, valueBoolean: false },
    ]);
    expect(overlaySourceRecord(stored, { ...thin, extension: cleared('telecom') }).extension).toEqual(
      stored.extension,
    );
  });

  it('lets a value the message sent win over a clear of the same element', () => {
    const sent: Patient = {
      ...thin,
      telecom: [{ system: 'email', value: 'a@example.org' }],
      extension: cleared('telecom'),
    };
    expect(overlaySourceRecord(stored, sent).telecom).toEqual([{ system: 'email', value: 'a@example.org' }]);
  });

  it('ignores a cleared code that names no clearable element', () => {
    const result = overlaySourceRecord(stored, {
      ...thin,
      extension: cleared('resourceType', 'identifier', 'id'),
    });
    expect(result).toEqual({ ...stored, name: thin.name });
  });

  it('stores a new record as sent, without the cleared-element list', () => {
    const sent: Patient = { ...thin, extension: cleared('telecom') };
    expect(overlaySourceRecord(null, sent)).toEqual(thin);
  });

  it('does not modify its inputs', () => {
    const before = JSON.stringify(stored);
    overlaySourceRecord(stored, { ...thin, extension: cleared('telecom', 'address') });
    expect(JSON.stringify(stored)).toBe(before);
  });
});
