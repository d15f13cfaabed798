import type { Identifier } from '@medplum/fhirtypes';
import { MappingError } from '@tessera/v2-fhir';
import type { MappingOutcome } from '@tessera/v2-fhir';
import type { Institution } from '../institutions/institution';

/**
 * The patient-identifier systems other institutions registered and `institution` did not: a message
 * of `institution` must never create an identifier under one of them (it would speak for another
 * hospital's patient numbers). A system both registered (e.g. a regional resident id) stays usable.
 */
export function identifierSystemsOfOthers(
  institution: Pick<Institution, 'id' | 'assigningAuthorities'>,
  all: ReadonlyArray<Pick<Institution, 'id' | 'assigningAuthorities'>>,
): ReadonlySet<string> {
  const own = new Set(institution.assigningAuthorities.map((a) => a.system));
  const others = new Set<string>();
  for (const other of all) {
    if (other.id === institution.id) continue;
    for (const authority of other.assigningAuthorities)
      if (!own.has(authority.system)) others.add(authority.system);
  }
  return others;
}

/**
 * Refuses a mapped message whose patient identifiers (PID-2/3/4, MRG-1) landed in another
 * institution's system. The mapper takes an ISO OID sent in CX-4.2 as `urn:oid:` when the sender
 * did not register it (HL7 v2.5 §2.A.14.4: the universal id names the authority); when that OID is
 * another institution's registered system, the identifier is refused with 103 (table value not
 * found) at CX-4, so the sender fixes its assigning authority and resends.
 */
export function withOwnIdentifierSystems(
  outcome: MappingOutcome,
  systemsOfOthers: ReadonlySet<string>,
): MappingOutcome {
  if (outcome.status !== 'mapped' || systemsOfOthers.size === 0) return outcome;
  const result = outcome.result;
  const foreign = (identifiers: readonly Identifier[] | undefined) =>
    (identifiers ?? []).some((i) => i.system !== undefined && systemsOfOthers.has(i.system));
  const errors: MappingError[] = [];
  if (systemsOfOthers.has(result.patientSystem) || foreign(result.patient.identifier)) {
    errors.push(
      new MappingError(
        '103',
        { segment: 'PID', sequence: 1, field: 3, component: 4 },
        "A patient identifier's assigning authority (PID-3.4, or PID-2/PID-4) is an identifier system registered to another institution; send your patients' identifiers under your own registered assigning authorities.",
      ),
    );
  }
  if (
    result.merge !== undefined &&
    (systemsOfOthers.has(result.merge.prior.system) || foreign(result.merge.priorIdentifiers))
  ) {
    errors.push(
      new MappingError(
        '103',
        { segment: 'MRG', sequence: 1, field: 1, component: 4 },
        "A prior patient identifier's assigning authority (MRG-1.4) is an identifier system registered to another institution; send identifiers under your own registered assigning authorities.",
      ),
    );
  }
  return errors.length === 0 ? outcome : { status: 'invalid', errors, warnings: result.warnings };
}
