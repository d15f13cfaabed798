import type { Identifier, Parameters } from '@medplum/fhirtypes';
import { ENTERPRISE_ID_SYSTEM } from '../pdq/golden-record.projection';

export interface PixMember {
  readonly system: string;
  readonly localId: string;
  readonly state: 'MATCH' | 'POSSIBLE_MATCH' | 'NO_MATCH';
  readonly retired: boolean;
}

/** `system|value` of a FHIR token parameter; undefined when either part is missing. */
export function parseToken(raw: string): { readonly system: string; readonly value: string } | undefined {
  const bar = raw.indexOf('|');
  if (bar <= 0 || bar === raw.length - 1) return undefined;
  return { system: raw.slice(0, bar), value: raw.slice(bar + 1) };
}

/**
 * The PIXm response (IHE ITI TF-2 §3.83.4.1.3, "Get Corresponding Identifiers" Parameters): one
 * `targetIdentifier` per other source record linked to the enterprise id with state MATCH (retired
 * records and the requested identifier itself excluded), then the enterprise id itself (system
 * `urn:tessera:enterprise-id`); filtered by `targetSystems` when given. Pure.
 */
export function pixParameters(
  enterpriseId: string,
  members: readonly PixMember[],
  source: { readonly system: string; readonly value: string },
  targetSystems: readonly string[],
): Parameters {
  const identifiers: Identifier[] = members
    .filter((m) => m.state === 'MATCH' && !m.retired && !(m.system === source.system && m.localId === source.value))
    .map((m) => ({ system: m.system, value: m.localId }))
    .sort((a, b) => a.system.localeCompare(b.system) || a.value.localeCompare(b.value));
  if (source.system !== ENTERPRISE_ID_SYSTEM) identifiers.push({ system: ENTERPRISE_ID_SYSTEM, value: enterpriseId });
  const wanted = targetSystems.length === 0 ? identifiers : identifiers.filter((i) => targetSystems.includes(i.system ?? ''));
  return {
    resourceType: 'Parameters',
    parameter: wanted.map((valueIdentifier) => ({ name: 'targetIdentifier', valueIdentifier })),
  };
}
