import type { Coding, Encounter, EncounterLocation, Identifier } from '@medplum/fhirtypes';
import { formatDtm, Hl7MessageBuilder } from '@tessera/hl7v2';
import type { Hl7ComponentValue, Hl7FieldValue, Hl7RepetitionValue } from '@tessera/hl7v2';
import { fhirDateTimeToV2 } from '../datatypes/v2-datetime.mapper';
import { administrativeSexOf, patientClassOf } from '../vocabulary/v2-tables.vocabulary';

/*
 * FHIR R4 Encounter (as the region indexed it) -> HL7 v2.5.1 ADT notification for a subscriber:
 * the outbound direction of segments/encounter.mapper.ts, for institutions whose engines only speak
 * v2. Pure: the message time and control id are passed in.
 *
 * What is sent, and nothing else (a notification carries only what the subscriber may see):
 *   MSH  sending/receiving application and facility, MSH-7 message time, MSH-9 per trigger
 *        (HL7 v2.5.1 Chapter 3 §3.3: A04 and A08 use the ADT_A01 structure), MSH-10 control id,
 *        MSH-11 processing id, MSH-12 2.5.1, MSH-18 UNICODE UTF-8 (the text is sent as UTF-8).
 *        Original acknowledgment mode (MSH-15/16 empty): the receiver answers AA/AE/AR.
 *   EVN  EVN-1 trigger (kept for receivers before v2.5), EVN-2 recorded date/time = message time,
 *        EVN-4 ADT_CLOSED_BY_RULE_REASON when Tessera closed the visit by its own rule.
 *   PID  PID-3 the identifiers given (CX-4 assigning authority, CX-5 type); PID-5 / PID-7 / PID-8
 *        only from `patient`. A missing value is left empty, never sent as the HL7 null `""`:
 *        Chapter 2 §2.5.3 makes `""` an instruction to delete what the receiver holds, and a
 *        notification that may not show the name must not erase the subscriber's own record.
 *   PV1  PV1-2 class (table 0004), PV1-3 current location, PV1-6 prior location (A02 only),
 *        PV1-19 visit number, PV1-36 discharge disposition (table 0112), PV1-39 servicing facility,
 *        PV1-44 period.start, PV1-45 period.end.
 * Encounter.status is carried by the trigger (A03 = discharged) and by PV1-45, as the forward
 * mapping reads it (mapTriggerToEncounterStatus, then PV1-45 valued -> finished). No PV2 field is
 * needed for these.
 */

export type AdtNotificationTrigger = 'A01' | 'A02' | 'A03' | 'A04' | 'A08';

export interface AdtNotificationIdentifier {
  readonly system: string;
  readonly value: string;
  /** CX-4.1 namespace id as the subscriber knows the authority. */
  readonly assigningAuthority: string;
  /** CX-5, HL7 table 0203: MR, PI, PT, NI or another code of the table. */
  readonly typeCode: string;
}

export interface AdtNotificationInput {
  readonly trigger: AdtNotificationTrigger;
  /** MSH-10 (1 to 199 characters). HL7 v2.5.1 sizes MSH-10 at 20; longer ids need v2.7-tolerant receivers. */
  readonly controlId: string;
  /** MSH-7 and EVN-2. */
  readonly messageTime: Date;
  readonly processingId: 'P' | 'T' | 'D';
  /** 'TESSERA'. */
  readonly sendingApplication: string;
  /** The region's code. */
  readonly sendingFacility: string;
  readonly receivingApplication?: string;
  /** The subscriber institution's facility code. */
  readonly receivingFacility: string;
  /** PID-3: identifiers the subscriber may see (its own MRNs for the person, the roster identifier, the enterprise id). */
  readonly identifiers: readonly AdtNotificationIdentifier[];
  /** PID-5/7/8 when the subscriber may see them; absent values leave the fields empty. */
  readonly patient?: {
    readonly family?: string;
    readonly given?: readonly string[];
    /** FHIR date (YYYY, YYYY-MM or YYYY-MM-DD). */
    readonly birthDate?: string;
    /** FHIR administrative gender (male | female | other | unknown). */
    readonly gender?: string;
  };
  /** The encounter as the region indexed it (FHIR R4 Encounter from the canonical event). */
  readonly encounter: Encounter;
  /** The institution where it happened (PV1-3.4 facility / PV1-39 servicing facility). */
  readonly occurredAt: { readonly institutionId: string; readonly facilityCode?: string };
  /** true when Tessera closed the visit by its own rule (no discharge ever came): EVN-4 says so. */
  readonly closedByRule?: boolean;
}

/**
 * EVN-4 event reason code (user-defined HL7 table 0062) meaning "Tessera closed this visit by its
 * own rule: the institution never sent a discharge". Table 0062 is user-defined, so this is a local
 * value; it is three characters, the length v2.5.1 gives EVN-4, and starts with Z as local values do.
 */
export const ADT_CLOSED_BY_RULE_REASON = 'ZCR';

/** MSH-9.3 message structure per trigger (HL7 v2.5.1 Chapter 3, table 0354). */
const MESSAGE_STRUCTURE: Readonly<Record<AdtNotificationTrigger, string>> = {
  A01: 'ADT_A01',
  A02: 'ADT_A02',
  A03: 'ADT_A03',
  A04: 'ADT_A01',
  A08: 'ADT_A01',
};

const MAX_CONTROL_ID_LENGTH = 199;
const V2_0203_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v2-0203';

/** Builds the ADT message text, segments CR-terminated. Throws RangeError on unusable input (never echoing values). */
export function buildAdtNotification(input: AdtNotificationInput): string {
  if (!Object.hasOwn(MESSAGE_STRUCTURE, input.trigger))
    throw new RangeError('trigger must be one of A01, A02, A03, A04, A08.');
  if (input.controlId.length === 0 || input.controlId.length > MAX_CONTROL_ID_LENGTH) {
    throw new RangeError(`controlId (MSH-10) must be 1 to ${MAX_CONTROL_ID_LENGTH} characters.`);
  }
  const identifiers = input.identifiers.filter((i) => i.value !== '');
  if (identifiers.length === 0) {
    throw new RangeError('identifiers must hold at least one identifier with a value: PID-3 is required.');
  }
  const facility = input.occurredAt.facilityCode ?? input.occurredAt.institutionId;

  return new Hl7MessageBuilder()
    .msh({
      sendingApplication: input.sendingApplication,
      sendingFacility: input.sendingFacility,
      ...(input.receivingApplication !== undefined
        ? { receivingApplication: input.receivingApplication }
        : {}),
      receivingFacility: input.receivingFacility,
      dateTime: input.messageTime,
      messageCode: 'ADT',
      triggerEvent: input.trigger,
      messageStructure: MESSAGE_STRUCTURE[input.trigger],
      controlId: input.controlId,
      processingId: input.processingId,
      version: '2.5.1',
      characterSet: 'UNICODE UTF-8',
    })
    .segment('EVN', evn(input))
    .segment('PID', pid(identifiers, input.patient))
    .segment('PV1', pv1(input, facility))
    .toString();
}

function evn(input: AdtNotificationInput): Hl7FieldValue[] {
  return [
    input.trigger,
    formatDtm(input.messageTime),
    undefined,
    input.closedByRule === true ? ADT_CLOSED_BY_RULE_REASON : undefined,
  ];
}

function pid(
  identifiers: readonly AdtNotificationIdentifier[],
  patient: AdtNotificationInput['patient'],
): Hl7FieldValue[] {
  const fields: Hl7FieldValue[] = [];
  fields[0] = '1';
  fields[2] = {
    repeat: identifiers.map((i) =>
      cx(i.value, assigningAuthority(i.assigningAuthority, i.system), i.typeCode),
    ),
  };
  if (patient !== undefined) {
    const given = (patient.given ?? []).filter((g) => g !== '');
    const family = patient.family ?? '';
    // XPN-1 family, XPN-2 first given name, XPN-3 further given names separated by spaces (as mapXpn reads them).
    if (family !== '' || given.length > 0) fields[4] = [family, given[0] ?? '', given.slice(1).join(' ')];
    if (patient.birthDate !== undefined && patient.birthDate !== '') {
      fields[6] = fhirDateTimeToV2(patient.birthDate, 'PID-7');
    }
    if (patient.gender !== undefined) fields[7] = administrativeSexOf(patient.gender);
  }
  return fill(fields);
}

function pv1(input: AdtNotificationInput, facility: string): Hl7FieldValue[] {
  const { encounter } = input;
  const fields: Hl7FieldValue[] = [];
  fields[0] = '1';
  // PV1-2 is required (forward: 101 when empty): a class nobody can map back is sent as U (unknown).
  fields[1] = patientClassOf(encounter.class) ?? 'U';
  const locations = encounter.location ?? [];
  const current = currentLocation(locations);
  fields[2] = pl(current, facility);
  if (input.trigger === 'A02') {
    const prior = [...locations].reverse().find((l) => l !== current && l.status === 'completed');
    if (prior !== undefined) fields[5] = pl(prior, facility);
  }
  const visit = visitNumber(encounter.identifier ?? []);
  if (visit !== undefined) fields[18] = cx(visit.value ?? '', systemAuthority(visit.system), 'VN');
  const disposition = dischargeDisposition(encounter.hospitalization?.dischargeDisposition?.coding ?? []);
  if (disposition !== undefined) fields[35] = disposition;
  fields[38] = facility;
  if (encounter.period?.start !== undefined) fields[43] = fhirDateTimeToV2(encounter.period.start, 'PV1-44');
  if (encounter.period?.end !== undefined) fields[44] = fhirDateTimeToV2(encounter.period.end, 'PV1-45');
  return fill(fields);
}

/** CX: 1 id ^ 2-3 (check digit, scheme: not sent) ^ 4 assigning authority (HD) ^ 5 identifier type. */
function cx(value: string, authority: Hl7ComponentValue, typeCode: string): Hl7RepetitionValue {
  return [value, '', '', authority, typeCode];
}

/**
 * HD for CX-4: the namespace id the subscriber knows the authority by, plus the OID (type ISO) when
 * the system is one, so a receiver that has not registered the namespace can still resolve it.
 */
function assigningAuthority(namespace: string, system: string): Hl7ComponentValue {
  const oid = oidOf(system);
  return oid !== undefined ? [namespace, oid, 'ISO'] : [namespace];
}

/** HD for a system known only by its URI (visit numbers): universal id + type, HL7 table 0301. */
function systemAuthority(system: string | undefined): Hl7ComponentValue {
  if (system === undefined || system === '') return '';
  const oid = oidOf(system);
  return oid !== undefined ? ['', oid, 'ISO'] : ['', system, 'URI'];
}

function oidOf(system: string): string | undefined {
  const m = /^urn:oid:([0-2](?:\.(?:0|[1-9]\d*))+)$/.exec(system);
  return m?.[1];
}

/** The identifier typed VN (v2 table 0203), else the first one with a value (the forward map puts PV1-19 first). */
function visitNumber(identifiers: readonly Identifier[]): Identifier | undefined {
  const withValue = identifiers.filter((i) => i.value !== undefined && i.value !== '');
  return (
    withValue.find((i) => i.type?.coding?.some((c) => c.system === V2_0203_SYSTEM && c.code === 'VN')) ??
    withValue[0]
  );
}

/**
 * The location PV1-3 names: the forward map writes PV1-3 first, with status active (planned for a
 * pre-admit, completed once the visit is finished); prior (PV1-6) locations are completed and
 * pending ones (PV1-42) reserved.
 */
function currentLocation(locations: readonly EncounterLocation[]): EncounterLocation | undefined {
  return (
    locations.find((l) => l.status === 'active' || l.status === 'planned') ??
    locations.find((l) => l.status !== 'reserved')
  );
}

/**
 * PL from the location path "facility/point of care/room/bed" that plPath builds: the leading part
 * is the facility when it equals the facility code (or when all four parts are there); PL-4 is
 * always the facility where it happened.
 */
function pl(location: EncounterLocation | undefined, facility: string): Hl7RepetitionValue {
  const path = location?.location.identifier?.value ?? location?.location.display ?? '';
  const parts = path === '' ? [] : path.split('/');
  if (parts[0] === facility || parts.length >= 4) parts.shift();
  const [pointOfCare = '', room = '', ...bed] = parts;
  return [pointOfCare, room, bed.join('/'), [facility]];
}

/** PV1-36 is IS (table 0112): the code alone, from the table's coding when there is one. */
function dischargeDisposition(codings: readonly Coding[]): string | undefined {
  const coded = codings.filter((c) => c.code !== undefined && c.code !== '');
  const fromTable = coded.find((c) => c.system !== undefined && /(?:v2-0112|:HL70112)$/.test(c.system));
  return (fromTable ?? coded[0])?.code;
}

/** Fields as a dense array (holes become empty fields). */
function fill(fields: Hl7FieldValue[]): Hl7FieldValue[] {
  return Array.from({ length: fields.length }, (_, i) => fields[i]);
}
