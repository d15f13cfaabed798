/**
 * SMART on FHIR system scopes (Backend Services): v1 `system/<Type>.read|write|*` and v2
 * `system/<Type>.<cruds>` (SMART App Launch 2.x §Scopes: permissions c, r, u, d, s in that order;
 * `*` as resource type covers every type). Only `system/` scopes count for backend clients;
 * granular v2 scopes with a query (`system/Observation.rs?category=…`) restrict to a subset we
 * do not evaluate, so they never cover a whole interaction (fail closed).
 */

export type ScopeInteraction = 'read' | 'search' | 'write';

export interface ScopeRequirement {
  readonly resourceType: string;
  readonly interaction: ScopeInteraction;
}

const INTERACTIONS: readonly ScopeInteraction[] = ['read', 'search', 'write'];

interface ParsedScope {
  readonly resourceType: string;
  readonly interactions: ReadonlySet<ScopeInteraction>;
}

const RESOURCE_TYPE = /^(\*|[A-Z][A-Za-z]{0,63})$/;
const V2_PERMISSIONS = /^c?r?u?d?s?$/;

/** Parses one granted scope; null when it is not a whole-type system scope we understand. */
export function parseSmartScope(scope: string): ParsedScope | null {
  const match = /^system\/([^./?]+)\.([^?]+)$/.exec(scope);
  if (match === null) return null;
  const [, resourceType, permission] = match as unknown as [string, string, string];
  if (!RESOURCE_TYPE.test(resourceType)) return null;
  const interactions = new Set<ScopeInteraction>();
  if (permission === 'read') {
    interactions.add('read').add('search');
  } else if (permission === 'write') {
    interactions.add('write');
  } else if (permission === '*') {
    for (const i of INTERACTIONS) interactions.add(i);
  } else if (permission !== '' && V2_PERMISSIONS.test(permission)) {
    if (permission.includes('r')) interactions.add('read');
    if (permission.includes('s')) interactions.add('search');
    // v2 has no single "write": creating or updating a resource is what the platform calls a write.
    if (permission.includes('c') || permission.includes('u')) interactions.add('write');
  } else {
    return null;
  }
  return { resourceType, interactions };
}

/** Whether any granted scope allows `interaction` on `resourceType`. */
export function scopeCovers(
  granted: readonly string[],
  resourceType: string,
  interaction: ScopeInteraction,
): boolean {
  for (const scope of granted) {
    const parsed = parseSmartScope(scope);
    if (parsed === null) continue;
    if (parsed.resourceType !== '*' && parsed.resourceType !== resourceType) continue;
    if (parsed.interactions.has(interaction)) return true;
  }
  return false;
}

/**
 * Reads the string form of a requirement: `system/DocumentReference.read`, `DocumentReference.search`,
 * `Patient.write`. Throws on anything else (a typo in a decorator must fail at boot, not open a route).
 */
export function parseScopeRequirement(text: string): ScopeRequirement {
  const match = /^(?:system\/)?([A-Z][A-Za-z]{0,63}|\*)\.(read|search|write)$/.exec(text);
  if (match === null) {
    throw new Error(`Invalid scope requirement "${text}": expected system/<ResourceType>.read|search|write`);
  }
  return { resourceType: match[1], interaction: match[2] as ScopeInteraction };
}

/** Splits a space-separated OAuth `scope` value (RFC 6749 §3.3) into distinct scopes, in order. */
export function splitScopes(scope: string | undefined | null): string[] {
  if (scope === undefined || scope === null) return [];
  return [...new Set(scope.split(' ').filter((s) => s !== ''))];
}

/**
 * The scopes a client gets (token request, RFC 6749 §3.3): each requested scope that its registered
 * `allowed` scopes cover entirely — `system/Patient.read` is granted under `system/*.rs`, but
 * `system/*.read` is not granted under `system/Patient.read`. Scopes the platform does not parse
 * are granted only on an exact match.
 */
export function grantScopes(requested: readonly string[], allowed: readonly string[]): string[] {
  return requested.filter((scope) => {
    if (allowed.includes(scope)) return true;
    const parsed = parseSmartScope(scope);
    if (parsed === null || parsed.interactions.size === 0) return false;
    return [...parsed.interactions].every((interaction) =>
      scopeCovers(allowed, parsed.resourceType, interaction),
    );
  });
}
