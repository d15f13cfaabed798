import type { Identifier, Patient } from '@medplum/fhirtypes';

/** FHIR Identifier.system of Tessera enterprise ids (PIXm targetIdentifier, PDQm Patient.identifier). */
export const ENTERPRISE_ID_SYSTEM = 'urn:tessera:enterprise-id';

/** A source record linked to an enterprise id, with its current FHIR Patient snapshot. */
export interface LinkedSource {
  readonly system: string;
  readonly localId: string;
  /** When the source last sent this record (survivorship orders by it). */
  readonly updatedAt: Date;
  readonly patient: Patient;
}

type SurvivingField = 'name' | 'gender' | 'birthDate' | 'telecom' | 'address';

function present(patient: Patient, field: SurvivingField): boolean {
  const value = patient[field];
  return Array.isArray(value) ? value.length > 0 : value !== undefined && value !== '';
}

/**
 * The golden record of an enterprise id (a projection by documented survivorship).
 * Survivorship rule, per field (name, gender, birthDate, telecom, address): the most recently updated
 * source that has the field wins; ties go to the source listed first by (system, local id). Identifiers
 * are the union of every source's identifiers (deduplicated by system|value), preceded by the
 * enterprise id itself. Pure; sources never change.
 */
export function goldenRecord(enterpriseId: string, sources: readonly LinkedSource[]): Patient {
  const ordered = [...sources].sort(
    (a, b) =>
      b.updatedAt.getTime() - a.updatedAt.getTime() ||
      a.system.localeCompare(b.system) ||
      a.localId.localeCompare(b.localId),
  );
  const golden: Patient = { resourceType: 'Patient', id: enterpriseId, active: true };
  const fields: SurvivingField[] = ['name', 'gender', 'birthDate', 'telecom', 'address'];
  for (const field of fields) {
    const winner = ordered.find((s) => present(s.patient, field));
    if (winner !== undefined) Object.assign(golden, { [field]: winner.patient[field] });
  }
  const identifiers: Identifier[] = [{ system: ENTERPRISE_ID_SYSTEM, value: enterpriseId, use: 'official' }];
  const seen = new Set([`${ENTERPRISE_ID_SYSTEM}|${enterpriseId}`]);
  for (const source of ordered) {
    const own: Identifier = { system: source.system, value: source.localId };
    for (const identifier of [own, ...(source.patient.identifier ?? [])]) {
      const key = `${identifier.system ?? ''}|${identifier.value ?? ''}`;
      if (identifier.value === undefined || seen.has(key)) continue;
      seen.add(key);
      identifiers.push(identifier);
    }
  }
  golden.identifier = identifiers;
  return golden;
}
