import type { Hl7Segment } from '@tessera/hl7v2';
import type {
  Extension,
  HumanName,
  Identifier,
  Organization,
  Patient,
  PatientContact,
  Practitioner,
  Reference,
} from '@medplum/fhirtypes';
import { mapCwe, mapCx, mapXad, mapXcn, mapXpn, mapXtn } from '../datatypes/v2-datatypes.mapper';
import type { MappingScope } from '../mapping.scope';
import { present } from '../mapping.scope';
import { deterministicId } from '../resource-id.util';
import { v2TableSystem } from '../vocabulary/code-systems.vocabulary';
import { mapAdministrativeSex } from '../vocabulary/v2-tables.vocabulary';

export interface MappedPatient {
  readonly patient: Patient;
  readonly localPatientId: string;
  readonly patientSystem: string;
  readonly identifiers: readonly (Identifier & { readonly system: string; readonly value: string })[];
}

/**
 * PD1-12 protection indicator (HL7 table 0136: Y protect access to the patient's information, N
 * normal access) -> Patient.extension with valueBoolean. The v2-to-FHIR IG leaves PD1-12 unmapped;
 * the consent service turns `true` into an opt-out directive on this source record, and reads a
 * Patient without the extension as "no change".
 *
 * HL7 v2.5 §2.5.3 (null values in fields): an empty field means "not sent — keep what you have",
 * while the explicit null `""` means "delete the value you have". So:
 *   PD1-12 Y -> true; N -> false; `""` -> false (the indicator is cleared: no protection is
 *   requested any more); PD1 absent, PD1-12 empty (or not a table 0136 value) -> no extension.
 */
export const PROTECTION_INDICATOR_EXTENSION = 'urn:tessera:fhir:extension:v2-protection-indicator';

/** The PD1-12 value a Patient carries: true (Y), false (N or cleared with ""), undefined (not sent: no change). */
export function protectionIndicatorOf(patient: Pick<Patient, 'extension'>): boolean | undefined {
  return patient.extension?.find((e) => e.url === PROTECTION_INDICATOR_EXTENSION)?.valueBoolean;
}

/** PD1-12 as the protection extension's value (see PROTECTION_INDICATOR_EXTENSION); undefined: none. */
function protectionIndicatorValue(pd1: Hl7Segment | undefined): boolean | undefined {
  const raw = pd1?.value(12) ?? '';
  if (raw === '""') return false;
  switch (raw.toUpperCase()) {
    case 'Y':
      return true;
    case 'N':
      return false;
    default:
      return undefined;
  }
}

/** PID-6 mother's maiden name (IG PID[Patient]). */
const MOTHERS_MAIDEN_NAME_EXTENSION = 'http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName';

/**
 * Elements of the Patient an HL7 v2 message cleared with the explicit null `""` (HL7 v2.5 §2.5.3:
 * `""` means "delete the value you have", an empty field "not sent — keep what you have"). A Patient
 * carries one extension per cleared element, `valueCode` the FHIR Patient element name (`name`,
 * `birthDate`, `gender`, `address`, `telecom`, `maritalStatus`, `multipleBirth`, `deceased`,
 * `generalPractitioner`; a choice element by its name without the type) or, for an element the
 * mapping carries as an extension, that extension's URL (PID-6 -> patient-mothersMaidenName).
 *
 * An element is listed when at least one v2 field that feeds it is `""` and none of them is valued,
 * e.g. PID-13 `""` with PID-14 empty -> `telecom`. Elements fed by several fields (name: PID-5, PID-9;
 * telecom: PID-13, PID-14) are cleared or replaced as a whole. A field that is simply empty produces
 * nothing, so a consumer that keeps stored state overlays what the Patient carries, removes the
 * listed elements and keeps the rest; a consumer that ignores the extension sees the Patient it saw
 * before. PID-3 (always required) and PD1-12 (mapped to false, see PROTECTION_INDICATOR_EXTENSION)
 * are never listed; NK1 (contact) is replaced when sent, never cleared.
 */
export const CLEARED_ELEMENT_EXTENSION = 'urn:tessera:fhir:extension:v2-cleared-element';

/** The elements a Patient says its message cleared (see CLEARED_ELEMENT_EXTENSION), in order. */
export function clearedElementsOf(patient: Pick<Patient, 'extension'>): readonly string[] {
  return (patient.extension ?? [])
    .filter((e) => e.url === CLEARED_ELEMENT_EXTENSION && e.valueCode !== undefined)
    .map((e) => e.valueCode ?? '');
}

/** The v2 fields that feed each clearable Patient element (see CLEARED_ELEMENT_EXTENSION). */
const CLEARABLE_FIELDS: readonly {
  readonly element: string;
  readonly segment: 'PID' | 'PD1';
  readonly fields: readonly number[];
}[] = [
  { element: MOTHERS_MAIDEN_NAME_EXTENSION, segment: 'PID', fields: [6] },
  { element: 'name', segment: 'PID', fields: [5, 9] },
  { element: 'birthDate', segment: 'PID', fields: [7] },
  { element: 'gender', segment: 'PID', fields: [8] },
  { element: 'address', segment: 'PID', fields: [11] },
  { element: 'telecom', segment: 'PID', fields: [13, 14] },
  { element: 'maritalStatus', segment: 'PID', fields: [16] },
  { element: 'multipleBirth', segment: 'PID', fields: [24, 25] },
  { element: 'deceased', segment: 'PID', fields: [29, 30] },
  { element: 'generalPractitioner', segment: 'PD1', fields: [3, 4] },
];

/** True when the whole field is the HL7 explicit null `""` (one repetition, nothing else). */
function explicitNull(segment: Hl7Segment, field: number): boolean {
  const reps = segment.repetitions(field);
  return reps.length === 1 && reps[0]?.text === '""';
}

/** Whether the mapped Patient carries `element` (a choice element under any type; an extension by URL). */
function carries(patient: Patient, element: string): boolean {
  if (element.includes(':')) return patient.extension?.some((e) => e.url === element) === true;
  return Object.keys(patient).some(
    (key) => key === element || (key.startsWith(element) && /^[A-Z]/.test(key.slice(element.length))),
  );
}

/** The cleared-element extensions of a mapped Patient (see CLEARED_ELEMENT_EXTENSION). */
function clearedElements(pid: Hl7Segment, pd1: Hl7Segment | undefined, patient: Patient): Extension[] {
  return CLEARABLE_FIELDS.filter(({ element, segment, fields }) => {
    const seg = segment === 'PID' ? pid : pd1;
    if (seg === undefined || carries(patient, element)) return false;
    const nulled = fields.filter((f) => explicitNull(seg, f));
    return nulled.length > 0 && fields.every((f) => nulled.includes(f) || seg.repetitions(f).length === 0);
  }).map(({ element }) => ({ url: CLEARED_ELEMENT_EXTENSION, valueCode: element }));
}

/** Identifier types that name the institution's own patient number, in order of preference. */
const LOCAL_ID_TYPES: readonly string[] = ['MR', 'PI', 'PT'];

/** The institution as a logical Reference(Organization): Patient.managingOrganization. */
export function institutionReference(institutionId: string): Reference<Organization> {
  return { type: 'Organization', identifier: { system: 'urn:tessera:institution', value: institutionId } };
}

export function patientId(institutionId: string, system: string, value: string): string {
  return deterministicId('Patient', institutionId, system, value);
}

/**
 * Chooses the local patient id among PID-3 (or MRG-1) repetitions: the first with identifier type
 * MR, else PI, else PT (v2 table 0203), else the first repetition.
 */
export function chooseLocalIdentifier<T extends Identifier>(identifiers: readonly T[]): T | undefined {
  for (const type of LOCAL_ID_TYPES) {
    const found = identifiers.find((i) => i.type?.coding?.some((c) => c.code === type) === true);
    if (found !== undefined) return found;
  }
  return identifiers[0];
}

/** CX repetitions of `field` as patient identifiers. */
export function patientIdentifiers(
  scope: MappingScope,
  segment: Hl7Segment,
  field: number,
): MappedPatient['identifiers'] {
  const out: (Identifier & { readonly system: string; readonly value: string })[] = [];
  segment.repetitions(field).forEach((rep, i) => {
    const identifier = mapCx(scope, rep, scope.at(segment, field, i + 1), 'patient');
    if (identifier !== undefined) out.push(identifier);
  });
  return out;
}

/**
 * PID (+ PD1, NK1) -> Patient, after the IG segment maps PID[Patient], PD1[Patient] and
 * NK1[Patient] (contact). Fails with 101 at PID-3 when no patient identifier is sent.
 */
export function mapPatient(
  scope: MappingScope,
  pid: Hl7Segment,
  pd1: Hl7Segment | undefined,
  nk1s: readonly Hl7Segment[],
): MappedPatient | undefined {
  // PID-3 patient identifier list (IG: identifier); PID-2 / PID-4 (deprecated external/alternate
  // ids, still sent by v2.3 feeds) are kept as further identifiers.
  const listed = patientIdentifiers(scope, pid, 3);
  const identifiers = [...listed, ...patientIdentifiers(scope, pid, 2), ...patientIdentifiers(scope, pid, 4)];
  const primary = chooseLocalIdentifier(listed);
  if (primary === undefined) {
    scope.fail(
      '101',
      scope.at(pid, 3),
      'PID-3 (patient identifier list) is required: send at least one identifier with CX-1 valued.',
    );
    return undefined;
  }
  const id = patientId(scope.ctx.institutionId, primary.system, primary.value);

  // PID-5 patient name and PID-9 alias (IG: name). Every repetition is kept, in order, in any script.
  const names: HumanName[] = [];
  for (const field of [5, 9]) {
    for (const rep of pid.repetitions(field)) {
      const name = mapXpn(rep);
      if (name !== undefined) names.push(name);
    }
  }
  if (names.length === 0) {
    scope.warn('MISSING_RECOMMENDED_FIELD', scope.at(pid, 5), 'PID-5 (patient name) is empty.');
  }

  const extension: Extension[] = [];
  // PID-6 mother's maiden name -> extension patient-mothersMaidenName (IG PID[Patient]).
  const maiden = pid.repetitions(6)[0]?.component(1, 1) ?? '';
  if (present(maiden)) {
    extension.push({
      url: MOTHERS_MAIDEN_NAME_EXTENSION,
      valueString: maiden,
    });
  }

  // PD1-12 protection indicator (table 0136) -> extension (see PROTECTION_INDICATOR_EXTENSION).
  const protection = protectionIndicatorValue(pd1);
  if (protection !== undefined)
    extension.push({ url: PROTECTION_INDICATOR_EXTENSION, valueBoolean: protection });

  // PID-7 date/time of birth -> birthDate (date part only).
  const birthRaw = pid.value(7, 1);
  let birthDate: string | undefined;
  if (present(birthRaw)) {
    const converted = scope.dateTime(birthRaw.slice(0, 8), scope.at(pid, 7));
    birthDate = converted;
  }

  // PID-8 administrative sex (table 0001) -> gender (IG ConceptMap AdministrativeSex).
  const sexCode = pid.value(8, 1);
  const gender = present(sexCode) ? mapAdministrativeSex(sexCode) : undefined;
  if (present(sexCode) && gender === undefined) {
    scope.warn('UNKNOWN_CODE', scope.at(pid, 8), 'PID-8 code is not in HL7 table 0001; gender left empty.');
  }

  // PID-11 addresses; PID-13 home and PID-14 business telecom.
  const address = pid.repetitions(11).flatMap((rep) => mapXad(rep) ?? []);
  const telecom = [
    ...pid.repetitions(13).flatMap((rep) => mapXtn(rep, 'home') ?? []),
    ...pid.repetitions(14).flatMap((rep) => mapXtn(rep, 'work') ?? []),
  ];

  // PID-16 marital status (table 0002) -> maritalStatus.
  const maritalStatus = mapCwe(scope, pid.repetitions(16)[0], scope.at(pid, 16), v2TableSystem('0002'));

  // PID-24 multiple birth indicator / PID-25 birth order -> multipleBirth[x].
  const birthOrder = pid.value(25);
  const multipleBirth = pid.value(24).toUpperCase();
  const multipleBirthValue: Pick<Patient, 'multipleBirthInteger' | 'multipleBirthBoolean'> =
    present(birthOrder) && /^\d+$/.test(birthOrder)
      ? { multipleBirthInteger: Number(birthOrder) }
      : multipleBirth === 'Y' || multipleBirth === 'N'
        ? { multipleBirthBoolean: multipleBirth === 'Y' }
        : {};

  // PID-29 death date/time, PID-30 death indicator -> deceased[x].
  const deathDateTime = scope.dateTime(pid.value(29, 1), scope.at(pid, 29));
  const deathIndicator = pid.value(30).toUpperCase();
  const deceased: Pick<Patient, 'deceasedDateTime' | 'deceasedBoolean'> =
    deathDateTime !== undefined
      ? { deceasedDateTime: deathDateTime }
      : deathIndicator === 'Y' || deathIndicator === 'N'
        ? { deceasedBoolean: deathIndicator === 'Y' }
        : {};

  // PD1-3 patient primary facility (XON) and PD1-4 primary care provider (XCN) -> generalPractitioner.
  const generalPractitioner: Reference<Organization | Practitioner>[] = [];
  if (pd1 !== undefined) {
    for (const rep of pd1.repetitions(3)) {
      const name = rep.component(1);
      const orgId = rep.component(10) || rep.component(3);
      if (!present(name) && !present(orgId)) continue;
      generalPractitioner.push({
        type: 'Organization',
        ...(present(orgId)
          ? {
              identifier: {
                system: `urn:tessera:aa:${encodeURIComponent(scope.ctx.institutionId)}`,
                value: orgId,
              },
            }
          : {}),
        ...(present(name) ? { display: name } : {}),
      });
    }
    pd1.repetitions(4).forEach((rep, i) => {
      const ref = mapXcn(scope, rep, scope.at(pd1, 4, i + 1));
      if (ref !== undefined) generalPractitioner.push(ref);
    });
  }

  const contact = nk1s.flatMap((nk1) => mapNextOfKin(scope, nk1) ?? []);

  const demographics: Omit<Patient, 'resourceType' | 'id' | 'extension'> = {
    identifier: identifiers.map((i) => ({ ...i })),
    ...(names.length > 0 ? { name: names } : {}),
    ...(telecom.length > 0 ? { telecom } : {}),
    ...(gender !== undefined ? { gender } : {}),
    ...(birthDate !== undefined ? { birthDate } : {}),
    ...deceased,
    ...(address.length > 0 ? { address } : {}),
    ...(maritalStatus !== undefined ? { maritalStatus } : {}),
    ...multipleBirthValue,
    ...(contact.length > 0 ? { contact } : {}),
    ...(generalPractitioner.length > 0 ? { generalPractitioner } : {}),
    managingOrganization: institutionReference(scope.ctx.institutionId),
  };
  // Elements the message cleared with "" (see CLEARED_ELEMENT_EXTENSION); empty fields add nothing.
  extension.push(...clearedElements(pid, pd1, { resourceType: 'Patient', extension, ...demographics }));
  const patient: Patient = {
    resourceType: 'Patient',
    id,
    ...(extension.length > 0 ? { extension } : {}),
    ...demographics,
  };
  return { patient, localPatientId: primary.value, patientSystem: primary.system, identifiers };
}

/**
 * NK1 -> Patient.contact (IG NK1[Patient]): 2 name, 3 relationship (table 0063), 4 address,
 * 5 phone, 6 business phone, 7 contact role (table 0131), 8/9 start/end date, 13 organization,
 * 15 administrative sex.
 */
function mapNextOfKin(scope: MappingScope, nk1: Hl7Segment): PatientContact | undefined {
  const name = nk1
    .repetitions(2)
    .map(mapXpn)
    .find((n) => n !== undefined);
  const relationship = [
    mapCwe(scope, nk1.repetitions(3)[0], scope.at(nk1, 3), v2TableSystem('0063')),
    mapCwe(scope, nk1.repetitions(7)[0], scope.at(nk1, 7), v2TableSystem('0131')),
  ].filter((r) => r !== undefined);
  const address = nk1
    .repetitions(4)
    .map(mapXad)
    .find((a) => a !== undefined);
  const telecom = [
    ...nk1.repetitions(5).flatMap((rep) => mapXtn(rep, 'home') ?? []),
    ...nk1.repetitions(6).flatMap((rep) => mapXtn(rep, 'work') ?? []),
  ];
  const organizationName = nk1.value(13, 1);
  const sex = nk1.value(15, 1);
  const gender = present(sex) ? mapAdministrativeSex(sex) : undefined;
  const start = scope.dateTime(nk1.value(8, 1), scope.at(nk1, 8));
  const end = scope.dateTime(nk1.value(9, 1), scope.at(nk1, 9));
  if (name === undefined && telecom.length === 0 && address === undefined && !present(organizationName))
    return undefined;
  return {
    ...(relationship.length > 0 ? { relationship } : {}),
    ...(name !== undefined ? { name } : {}),
    ...(telecom.length > 0 ? { telecom } : {}),
    ...(address !== undefined ? { address } : {}),
    ...(gender !== undefined ? { gender } : {}),
    ...(present(organizationName) ? { organization: { display: organizationName } } : {}),
    ...(start !== undefined || end !== undefined
      ? { period: { ...(start !== undefined ? { start } : {}), ...(end !== undefined ? { end } : {}) } }
      : {}),
  };
}
