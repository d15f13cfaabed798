import type { MappingContext } from '../mapping.types';

/** Synthetic institution A (region with Hanzi names and resident identity numbers). */
export const HOSP_A_CONTEXT: MappingContext = {
  institutionId: 'hosp-a',
  patientIdentifierSystems: {
    HOSPA: 'https://hosp-a.example/fhir/sid/mrn',
    'CN-RIC': 'https://region.example/fhir/sid/resident-id',
  },
  defaultPatientSystem: 'https://hosp-a.example/fhir/sid/local-patient',
  identifierSystems: {
    'HOSPA^VN': 'https://hosp-a.example/fhir/sid/visit-number',
    HOSPA: 'https://hosp-a.example/fhir/sid/staff',
    HIS: 'https://hosp-a.example/fhir/sid/his',
    LIS: 'https://hosp-a.example/fhir/sid/lis',
  },
  codeSystemMap: { '99HOSPA': 'https://hosp-a.example/fhir/CodeSystem/lab-local' },
};

/** Synthetic institution B: a v2.3 feed without UTC offsets in its timestamps. */
export const HOSP_B_CONTEXT: MappingContext = {
  institutionId: 'hosp-b',
  patientIdentifierSystems: { HOSPB: 'urn:oid:2.16.840.1.113883.19.2.1' },
  defaultPatientSystem: 'urn:oid:2.16.840.1.113883.19.2.99',
  defaultUtcOffset: '-05:00',
};

/** Context per golden case (file name without extension); HOSP_A_CONTEXT otherwise. */
export function contextForCase(caseName: string): MappingContext {
  return caseName.endsWith('_v23') ? HOSP_B_CONTEXT : HOSP_A_CONTEXT;
}
