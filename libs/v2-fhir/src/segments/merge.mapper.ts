import type { Hl7Segment } from '@tessera/hl7v2';
import type { Patient } from '@medplum/fhirtypes';
import type { MappingScope } from '../mapping.scope';
import type { PatientMerge } from '../mapping.types';
import type { MappedPatient } from './patient.mapper';
import { chooseLocalIdentifier, institutionReference, patientId, patientIdentifiers } from './patient.mapper';

/**
 * ADT^A40 (merge patient - patient identifier list, v2 Chapter 3 §3.3.40): MRG-1 prior patient
 * identifier list is merged into the surviving PID-3. The prior record becomes an inactive Patient
 * linked "replaced-by" the survivor; the surviving Patient links "replaces" the prior
 * (FHIR R4 Patient.link, link-type).
 */
export function mapMerge(
  scope: MappingScope,
  mrg: Hl7Segment,
  surviving: MappedPatient,
): { merge: PatientMerge; patient: Patient } | undefined {
  const priorIdentifiers = patientIdentifiers(scope, mrg, 1);
  const prior = chooseLocalIdentifier(priorIdentifiers);
  if (prior === undefined) {
    scope.fail('101', scope.at(mrg, 1), 'MRG-1 (prior patient identifier list) is required for a merge.');
    return undefined;
  }
  const survivingPatientId =
    surviving.patient.id ??
    patientId(scope.ctx.institutionId, surviving.patientSystem, surviving.localPatientId);
  const priorPatientId = patientId(scope.ctx.institutionId, prior.system, prior.value);
  if (priorPatientId === survivingPatientId) {
    scope.fail('101', scope.at(mrg, 1), 'MRG-1 names the same identifier as PID-3: nothing to merge.');
    return undefined;
  }
  const priorPatient: Patient = {
    resourceType: 'Patient',
    id: priorPatientId,
    identifier: priorIdentifiers.map((i) => ({ ...i })),
    active: false,
    managingOrganization: institutionReference(scope.ctx.institutionId),
    link: [{ other: { reference: `Patient/${survivingPatientId}` }, type: 'replaced-by' }],
  };
  const patient: Patient = {
    ...surviving.patient,
    link: [{ other: { reference: `Patient/${priorPatientId}` }, type: 'replaces' }],
  };
  return {
    patient,
    merge: {
      surviving: { system: surviving.patientSystem, value: surviving.localPatientId },
      survivingPatientId,
      prior: { system: prior.system, value: prior.value },
      priorPatientId,
      priorIdentifiers,
      priorPatient,
    },
  };
}
