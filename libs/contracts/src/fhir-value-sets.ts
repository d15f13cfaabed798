/** FHIR R4 required status value sets used by more than one service (http://hl7.org/fhir/R4/terminologies-valuesets.html). */

/** http://hl7.org/fhir/R4/valueset-document-reference-status.html */
export const DOCUMENT_REFERENCE_STATUSES = ['current', 'superseded', 'entered-in-error'] as const;

/** http://hl7.org/fhir/R4/valueset-encounter-status.html */
export const ENCOUNTER_STATUSES = [
  'planned',
  'arrived',
  'triaged',
  'in-progress',
  'onleave',
  'finished',
  'cancelled',
  'entered-in-error',
  'unknown',
] as const;

/** http://hl7.org/fhir/R4/valueset-diagnostic-report-status.html */
export const DIAGNOSTIC_REPORT_STATUSES = [
  'registered',
  'partial',
  'preliminary',
  'final',
  'amended',
  'corrected',
  'appended',
  'cancelled',
  'entered-in-error',
  'unknown',
] as const;

/** http://hl7.org/fhir/R4/valueset-observation-status.html */
export const OBSERVATION_STATUSES = [
  'registered',
  'preliminary',
  'final',
  'amended',
  'corrected',
  'cancelled',
  'entered-in-error',
  'unknown',
] as const;
