import type { Identifier, Patient } from '@medplum/fhirtypes';
import type { AccessDecision } from '../policy/access-decision.service';
import { ENTERPRISE_ID_SYSTEM } from '../upstream/mpi.gateway';

/**
 * What PIXm / PDQm / $match may say about one person to one institution. The MPI answers from the
 * whole region (golden record: demographics of whichever source sent them last, identifiers of
 * every source); the exchange cuts that down to what the caller may learn:
 * - `full`: the decision shares other institutions' data (`visibility.others` = 'all').
 * - `own`: discoverable, but nothing of other institutions is shared (opt-out, purpose not
 *   shared, no break-the-glass): the enterprise id (it says only that the region knows the person)
 *   and the caller's own identifiers. Holding a record — even one linked only by demographics —
 *   never opens another institution's identifiers or demographics.
 * - `hidden`: not discoverable (the region policy hides the person from non-holders).
 * A person disclosed `own` and found by another institution's identifier (PIXm sourceIdentifier,
 * PDQm `identifier`, a $match Patient's identifier) is answered as not found, unless the region
 * makes opted-out persons discoverable: confirming that link would tell the caller which
 * record of another institution belongs to the person.
 */
export type Disclosure = 'full' | 'own' | 'hidden';

export function disclosureOf(access: AccessDecision | undefined): Disclosure {
  if (access === undefined || !access.decision.discoverable) return 'hidden';
  return access.decision.visibility.others === 'all' ? 'full' : 'own';
}

/** FHIR common tag (R4 §search "_summary"): the resource is not complete, never write it back. */
export const SUBSETTED_TAG = {
  system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue',
  code: 'SUBSETTED',
  display: 'subsetted',
} as const;

export function isOwnIdentifier(identifier: Identifier, ownSystems: readonly string[]): boolean {
  return identifier.system !== undefined && ownSystems.includes(identifier.system);
}

/**
 * Whether a lookup by an identifier of `system` tells the caller about another institution's
 * record: any system other than the caller's own and the enterprise id, and a missing or empty
 * system (a bare value may match any institution's identifier).
 */
export function isForeignSystem(system: string | undefined, ownSystems: readonly string[]): boolean {
  if (system === undefined || system === '') return true;
  return system !== ENTERPRISE_ID_SYSTEM && !ownSystems.includes(system);
}

/**
 * Whether PDQm `identifier` values (`system|value`, `|value` or `value`; several OR-ed with
 * commas) name an identifier that is not the caller's own (isForeignSystem). Pure.
 */
export function pdqNamesForeignIdentifier(values: readonly string[], ownSystems: readonly string[]): boolean {
  return values
    .flatMap((v) => v.split(','))
    .some((token) => {
      const bar = token.indexOf('|');
      return isForeignSystem(bar < 0 ? undefined : token.slice(0, bar), ownSystems);
    });
}

/** Whether a $match Parameters body's Patient names an identifier that is not the caller's own. Pure. */
export function matchNamesForeignIdentifier(body: unknown, ownSystems: readonly string[]): boolean {
  const parameters = (body as { parameter?: unknown }).parameter;
  if (!Array.isArray(parameters)) return false;
  return parameters.some((p: unknown) => {
    const identifiers = (p as { resource?: { identifier?: unknown } } | null)?.resource?.identifier;
    if (!Array.isArray(identifiers)) return false;
    return identifiers.some((i: unknown) => {
      const system = (i as { system?: unknown } | null)?.system;
      return isForeignSystem(typeof system === 'string' ? system : undefined, ownSystems);
    });
  });
}

/**
 * The Patient an institution gets of a person whose data is not shared with it: id (enterprise
 * id), the enterprise id identifier and the institution's own identifiers — no names, birth date,
 * gender, telecom or address, because the golden record does not say which source contributed
 * them. Tagged SUBSETTED. Pure.
 */
export function ownOnlyPatient(golden: Patient, ownSystems: readonly string[]): Patient {
  const identifiers = (golden.identifier ?? []).filter(
    (i) => i.system === ENTERPRISE_ID_SYSTEM || isOwnIdentifier(i, ownSystems),
  );
  if (golden.id !== undefined && !identifiers.some((i) => i.system === ENTERPRISE_ID_SYSTEM))
    identifiers.unshift({ system: ENTERPRISE_ID_SYSTEM, value: golden.id });
  return {
    resourceType: 'Patient',
    ...(golden.id === undefined ? {} : { id: golden.id }),
    meta: { tag: [{ ...SUBSETTED_TAG }] },
    ...(identifiers.length === 0 ? {} : { identifier: identifiers }),
  };
}
