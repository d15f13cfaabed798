import type { Hl7Segment } from '@tessera/hl7v2';
import type {
  CodeableConcept,
  Encounter,
  EncounterLocation,
  EncounterParticipant,
  Identifier,
  Patient,
  Reference,
} from '@medplum/fhirtypes';
import { mapCwe, mapCx, mapXcn, plPath } from '../datatypes/v2-datatypes.mapper';
import type { MappingScope } from '../mapping.scope';
import { present } from '../mapping.scope';
import { deterministicId } from '../resource-id.util';
import { localCodeSystem, V3_PARTICIPATION_TYPE, v2TableSystem } from '../vocabulary/code-systems.vocabulary';
import {
  mapPatientClass,
  mapPatientClassToStatus,
  mapTriggerToEncounterStatus,
} from '../vocabulary/v2-tables.vocabulary';

/** PV1 practitioner fields -> Encounter.participant.type (IG PV1[Encounter] rows 7, 8, 9, 17). */
const PARTICIPANT_FIELDS: readonly {
  readonly field: number;
  readonly code: string;
  readonly display: string;
}[] = [
  { field: 7, code: 'ATND', display: 'attender' },
  { field: 8, code: 'REF', display: 'referrer' },
  { field: 9, code: 'CON', display: 'consultant' },
  { field: 17, code: 'ADM', display: 'admitter' },
];

const VISIT_NUMBER_TYPE: CodeableConcept = {
  coding: [{ system: v2TableSystem('0203'), code: 'VN', display: 'Visit number' }],
};

export interface EncounterKey {
  readonly id: string;
  readonly visitNumber?: Identifier;
}

/**
 * The deterministic Encounter id: from PV1-19 visit number (system + value) when sent; otherwise
 * from the patient and PV1-44 admit date/time; otherwise from MSH-10 (a replay of the same message
 * still maps to the same id, but later events of the visit cannot be correlated: warned).
 */
export function encounterKey(scope: MappingScope, pv1: Hl7Segment, patientResourceId: string): EncounterKey {
  const rep = pv1.repetitions(19)[0];
  const visitNumber = rep !== undefined ? mapCx(scope, rep, scope.at(pv1, 19), 'other') : undefined;
  if (visitNumber !== undefined) {
    return {
      id: deterministicId('Encounter', scope.ctx.institutionId, visitNumber.system, visitNumber.value),
      visitNumber: { ...visitNumber, type: VISIT_NUMBER_TYPE },
    };
  }
  const admit = pv1.value(44, 1);
  scope.warn(
    'MISSING_RECOMMENDED_FIELD',
    scope.at(pv1, 19),
    'PV1-19 (visit number) is empty: later events of this visit cannot be linked reliably. Send PV1-19.',
  );
  if (present(admit))
    return { id: deterministicId('Encounter', scope.ctx.institutionId, patientResourceId, 'admit', admit) };
  return {
    id: deterministicId('Encounter', scope.ctx.institutionId, 'msh-10', scope.message.header.controlId),
  };
}

function currentLocationStatus(classCode: string, status: Encounter['status']): EncounterLocation['status'] {
  if (classCode.toUpperCase() === 'P' || status === 'planned') return 'planned';
  return status === 'finished' ? 'completed' : 'active';
}

function location(
  path: string | undefined,
  institutionId: string,
  status: EncounterLocation['status'],
): EncounterLocation | undefined {
  if (path === undefined) return undefined;
  return {
    location: {
      type: 'Location',
      identifier: { system: `urn:tessera:location:${encodeURIComponent(institutionId)}`, value: path },
      display: path,
    },
    ...(status !== undefined ? { status } : {}),
  };
}

/**
 * PV1 (+ PV2) -> Encounter after the IG segment maps PV1[Encounter] and PV2[Encounter].
 * Status: the ADT trigger (see mapTriggerToEncounterStatus), else PV1-45 valued -> finished,
 * else PV1-2 via PatientClass[EncounterStatus]. Fails with 101 when PV1-2 is empty.
 */
export function mapEncounter(
  scope: MappingScope,
  pv1: Hl7Segment,
  pv2: Hl7Segment | undefined,
  patient: Reference<Patient>,
  patientResourceId: string,
  triggerEvent: string,
): Encounter | undefined {
  // PV1-2 patient class (table 0004) -> class (IG PatientClass[EncounterClass]). Required in v2 and FHIR.
  const classCode = pv1.value(2, 1);
  if (!present(classCode)) {
    scope.fail(
      '101',
      scope.at(pv1, 2),
      'PV1-2 (patient class) is required: send a code from HL7 table 0004 (E, I, O, P, R, B, ...).',
    );
    return undefined;
  }
  let encounterClass = mapPatientClass(classCode);
  if (encounterClass === undefined) {
    scope.warn(
      'UNKNOWN_CODE',
      scope.at(pv1, 2),
      'PV1-2 code is not in HL7 table 0004; kept as a local code.',
    );
    encounterClass = { system: localCodeSystem(scope.ctx.institutionId, 'HL70004'), code: classCode };
  }

  const key = encounterKey(scope, pv1, patientResourceId);
  const trigger = triggerEvent.toUpperCase();
  const dischargeRaw = pv1.value(45, 1);
  // A13 cancels the discharge: the visit is open again, whatever PV1-45 still carries.
  const discharge = trigger === 'A13' ? undefined : scope.dateTime(dischargeRaw, scope.at(pv1, 45));
  if (trigger === 'A13' && present(dischargeRaw)) {
    scope.warn(
      'IGNORED_DATA',
      scope.at(pv1, 45),
      'A13 cancels the discharge: PV1-45 is ignored and period.end removed.',
    );
  }
  const status =
    mapTriggerToEncounterStatus(trigger) ??
    (discharge !== undefined ? 'finished' : (mapPatientClassToStatus(classCode) ?? 'unknown'));

  const admit = scope.dateTime(pv1.value(44, 1), scope.at(pv1, 44));

  // PV1-3 assigned location (IG: active, planned when PV1-2 = P; completed once the visit is
  // finished), PV1-6 prior location (completed),
  // PV1-11 temporary location (active), PV1-42 pending location (reserved).
  const locations = [
    location(
      plPath(pv1.repetitions(3)[0]),
      scope.ctx.institutionId,
      currentLocationStatus(classCode, status),
    ),
    location(plPath(pv1.repetitions(6)[0]), scope.ctx.institutionId, 'completed'),
    location(plPath(pv1.repetitions(11)[0]), scope.ctx.institutionId, 'active'),
    location(plPath(pv1.repetitions(42)[0]), scope.ctx.institutionId, 'reserved'),
  ].filter((l) => l !== undefined);

  const participant: EncounterParticipant[] = [];
  for (const { field, code, display } of PARTICIPANT_FIELDS) {
    pv1.repetitions(field).forEach((rep, i) => {
      const individual = mapXcn(scope, rep, scope.at(pv1, field, i + 1));
      if (individual === undefined) return;
      participant.push({
        type: [{ coding: [{ system: V3_PARTICIPATION_TYPE, code, display }], text: display }],
        individual,
      });
    });
  }

  // PV1-4 admission type (table 0007) -> type; PV1-10 hospital service (table 0069) -> serviceType.
  const admissionType = mapCwe(scope, pv1.repetitions(4)[0], scope.at(pv1, 4), v2TableSystem('0007'));
  const serviceType = mapCwe(
    scope,
    pv1.repetitions(10)[0],
    scope.at(pv1, 10),
    localCodeSystem(scope.ctx.institutionId, 'HL70069'),
  );

  // PV1-50 alternate visit id -> identifier.
  const alternate = pv1
    .repetitions(50)
    .flatMap((rep, i) => mapCx(scope, rep, scope.at(pv1, 50, i + 1), 'other') ?? []);

  // hospitalization: PV1-5 preadmit number, PV1-13 re-admission, PV1-14 admit source, PV1-16 VIP,
  // PV1-36 discharge disposition, PV1-37 discharged to location, PV1-38 diet.
  const preAdmissionRep = pv1.repetitions(5)[0];
  const preAdmissionIdentifier =
    preAdmissionRep !== undefined ? mapCx(scope, preAdmissionRep, scope.at(pv1, 5), 'other') : undefined;
  const reAdmission = mapCwe(scope, pv1.repetitions(13)[0], scope.at(pv1, 13), v2TableSystem('0092'));
  const admitSource = mapCwe(
    scope,
    pv1.repetitions(14)[0],
    scope.at(pv1, 14),
    localCodeSystem(scope.ctx.institutionId, 'HL70023'),
  );
  const specialCourtesy = mapCwe(
    scope,
    pv1.repetitions(16)[0],
    scope.at(pv1, 16),
    localCodeSystem(scope.ctx.institutionId, 'HL70099'),
  );
  const dischargeDisposition = mapCwe(
    scope,
    pv1.repetitions(36)[0],
    scope.at(pv1, 36),
    localCodeSystem(scope.ctx.institutionId, 'HL70112'),
  );
  const destinationName = pv1.value(37, 1);
  const diet = mapCwe(
    scope,
    pv1.repetitions(38)[0],
    scope.at(pv1, 38),
    localCodeSystem(scope.ctx.institutionId, 'HL70114'),
  );
  const hospitalization: NonNullable<Encounter['hospitalization']> = {
    ...(preAdmissionIdentifier !== undefined ? { preAdmissionIdentifier } : {}),
    ...(admitSource !== undefined ? { admitSource } : {}),
    ...(reAdmission !== undefined ? { reAdmission } : {}),
    ...(diet !== undefined ? { dietPreference: [diet] } : {}),
    ...(specialCourtesy !== undefined ? { specialCourtesy: [specialCourtesy] } : {}),
    ...(present(destinationName) ? { destination: { type: 'Location', display: destinationName } } : {}),
    ...(dischargeDisposition !== undefined ? { dischargeDisposition } : {}),
  };

  // PV2-3 admit reason -> reasonCode; PV2-11 actual length of inpatient stay (days) -> length.
  const reason = pv2 !== undefined ? mapCwe(scope, pv2.repetitions(3)[0], scope.at(pv2, 3)) : undefined;
  const lengthDays = pv2?.value(11) ?? '';

  const identifier = [...(key.visitNumber !== undefined ? [key.visitNumber] : []), ...alternate];
  const period = {
    ...(admit !== undefined ? { start: admit } : {}),
    ...(discharge !== undefined ? { end: discharge } : {}),
  };

  return {
    resourceType: 'Encounter',
    id: key.id,
    ...(identifier.length > 0 ? { identifier } : {}),
    status,
    class: encounterClass,
    ...(admissionType !== undefined ? { type: [admissionType] } : {}),
    ...(serviceType !== undefined ? { serviceType } : {}),
    subject: patient,
    ...(participant.length > 0 ? { participant } : {}),
    ...(admit !== undefined || discharge !== undefined ? { period } : {}),
    ...(present(lengthDays) && /^\d+$/.test(lengthDays)
      ? { length: { value: Number(lengthDays), unit: 'd', system: 'http://unitsofmeasure.org', code: 'd' } }
      : {}),
    ...(reason !== undefined ? { reasonCode: [reason] } : {}),
    ...(Object.keys(hospitalization).length > 0 ? { hospitalization } : {}),
    ...(locations.length > 0 ? { location: locations } : {}),
  };
}
