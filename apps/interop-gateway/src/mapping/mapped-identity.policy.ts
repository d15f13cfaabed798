import type { CanonicalEvent } from './canonical-events';
import type { MappingDecision } from './mapping-outcome.policy';

/** Kinds of items the registry indexes from canonical events. */
export type ItemType = 'Encounter' | 'DocumentReference' | 'DiagnosticReport' | 'Observation';

export interface ItemRef {
  readonly resourceType: ItemType;
  readonly id: string;
}

export interface PatientRef {
  readonly system: string;
  readonly localId: string;
}

/**
 * What one successful mapping of a ledger message produced, kept on the ledger row
 * (`mapped_identity`) so a later replay can tell what it changes (docs/identity-corrections.md):
 * the institution the events were published for, the source record they are about, the ids of the
 * items they index and the warnings the mapper raised.
 */
export interface MappedIdentity {
  readonly institutionId: string;
  readonly patient: PatientRef;
  readonly items: readonly ItemRef[];
  readonly warnings: readonly string[];
  readonly mapperVersion: string;
}

/** Prefix of the identifier systems the mapper invents for an assigning authority nobody registered. */
export const PROVISIONAL_SYSTEM_PREFIX = 'urn:tessera:aa:';

/** Whether `system` is a provisional one (libs/v2-fhir: `urn:tessera:aa:<institution>[:<namespace>]`). */
export function isProvisionalSystem(system: string): boolean {
  return system.startsWith(PROVISIONAL_SYSTEM_PREFIX);
}

function itemsOf(event: CanonicalEvent): ItemRef[] {
  const ref = (resourceType: ItemType, id: string | undefined): ItemRef[] =>
    id === undefined ? [] : [{ resourceType, id }];
  switch (event.kind) {
    case 'patient-upserted':
    case 'patient-merged':
      return [];
    case 'encounter-upserted':
      return ref('Encounter', event.data.encounter.id);
    case 'observation-reported':
      return [
        ...event.data.reports.flatMap((r) => ref('DiagnosticReport', r.id)),
        ...event.data.observations.flatMap((o) => ref('Observation', o.id)),
      ];
    case 'document-published':
      return ref('DocumentReference', event.data.document.id);
  }
}

/** The identity of a mapped decision (null when it did not map or produced no patient event). */
export function mappedIdentityOf(decision: MappingDecision): MappedIdentity | null {
  if (decision.status !== 'mapped') return null;
  const patientEvent = decision.events.find(
    (e) => e.kind === 'patient-upserted' || e.kind === 'patient-merged',
  );
  if (patientEvent === undefined) return null;
  const seen = new Set<string>();
  const items: ItemRef[] = [];
  for (const item of decision.events.flatMap(itemsOf)) {
    const key = `${item.resourceType}/${item.id}`;
    if (seen.has(key)) continue;
    seen.add(key);
    items.push(item);
  }
  return {
    institutionId: patientEvent.data.institutionId,
    patient: { system: patientEvent.data.patientSystem, localId: patientEvent.data.localPatientId },
    items,
    warnings: [...new Set(decision.warnings.map((w) => w.code))].sort(),
    mapperVersion: decision.mapperVersion,
  };
}

/** Reads a stored `mapped_identity` (jsonb) back; anything malformed counts as unknown. */
export function mappedIdentityFromJson(value: unknown): MappedIdentity | null {
  if (value === null || typeof value !== 'object') return null;
  const v = value as Partial<MappedIdentity>;
  if (
    typeof v.institutionId !== 'string' ||
    typeof v.patient?.system !== 'string' ||
    typeof v.patient.localId !== 'string' ||
    !Array.isArray(v.items)
  )
    return null;
  return {
    institutionId: v.institutionId,
    patient: { system: v.patient.system, localId: v.patient.localId },
    items: (v.items as unknown[]).filter(
      (i): i is ItemRef =>
        typeof i === 'object' &&
        i !== null &&
        typeof (i as Partial<ItemRef>).id === 'string' &&
        typeof (i as Partial<ItemRef>).resourceType === 'string',
    ),
    warnings: Array.isArray(v.warnings) ? v.warnings.filter((w): w is string => typeof w === 'string') : [],
    mapperVersion: typeof v.mapperVersion === 'string' ? v.mapperVersion : '',
  };
}

/**
 * What a replay changes against the previous mapping of the same message. `prior` is set when the
 * message now maps to another source record (or institution): the prior record is retired into the
 * new one. `withdrawn` lists the items the previous mapping indexed and the replay no longer
 * produces (their ids are hashes of institution and business key, and a mapper version may change
 * them), grouped under the institution they were indexed for.
 */
export interface IdentityCorrection {
  readonly prior: (PatientRef & { readonly institutionId: string }) | null;
  readonly withdrawn: readonly ItemRef[];
}

export const NO_CORRECTION: IdentityCorrection = { prior: null, withdrawn: [] };

/**
 * The correction a replay implies. Nothing is corrected when either side is unknown: a replay that
 * failed leaves what the previous mapping produced in place (nothing provisional is retired before
 * its replacement exists), and a message never mapped before has nothing to withdraw.
 */
export function correctionOf(
  previous: MappedIdentity | null,
  next: MappedIdentity | null,
): IdentityCorrection {
  if (previous === null || next === null) return NO_CORRECTION;
  const samePatient =
    previous.patient.system === next.patient.system &&
    previous.patient.localId === next.patient.localId &&
    previous.institutionId === next.institutionId;
  const kept = new Set(next.items.map((i) => `${i.resourceType}/${i.id}`));
  return {
    prior: samePatient ? null : { institutionId: previous.institutionId, ...previous.patient },
    withdrawn: previous.items.filter((i) => !kept.has(`${i.resourceType}/${i.id}`)),
  };
}
