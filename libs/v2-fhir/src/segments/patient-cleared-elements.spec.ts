import type { Patient } from '@medplum/fhirtypes';
import { parseHl7 } from '@tessera/hl7v2';
import { mapHl7Message } from '../message.mapper';
import { HOSP_A_CONTEXT } from '../testing/mapping-contexts.fixture';
import {
  CLEARED_ELEMENT_EXTENSION,
  clearedElementsOf,
  PROTECTION_INDICATOR_EXTENSION,
} from './patient.mapper';

const MSH = 'MSH|^~\\&|HIS|HOSPA|TESSERA|REGION|20240501083000+0800||ADT^A31^ADT_A05|CTRL-1|P|2.5.1';

/**
 * A PID with PID-1 and PID-3 set and `fields` (field number -> raw value) filled in; every other
 * field empty.
 */
function pid(fields: Readonly<Record<number, string>>): string {
  const values: string[] = ['1', '', 'MRN-1^^^HOSPA^MR'];
  for (const [field, value] of Object.entries(fields)) values[Number(field) - 1] = value;
  return ['PID', ...Array.from(values, (v) => v ?? '')].join('|');
}

function patientOf(...segments: string[]): Patient {
  const outcome = mapHl7Message(parseHl7([MSH, ...segments].join('\r')), HOSP_A_CONTEXT);
  if (outcome.status !== 'mapped') throw new Error(`expected mapped, got ${outcome.status}`);
  return outcome.result.patient;
}

const NAME = 'Testperson^Alex^^^^^L';

describe('explicit null "" versus an empty field in PID / PD1 (HL7 v2.5 §2.5.3)', () => {
  it('lists nothing when fields are simply empty: the Patient is what the message sent', () => {
    const patient = patientOf(pid({ 5: NAME }));
    expect(clearedElementsOf(patient)).toEqual([]);
    expect(patient.extension).toBeUndefined();
    expect(Object.keys(patient).sort()).toEqual([
      'id',
      'identifier',
      'managingOrganization',
      'name',
      'resourceType',
    ]);
  });

  it('lists each element whose field is "" as a cleared-element extension with the element name', () => {
    const patient = patientOf(pid({ 5: NAME, 7: '""', 8: '""', 11: '""', 13: '""', 16: '""' }));
    expect(patient.extension).toEqual(
      ['birthDate', 'gender', 'address', 'telecom', 'maritalStatus'].map((valueCode) => ({
        url: CLEARED_ELEMENT_EXTENSION,
        valueCode,
      })),
    );
    for (const element of ['birthDate', 'gender', 'address', 'telecom', 'maritalStatus'] as const) {
      expect(patient[element]).toBeUndefined();
    }
  });

  it('clears an element fed by several fields only when none of them is valued', () => {
    // PID-13 "" (home phone) with PID-14 empty: telecom cleared as a whole.
    expect(clearedElementsOf(patientOf(pid({ 5: NAME, 13: '""' })))).toEqual(['telecom']);
    // PID-13 "" but PID-14 valued: telecom is sent (the business phone), nothing cleared.
    const withWork = patientOf(pid({ 5: NAME, 13: '""', 14: '^WPN^PH^^1^555^5550199' }));
    expect(clearedElementsOf(withWork)).toEqual([]);
    expect(withWork.telecom).toEqual([{ system: 'phone', value: '+1 555 5550199', use: 'work' }]);
    // PID-5 "" and PID-9 "" clear the name; PID-5 "" with an alias in PID-9 sends the alias.
    expect(clearedElementsOf(patientOf(pid({ 5: '""', 9: '""' })))).toEqual(['name']);
    expect(clearedElementsOf(patientOf(pid({ 5: '""', 9: 'Alias^Al' })))).toEqual([]);
  });

  it('names a choice element without its type, and an element carried as an extension by its URL', () => {
    const patient = patientOf(pid({ 5: NAME, 6: '""', 24: '""', 29: '""', 30: '""' }));
    expect(clearedElementsOf(patient)).toEqual([
      'http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName',
      'multipleBirth',
      'deceased',
    ]);
  });

  it('does not list an element whose field is "" inside a component only, or repeated', () => {
    expect(clearedElementsOf(patientOf(pid({ 5: NAME, 11: '""^^Springfield' })))).toEqual([]);
    expect(clearedElementsOf(patientOf(pid({ 5: NAME, 13: '""~""' })))).toEqual([]);
  });

  it('clears PD1-3/PD1-4 as generalPractitioner; PD1-12 "" stays the protection indicator false', () => {
    const patient = patientOf(pid({ 5: NAME }), 'PD1|||""|""||||||||""');
    expect(patient.extension).toEqual([
      { url: PROTECTION_INDICATOR_EXTENSION, valueBoolean: false },
      { url: CLEARED_ELEMENT_EXTENSION, valueCode: 'generalPractitioner' },
    ]);
    expect(clearedElementsOf(patientOf(pid({ 5: NAME })))).toEqual([]);
  });

  it('reads the list by its URL only', () => {
    expect(
      clearedElementsOf({
        extension: [
          { url: CLEARED_ELEMENT_EXTENSION, valueCode: 'telecom' },
          { url: 'urn:example:other', valueCode: 'address' },
        ],
      }),
    ).toEqual(['telecom']);
    expect(clearedElementsOf({})).toEqual([]);
  });
});
