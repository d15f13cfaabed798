import type { Encounter } from '@medplum/fhirtypes';
import type { EncounterSnapshot } from './encounter-change.policy';
import { classifyEncounterChange, encounterSnapshot } from './encounter-change.policy';

function encounter(status: Encounter['status'], classCode: string, bed?: string): Encounter {
  return {
    resourceType: 'Encounter',
    id: 'enc-1',
    status,
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: classCode },
    ...(bed !== undefined
      ? {
          location: [
            {
              location: { identifier: { system: 'urn:tessera:location:hosp-a', value: bed } },
              status: 'active' as const,
            },
          ],
        }
      : {}),
  };
}

function snap(status: string, classCode: string, bed?: string): EncounterSnapshot {
  return encounterSnapshot(encounter(status as Encounter['status'], classCode, bed));
}

describe('encounterSnapshot', () => {
  it('keeps status, class code and the active location', () => {
    expect(encounterSnapshot(encounter('in-progress', 'IMP', 'W3^201'))).toEqual({
      status: 'in-progress',
      classCode: 'IMP',
      locationKey: 'urn:tessera:location:hosp-a|W3^201',
    });
  });

  it('ignores completed and reserved locations, prefers a reference, and has no key without a location', () => {
    const e: Encounter = {
      ...encounter('in-progress', 'IMP'),
      location: [
        { location: { reference: 'Location/old' }, status: 'completed' },
        { location: { reference: 'Location/next' }, status: 'reserved' },
        { location: { reference: 'Location/now', display: 'Ward 3' }, status: 'active' },
      ],
    };
    expect(encounterSnapshot(e).locationKey).toBe('Location/now');
    expect(encounterSnapshot(encounter('in-progress', 'IMP'))).toEqual({
      status: 'in-progress',
      classCode: 'IMP',
    });
  });

  it('has an empty class code when the encounter has no class', () => {
    const { class: _omitted, ...rest } = encounter('in-progress', 'IMP');
    expect(encounterSnapshot(rest as Encounter).classCode).toBe('');
  });
});

describe('classifyEncounterChange', () => {
  // One row per rule: [rule, previous, current, trigger, expected].
  const table: [string, EncounterSnapshot | undefined, Encounter, string | undefined, string | undefined][] =
    [
      // Rule 1: cancellations.
      [
        'A11 cancel admit',
        snap('in-progress', 'IMP'),
        encounter('cancelled', 'IMP'),
        'A11',
        'encounter-update',
      ],
      [
        'A12 cancel transfer (bed reverts)',
        snap('in-progress', 'IMP', 'B2'),
        encounter('in-progress', 'IMP', 'B1'),
        'A12',
        'encounter-update',
      ],
      [
        'A13 cancel discharge re-opens the stay',
        snap('finished', 'IMP'),
        encounter('in-progress', 'IMP'),
        'A13',
        'encounter-update',
      ],
      [
        'FHIR upload entered-in-error',
        snap('in-progress', 'EMER'),
        encounter('entered-in-error', 'EMER'),
        undefined,
        'encounter-update',
      ],
      // Rule 2: end of a visit.
      ['A03 inpatient', snap('in-progress', 'IMP'), encounter('finished', 'IMP'), 'A03', 'discharge'],
      ['A03 acute first seen finished', undefined, encounter('finished', 'ACUTE'), 'A03', 'discharge'],
      [
        'FHIR upload non-acute finished',
        snap('in-progress', 'NONAC'),
        encounter('finished', 'NONAC'),
        undefined,
        'discharge',
      ],
      [
        'A03 emergency',
        snap('in-progress', 'EMER'),
        encounter('finished', 'EMER'),
        'A03',
        'emergency-departure',
      ],
      ['A03 ambulatory', snap('in-progress', 'AMB'), encounter('finished', 'AMB'), 'A03', 'encounter-update'],
      [
        'A03 repeated for a finished stay',
        snap('finished', 'IMP'),
        encounter('finished', 'IMP'),
        'A03',
        'encounter-update',
      ],
      // Rule 3: start of an inpatient stay.
      ['A01 first seen', undefined, encounter('in-progress', 'IMP', 'B1'), 'A01', 'admission'],
      ['FHIR upload arrived acute', undefined, encounter('arrived', 'ACUTE'), undefined, 'admission'],
      ['A05 pre-admit then A01', snap('planned', 'IMP'), encounter('in-progress', 'IMP'), 'A01', 'admission'],
      [
        'A06 emergency to inpatient',
        snap('in-progress', 'EMER'),
        encounter('in-progress', 'IMP'),
        'A06',
        'admission',
      ],
      [
        'A06 outpatient to inpatient',
        snap('in-progress', 'AMB'),
        encounter('in-progress', 'IMP'),
        'A06',
        'admission',
      ],
      [
        'repeat A01 of an open stay',
        snap('in-progress', 'IMP', 'B1'),
        encounter('in-progress', 'IMP', 'B1'),
        'A01',
        'encounter-update',
      ],
      [
        'IMP to ACUTE while open',
        snap('in-progress', 'IMP'),
        encounter('in-progress', 'ACUTE'),
        'A08',
        'encounter-update',
      ],
      // Rule 4: emergency arrival.
      ['A04 with E', undefined, encounter('in-progress', 'EMER'), 'A04', 'emergency-arrival'],
      ['A01 with E', undefined, encounter('in-progress', 'EMER'), 'A01', 'emergency-arrival'],
      ['FHIR upload triaged', undefined, encounter('triaged', 'EMER'), undefined, 'emergency-arrival'],
      [
        'planned emergency arrives',
        snap('planned', 'EMER'),
        encounter('arrived', 'EMER'),
        undefined,
        'emergency-arrival',
      ],
      [
        'arrived then triaged',
        snap('arrived', 'EMER'),
        encounter('triaged', 'EMER'),
        undefined,
        'encounter-update',
      ],
      // Rule 5: transfer.
      ['A02', snap('in-progress', 'IMP', 'B1'), encounter('in-progress', 'IMP', 'B2'), 'A02', 'transfer'],
      [
        'A02 without a location change',
        snap('in-progress', 'IMP', 'B1'),
        encounter('in-progress', 'IMP', 'B1'),
        'A02',
        'transfer',
      ],
      [
        'A08 with a new bed',
        snap('in-progress', 'IMP', 'B1'),
        encounter('in-progress', 'IMP', 'B2'),
        'A08',
        'transfer',
      ],
      [
        'FHIR upload with a new bed',
        snap('in-progress', 'EMER', 'R1'),
        encounter('in-progress', 'EMER', 'R2'),
        undefined,
        'transfer',
      ],
      [
        'first bed assignment',
        snap('in-progress', 'IMP'),
        encounter('in-progress', 'IMP', 'B1'),
        'A08',
        'encounter-update',
      ],
      [
        'A10 tracking move',
        snap('in-progress', 'IMP', 'B1'),
        encounter('in-progress', 'IMP', 'XRAY'),
        'A10',
        'encounter-update',
      ],
      [
        'location change of a planned visit',
        snap('planned', 'IMP', 'B1'),
        encounter('planned', 'IMP', 'B2'),
        'A08',
        'encounter-update',
      ],
      // Rule 6: nothing to tell.
      [
        'A09 with nothing changed',
        snap('in-progress', 'IMP', 'B1'),
        encounter('in-progress', 'IMP', 'B1'),
        'A09',
        undefined,
      ],
      // Rule 7: everything else.
      [
        'A08 with no change',
        snap('in-progress', 'IMP', 'B1'),
        encounter('in-progress', 'IMP', 'B1'),
        'A08',
        'encounter-update',
      ],
      [
        'FHIR upload with the same snapshot',
        snap('in-progress', 'IMP'),
        encounter('in-progress', 'IMP'),
        undefined,
        'encounter-update',
      ],
      [
        'A07 inpatient to outpatient',
        snap('in-progress', 'IMP'),
        encounter('in-progress', 'AMB'),
        'A07',
        'encounter-update',
      ],
      ['A05 pre-admit', undefined, encounter('planned', 'IMP'), 'A05', 'encounter-update'],
      ['A04 outpatient registration', undefined, encounter('in-progress', 'AMB'), 'A04', 'encounter-update'],
      [
        'virtual visit class change',
        snap('in-progress', 'AMB'),
        encounter('in-progress', 'VR'),
        undefined,
        'encounter-update',
      ],
    ];

  it.each(table)('%s', (_rule, previous, current, trigger, expected) => {
    expect(classifyEncounterChange(previous, current, trigger)).toBe(expected);
  });

  it('reads the trigger case-insensitively and ignores surrounding spaces', () => {
    expect(
      classifyEncounterChange(
        snap('in-progress', 'IMP', 'B1'),
        encounter('in-progress', 'IMP', 'B1'),
        ' a02 ',
      ),
    ).toBe('transfer');
  });
});
