import type {
  Address,
  Coding,
  ContactPoint,
  DiagnosticReport,
  DocumentReference,
  Encounter,
  HumanName,
  Observation,
  Patient,
} from '@medplum/fhirtypes';
import {
  V3_ACT_CODE,
  V3_CONFIDENTIALITY,
  V3_OBSERVATION_INTERPRETATION,
  v2TableSystem,
} from './code-systems.vocabulary';

/*
 * Vocabulary maps of the HL7 v2-to-FHIR IG (http://hl7.org/fhir/uv/v2mappings, mappings/codesystems)
 * plus Tessera's documented choices where the IG leaves a v2 code unmapped and FHIR requires a
 * value (required bindings). Each map cites its IG ConceptMap.
 */

type Gender = NonNullable<Patient['gender']>;
/** IG ConceptMap AdministrativeSex (v2 table 0001 -> administrative-gender). */
const ADMINISTRATIVE_SEX: Readonly<Record<string, Gender>> = {
  F: 'female',
  M: 'male',
  O: 'other',
  U: 'unknown',
  A: 'other',
  N: 'other',
};
export function mapAdministrativeSex(code: string): Gender | undefined {
  return ADMINISTRATIVE_SEX[code.toUpperCase()];
}

/** IG ConceptMap PatientClass[EncounterClass] (v2 table 0004 -> v3 ActCode; unmapped ones stay v2-0004). */
const PATIENT_CLASS: Readonly<Record<string, Coding>> = {
  E: { system: V3_ACT_CODE, code: 'EMER', display: 'emergency' },
  I: { system: V3_ACT_CODE, code: 'IMP', display: 'inpatient encounter' },
  O: { system: V3_ACT_CODE, code: 'AMB', display: 'ambulatory' },
  P: { system: V3_ACT_CODE, code: 'PRENC', display: 'pre-admission' },
  R: { system: v2TableSystem('0004'), code: 'R', display: 'Recurring patient' },
  B: { system: v2TableSystem('0004'), code: 'B', display: 'Obstetrics' },
  C: { system: v2TableSystem('0004'), code: 'C', display: 'Commercial Account' },
  N: { system: v2TableSystem('0004'), code: 'N', display: 'Not Applicable' },
  U: { system: v2TableSystem('0004'), code: 'U', display: 'Unknown' },
};
export function mapPatientClass(code: string): Coding | undefined {
  const coding = PATIENT_CLASS[code.toUpperCase()];
  return coding === undefined ? undefined : { ...coding };
}

/**
 * Encounter.class -> PV1-2 (table 0004), the reverse of PATIENT_CLASS for the outbound direction:
 * the IG's four v3 ActCodes, any v2-0004 code, and a local HL70004 code (kept as sent by the
 * forward map). Other v3 ActCodes of the encounter class value set fold into the v2 class they are
 * a kind of (ACUTE / NONAC inpatient -> I; OBSENC / SS ambulatory stays -> O). Undefined otherwise.
 */
const ACT_CODE_PATIENT_CLASS: Readonly<Record<string, string>> = {
  EMER: 'E',
  IMP: 'I',
  ACUTE: 'I',
  NONAC: 'I',
  AMB: 'O',
  OBSENC: 'O',
  SS: 'O',
  PRENC: 'P',
};
export function patientClassOf(coding: Coding | undefined): string | undefined {
  const code = coding?.code ?? '';
  if (code === '') return undefined;
  if (coding?.system === V3_ACT_CODE) return ACT_CODE_PATIENT_CLASS[code];
  if (coding?.system === v2TableSystem('0004') || coding?.system?.endsWith(':HL70004') === true) return code;
  return undefined;
}

/** FHIR administrative gender -> PID-8 (table 0001), the reverse of ADMINISTRATIVE_SEX for its four codes. */
const GENDER_SEX: Readonly<Record<string, string>> = { female: 'F', male: 'M', other: 'O', unknown: 'U' };
export function administrativeSexOf(gender: string): string | undefined {
  return GENDER_SEX[gender];
}

type EncounterStatus = Encounter['status'];
/** IG ConceptMap PatientClass[EncounterStatus], used by the PV1 segment map "IF PV1-45 NOT VALUED". */
const PATIENT_CLASS_STATUS: Readonly<Record<string, EncounterStatus>> = {
  E: 'in-progress',
  I: 'in-progress',
  O: 'in-progress',
  P: 'planned',
  R: 'in-progress',
  B: 'in-progress',
  C: 'in-progress',
  N: 'in-progress',
  U: 'unknown',
};
export function mapPatientClassToStatus(code: string): EncounterStatus | undefined {
  return PATIENT_CLASS_STATUS[code.toUpperCase()];
}

/**
 * Encounter.status by ADT trigger event (v2 table 0003), after IG ConceptMap Event[EncounterStatus]
 * with these documented Tessera choices:
 * - A04 (register outpatient): in-progress, not the IG's "planned": a registered outpatient visit
 *   has started (the patient is at the desk); "planned" is A05 (pre-admit) and A14 territory.
 * - A06 / A07 (change outpatient<->inpatient) and A02 (transfer): the visit goes on -> in-progress.
 * - A11 (cancel admit/visit): "cancelled", as the IG: the visit did not take place. (FHIR's
 *   "entered-in-error" would claim the record was wrong, which the v2 event does not say.)
 * - A12 (cancel transfer): in-progress; the location reverts to PV1-3 as sent.
 * - A13 (cancel discharge): in-progress, as the IG; period.end is removed.
 * - A08 (update) and others: not determined by the event -> undefined, and the PV1 segment map
 *   decides (PV1-45 valued -> finished, else PatientClass[EncounterStatus]).
 */
const EVENT_STATUS: Readonly<Record<string, EncounterStatus>> = {
  A01: 'in-progress',
  A02: 'in-progress',
  A03: 'finished',
  A04: 'in-progress',
  A05: 'planned',
  A06: 'in-progress',
  A07: 'in-progress',
  A11: 'cancelled',
  A12: 'in-progress',
  A13: 'in-progress',
};
export function mapTriggerToEncounterStatus(trigger: string): EncounterStatus | undefined {
  return EVENT_STATUS[trigger.toUpperCase()];
}

type NameUse = NonNullable<HumanName['use']>;
/** IG ConceptMap NameType (v2 table 0200 -> name-use). Unmapped types (A, B, C, ...) get no use. */
const NAME_TYPE: Readonly<Record<string, NameUse>> = {
  BAD: 'old',
  D: 'usual',
  L: 'official',
  M: 'maiden',
  MSK: 'anonymous',
  N: 'nickname',
  NAV: 'temp',
  R: 'official',
  TEMP: 'temp',
};
export function mapNameType(code: string): NameUse | undefined {
  return NAME_TYPE[code.toUpperCase()];
}

/**
 * XPN-8 name representation code (v2 table 4000: A alphabetic, I ideographic, P phonetic) ->
 * ISO 21090 EN.representation code of the core extension
 * http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation (ABC | IDE | SYL).
 */
const NAME_REPRESENTATION: Readonly<Record<string, 'ABC' | 'IDE' | 'SYL'>> = { A: 'ABC', I: 'IDE', P: 'SYL' };
export function mapNameRepresentation(code: string): 'ABC' | 'IDE' | 'SYL' | undefined {
  return NAME_REPRESENTATION[code.toUpperCase()];
}

/** IG ConceptMap InterpretationCodes (v2 table 0078 -> v3 ObservationInterpretation). */
const INTERPRETATION: Readonly<Record<string, string>> = {
  '<': 'Off scale low',
  '>': 'Off scale high',
  A: 'Abnormal',
  AA: 'Critical abnormal',
  B: 'Better',
  CAR: 'Carrier',
  D: 'Significant change down',
  DET: 'Detected',
  E: 'Equivocal',
  EX: 'outside threshold',
  EXP: 'Expected',
  H: 'High',
  HH: 'Critical high',
  HU: 'Significantly high',
  I: 'Intermediate',
  IE: 'Insufficient evidence',
  IND: 'Indeterminate',
  L: 'Low',
  LL: 'Critical low',
  LU: 'Significantly low',
  MS: 'moderately susceptible',
  N: 'Normal',
  NCL: 'No CLSI defined breakpoint',
  ND: 'Not detected',
  NEG: 'Negative',
  NR: 'Non-reactive',
  NS: 'Non-susceptible',
  POS: 'Positive',
  R: 'Resistant',
  RR: 'Reactive',
  S: 'Susceptible',
  SDD: 'Susceptible-dose dependent',
  'SYN-R': 'Synergy - resistant',
  'SYN-S': 'Synergy - susceptible',
  U: 'Significant change up',
  UNE: 'Unexpected',
  VS: 'very susceptible',
  W: 'Worse',
  WR: 'Weakly reactive',
};
/** v2 table 0078 codes the IG leaves unmapped (inactive in v3); kept in the v2-0078 system. */
const INTERPRETATION_V2_ONLY: ReadonlySet<string> = new Set(['AC', 'HM', 'OBX', 'QCF', 'TOX']);
export function mapAbnormalFlag(code: string): Coding | undefined {
  const display = INTERPRETATION[code];
  if (display !== undefined) return { system: V3_OBSERVATION_INTERPRETATION, code, display };
  if (INTERPRETATION_V2_ONLY.has(code)) return { system: v2TableSystem('0078'), code };
  return undefined;
}

type ObservationStatus = Observation['status'];
/**
 * OBX-11 (v2 table 0085) -> Observation.status. IG ConceptMap ObservationResultStatusCodesInterpretation
 * maps A, C, D, F, P, W, X; for the codes it leaves open Tessera chooses (Observation.status is 1..1):
 * B appended -> amended; I specimen in lab / O order detail only -> registered;
 * R entered not verified / S partial -> preliminary; U status changed to final / V verified -> final;
 * N not asked -> cancelled (with dataAbsentReason not-asked, as the IG says).
 */
const OBSERVATION_STATUS: Readonly<Record<string, ObservationStatus>> = {
  A: 'amended',
  B: 'amended',
  C: 'corrected',
  D: 'entered-in-error',
  F: 'final',
  I: 'registered',
  N: 'cancelled',
  O: 'registered',
  P: 'preliminary',
  R: 'preliminary',
  S: 'preliminary',
  U: 'final',
  V: 'final',
  W: 'entered-in-error',
  X: 'cancelled',
};
export function mapObservationResultStatus(code: string): ObservationStatus | undefined {
  return OBSERVATION_STATUS[code.toUpperCase()];
}

type ReportStatus = DiagnosticReport['status'];
/**
 * OBR-25 (v2 table 0123) -> DiagnosticReport.status, IG ConceptMap ResultStatus[Non-Queries].
 * Open in the IG, chosen here: A some results -> partial; M corrected not final -> corrected;
 * N procedure completed, results pending -> registered. Y / Z are errors per the IG ("IF NOT MAPPED
 * ERROR") and are not in this map.
 */
const REPORT_STATUS: Readonly<Record<string, ReportStatus>> = {
  O: 'registered',
  I: 'registered',
  S: 'registered',
  N: 'registered',
  A: 'partial',
  P: 'preliminary',
  C: 'corrected',
  M: 'corrected',
  R: 'partial',
  F: 'final',
  X: 'cancelled',
};
export function mapResultStatus(code: string): ReportStatus | undefined {
  return REPORT_STATUS[code.toUpperCase()];
}

type DocStatus = NonNullable<DocumentReference['docStatus']>;
/**
 * TXA-17 document completion status (v2 table 0271) -> DocumentReference.docStatus
 * (composition-status, required binding). The IG maps ID[code] without a ConceptMap; Tessera's map:
 * AU authenticated / LA legally authenticated -> final; DI dictated / DO documented / IN incomplete /
 * IP in progress / PA pre-authenticated -> preliminary; CA canceled -> entered-in-error.
 */
const COMPLETION_STATUS: Readonly<Record<string, DocStatus>> = {
  AU: 'final',
  LA: 'final',
  DI: 'preliminary',
  DO: 'preliminary',
  IN: 'preliminary',
  IP: 'preliminary',
  PA: 'preliminary',
  CA: 'entered-in-error',
};
export function mapDocumentCompletionStatus(code: string): DocStatus | undefined {
  return COMPLETION_STATUS[code.toUpperCase()];
}

type DocumentStatus = DocumentReference['status'];
/**
 * TXA-19 document availability status (v2 table 0273) -> DocumentReference.status. IG: AV -> current,
 * empty -> current; CA/OB/UN are left to an alternate-codes extension. Tessera: OB obsolete ->
 * superseded, CA canceled -> entered-in-error, UN unavailable -> current (the document exists; access
 * is a consent/registry matter, not a record status).
 */
const AVAILABILITY_STATUS: Readonly<Record<string, DocumentStatus>> = {
  AV: 'current',
  UN: 'current',
  OB: 'superseded',
  CA: 'entered-in-error',
};
export function mapDocumentAvailability(code: string): DocumentStatus | undefined {
  return AVAILABILITY_STATUS[code.toUpperCase()];
}

/** TXA-18 confidentiality (v2 table 0272) -> v3 Confidentiality (IG DocumentConfidentialityStatus). */
const CONFIDENTIALITY: Readonly<Record<string, Coding>> = {
  V: { system: V3_CONFIDENTIALITY, code: 'V', display: 'very restricted' },
  R: { system: V3_CONFIDENTIALITY, code: 'R', display: 'restricted' },
  U: { system: V3_CONFIDENTIALITY, code: 'N', display: 'normal' },
};
export function mapConfidentiality(code: string): Coding | undefined {
  const coding = CONFIDENTIALITY[code.toUpperCase()];
  return coding === undefined ? undefined : { ...coding };
}

/** v2 table 0203 identifier type codes present in THO v2-0203 (subset a feed realistically sends). */
const IDENTIFIER_TYPES: Readonly<Record<string, string>> = {
  AN: 'Account number',
  BC: 'Bank Card Number',
  BRN: 'Breed Registry Number',
  DL: "Driver's license number",
  DN: 'Doctor number',
  EI: 'Employee number',
  EN: 'Employer number',
  FILL: 'Filler Identifier',
  JHN: 'Jurisdictional health number (Canada)',
  MA: 'Patient Medicaid number',
  MC: "Patient's Medicare number",
  MR: 'Medical record number',
  NI: 'National unique individual identifier',
  NH: 'National Health Plan Identifier',
  NPI: 'National provider identifier',
  PI: 'Patient internal identifier',
  PLAC: 'Placer Identifier',
  PN: 'Person number',
  PPN: 'Passport number',
  PRN: 'Provider number',
  PT: 'Patient external identifier',
  SS: 'Social Security number',
  VN: 'Visit number',
};
export function identifierTypeDisplay(code: string): string | undefined {
  return IDENTIFIER_TYPES[code];
}
/** v2 table 0203 "NNxxx: National Person Identifier where xxx is the ISO 3166 alpha-3 country code". */
export function isNationalPersonIdentifierType(code: string): boolean {
  return /^NN[A-Z]{3}$/.test(code);
}

/** XAD-7 address type (v2 table 0190) -> Address.use / Address.type (IG AddressType[Use], [Type]). */
export function mapAddressType(code: string): Pick<Address, 'use' | 'type'> {
  switch (code.toUpperCase()) {
    case 'H':
      return { use: 'home' };
    case 'B':
    case 'O':
      return { use: 'work' };
    case 'C':
      return { use: 'temp' };
    case 'BA':
      return { use: 'old' };
    case 'M':
      return { type: 'postal' };
    case 'P':
      return { type: 'physical' };
    default:
      return {};
  }
}

/** XTN-2 telecommunication use (v2 table 0201) -> ContactPoint.use (IG TelecommunicationUseCode). */
export function mapTelecomUse(code: string): ContactPoint['use'] {
  switch (code.toUpperCase()) {
    case 'PRN':
    case 'ORN':
      return 'home';
    case 'WPN':
      return 'work';
    case 'VHN':
      return 'temp';
    default:
      return undefined;
  }
}

/** XTN-3 equipment type (v2 table 0202) -> ContactPoint.system (IG TelecommunicationEquipmentType). */
export function mapTelecomEquipment(code: string): ContactPoint['system'] {
  switch (code.toUpperCase()) {
    case 'PH':
    case 'CP':
    case 'SAT':
    case 'TDD':
    case 'TTY':
      return 'phone';
    case 'FX':
      return 'fax';
    case 'BP':
      return 'pager';
    case 'INTERNET':
    case 'X.400':
      return 'email';
    case 'MD':
      return 'other';
    default:
      return undefined;
  }
}

/**
 * ED-2 type of data (v2 table 0191) + ED-3 data subtype (table 0291) -> MIME type.
 * Returns undefined when the pair cannot be mapped (the caller warns and uses
 * application/octet-stream).
 */
export function mapEdMimeType(typeOfData: string, subtype: string): string | undefined {
  const sub = subtype.toLowerCase();
  if (typeOfData.includes('/')) return typeOfData.toLowerCase();
  const top: Readonly<Record<string, string>> = {
    AP: 'application',
    IM: 'image',
    AU: 'audio',
    TEXT: 'text',
    TX: 'text',
  };
  const t = top[typeOfData.toUpperCase()];
  if (t === undefined || sub === '') return undefined;
  if (t === 'application' && sub === 'octet-stream') return 'application/octet-stream';
  if (t === 'text' && sub === 'plain') return 'text/plain';
  if (sub === 'x-hl7-cda-level-one') return 'application/x-hl7-cda-level-one+xml';
  return `${t}/${sub}`;
}
