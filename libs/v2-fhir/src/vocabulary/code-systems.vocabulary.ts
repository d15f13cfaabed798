/**
 * Code system names as sent in CWE-3 / CWE-6 (HL7 table 0396 "Coding system") -> FHIR system URI.
 * Only standard systems with a published canonical URI are listed (FHIR R4 §4.2 "Using codes",
 * terminologies page, and the HL7 Terminology (THO) v2 tables). Anything else is a local code
 * system and is kept as urn:tessera:cs:<institutionId>:<name>: never guessed.
 */
export const STANDARD_CODE_SYSTEMS: Readonly<Record<string, string>> = {
  LN: 'http://loinc.org',
  SCT: 'http://snomed.info/sct',
  I10: 'http://hl7.org/fhir/sid/icd-10',
  I10C: 'http://hl7.org/fhir/sid/icd-10-cm',
  I9C: 'http://hl7.org/fhir/sid/icd-9-cm',
  UCUM: 'http://unitsofmeasure.org',
  CVX: 'http://hl7.org/fhir/sid/cvx',
  NDC: 'http://hl7.org/fhir/sid/ndc',
  RXNORM: 'http://www.nlm.nih.gov/research/umls/rxnorm',
};

export const UCUM_SYSTEM = 'http://unitsofmeasure.org';
export const V2_TABLE_SYSTEM_PREFIX = 'http://terminology.hl7.org/CodeSystem/v2-';
export const V3_ACT_CODE = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
export const V3_PARTICIPATION_TYPE = 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType';
export const V3_OBSERVATION_INTERPRETATION =
  'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation';
export const V3_CONFIDENTIALITY = 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality';
export const DATA_ABSENT_REASON = 'http://terminology.hl7.org/CodeSystem/data-absent-reason';

/** THO system of HL7 v2 table `table` ("0203" -> http://terminology.hl7.org/CodeSystem/v2-0203). */
export function v2TableSystem(table: string): string {
  return `${V2_TABLE_SYSTEM_PREFIX}${table}`;
}

/** urn:tessera:cs:<institutionId>:<name> for a local code system (percent-encoded parts). */
export function localCodeSystem(institutionId: string, name: string): string {
  return `urn:tessera:cs:${encodeURIComponent(institutionId)}:${encodeURIComponent(name)}`;
}

/** urn:tessera:aa:<institutionId>[:<namespace>] for an assigning authority nobody registered. */
export function localAssigningAuthoritySystem(institutionId: string, namespace?: string): string {
  const base = `urn:tessera:aa:${encodeURIComponent(institutionId)}`;
  return namespace === undefined || namespace === '' ? base : `${base}:${encodeURIComponent(namespace)}`;
}

const HL7_TABLE_NAME = /^HL7(\d{4,5})$/;
const OID = /^[0-2](\.(0|[1-9]\d*))+$/;

export function isOid(value: string): boolean {
  return OID.test(value);
}

/**
 * Resolves a coding system name (CWE-3) to a FHIR system URI, in this order:
 * 1. the institution's codeSystemMap (registration data);
 * 2. the standard systems above;
 * 3. HL7nnnn -> THO v2 table system (HL7 table 0396: "HL7nnnn = HL7 defined table nnnn");
 * 4. otherwise a local system urn:tessera:cs:<institutionId>:<name>.
 */
export function resolveCodeSystem(
  name: string,
  institutionId: string,
  codeSystemMap: Readonly<Record<string, string>> | undefined,
): { readonly system: string; readonly known: boolean } {
  const mapped = codeSystemMap?.[name];
  if (mapped !== undefined) return { system: mapped, known: true };
  const standard = STANDARD_CODE_SYSTEMS[name];
  if (standard !== undefined) return { system: standard, known: true };
  const table = HL7_TABLE_NAME.exec(name);
  if (table !== null) return { system: v2TableSystem(table[1]), known: true };
  return { system: localCodeSystem(institutionId, name), known: false };
}
