import type {
  CodeableConcept,
  Coding,
  DiagnosticReport,
  DocumentReference,
  Encounter,
  Observation,
} from '@medplum/fhirtypes';

/** A clinical code an item carries, as labeling rules match it (system may be empty). */
export interface ItemCode {
  readonly system: string;
  readonly code: string;
}

type Indexed = Encounter | DocumentReference | DiagnosticReport | Observation;

/**
 * Every clinical code of one resource that sensitivity labeling looks at (FHIR R4 elements):
 * - Encounter: class, type, serviceType, reasonCode, and the code of each `diagnosis.condition`
 *   that is a contained Condition (a diagnosis given by reference only carries no code here);
 * - DocumentReference: type, category, context.event, context.facilityType, context.practiceSetting;
 * - DiagnosticReport: code, category, conclusionCode;
 * - Observation: code, category, valueCodeableConcept, component code and value.
 * De-duplicated, in a stable order.
 */
export function clinicalCodesOf(resource: Indexed): ItemCode[] {
  const concepts: (CodeableConcept | undefined)[] = [];
  const codings: (Coding | undefined)[] = [];
  switch (resource.resourceType) {
    case 'Encounter': {
      codings.push(resource.class);
      concepts.push(...(resource.type ?? []), resource.serviceType, ...(resource.reasonCode ?? []));
      concepts.push(...containedConditionCodes(resource));
      break;
    }
    case 'DocumentReference':
      concepts.push(
        resource.type,
        ...(resource.category ?? []),
        ...(resource.context?.event ?? []),
        resource.context?.facilityType,
        resource.context?.practiceSetting,
      );
      break;
    case 'DiagnosticReport':
      concepts.push(resource.code, ...(resource.category ?? []), ...(resource.conclusionCode ?? []));
      break;
    case 'Observation':
      concepts.push(resource.code, ...(resource.category ?? []), resource.valueCodeableConcept);
      for (const component of resource.component ?? [])
        concepts.push(component.code, component.valueCodeableConcept);
      break;
  }
  for (const concept of concepts) codings.push(...(concept?.coding ?? []));
  const seen = new Map<string, ItemCode>();
  for (const coding of codings) {
    const code = coding?.code?.trim();
    if (code === undefined || code === '') continue;
    const system = coding?.system ?? '';
    seen.set(`${system}|${code}`, { system, code });
  }
  return [...seen.values()];
}

/** Codes of the contained Conditions an Encounter's `diagnosis` points at (`#id` references). */
function containedConditionCodes(encounter: Encounter): (CodeableConcept | undefined)[] {
  const wanted = new Set(
    (encounter.diagnosis ?? [])
      .map((d) => d.condition.reference)
      .filter((r): r is string => r?.startsWith('#') === true)
      .map((r) => r.slice(1)),
  );
  return (encounter.contained ?? [])
    .filter((r) => r.resourceType === 'Condition' && r.id !== undefined && wanted.has(r.id))
    .map((r) => (r as { code?: CodeableConcept }).code);
}
