/**
 * SMART on FHIR system scopes (Backend Services): v1 `system/<Type>.read|write|*` and v2
 * `system/<Type>.<cruds>`. SMART App Launch 2.x §"Scopes for requesting clinical data": a v2
 * permission string is an in-order subset of `cruds` (c create, r read, u update, d delete,
 * s search), and v1 scopes carry the v2 semantics v1 `.read` ⇒ `.rs`, `.write` ⇒ `.cud`,
 * `.*` ⇒ `.cruds`. Every scope is therefore an exact permission set; nothing here widens one
 * (a `c` is never taken for an `u`). `*` as resource type covers every type. Only `system/`
 * scopes count for backend clients; granular v2 scopes with a query
 * (`system/Observation.rs?category=…`) restrict to a subset we do not evaluate, so they never
 * cover a whole interaction (fail closed).
 */

/** One SMART v2 permission letter. */
export type ScopePermission = 'c' | 'r' | 'u' | 'd' | 's';

/** The permissions in their defined order (`cruds`). */
export const SCOPE_PERMISSIONS: readonly ScopePermission[] = ['c', 'r', 'u', 'd', 's'];

/**
 * What a route needs: `read` (r), `search` (s), `create` (c), `update` (u), `delete` (d), or
 * `write` — any one of create/update, for a route that may do either (e.g. a transaction Bundle).
 */
export type ScopeInteraction = 'read' | 'search' | 'create' | 'update' | 'delete' | 'write';

export interface ScopeRequirement {
  readonly resourceType: string;
  readonly interaction: ScopeInteraction;
}

const NEEDS: Readonly<Record<ScopeInteraction, readonly ScopePermission[]>> = {
  read: ['r'],
  search: ['s'],
  create: ['c'],
  update: ['u'],
  delete: ['d'],
  write: ['c', 'u'],
};

/** SMART v1 permission words and the v2 permission sets they stand for. */
const V1: ReadonlyMap<string, readonly ScopePermission[]> = new Map([
  ['read', ['r', 's']],
  ['write', ['c', 'u', 'd']],
  ['*', ['c', 'r', 'u', 'd', 's']],
]);

export interface ParsedScope {
  readonly resourceType: string;
  readonly permissions: ReadonlySet<ScopePermission>;
  /** Which syntax the scope was written in (a grant answers in the syntax it was asked in). */
  readonly syntax: 'v1' | 'v2';
}

const RESOURCE_TYPE = /^(\*|[A-Z][A-Za-z]{0,63})$/;
const V2_PERMISSIONS = /^c?r?u?d?s?$/;

/** Parses one scope; null when it is not a whole-type system scope we understand. */
export function parseSmartScope(scope: string): ParsedScope | null {
  const match = /^system\/([^./?]+)\.([^?]+)$/.exec(scope);
  if (match === null) return null;
  const [, resourceType, permission] = match as unknown as [string, string, string];
  if (!RESOURCE_TYPE.test(resourceType)) return null;
  const v1 = V1.get(permission);
  if (v1 !== undefined) return { resourceType, permissions: new Set(v1), syntax: 'v1' };
  if (permission === '' || !V2_PERMISSIONS.test(permission)) return null;
  return {
    resourceType,
    permissions: new Set(SCOPE_PERMISSIONS.filter((p) => permission.includes(p))),
    syntax: 'v2',
  };
}

/** The permissions that `scopes` give on `resourceType` (a `*` scope counts for every type). */
function permissionsOn(scopes: readonly string[], resourceType: string): Set<ScopePermission> {
  const out = new Set<ScopePermission>();
  for (const scope of scopes) {
    const parsed = parseSmartScope(scope);
    if (parsed === null) continue;
    if (parsed.resourceType !== '*' && parsed.resourceType !== resourceType) continue;
    for (const p of parsed.permissions) out.add(p);
  }
  return out;
}

/** Whether the granted scopes allow `interaction` on `resourceType`. */
export function scopeCovers(
  granted: readonly string[],
  resourceType: string,
  interaction: ScopeInteraction,
): boolean {
  const held = permissionsOn(granted, resourceType);
  return NEEDS[interaction].some((p) => held.has(p));
}

/**
 * Reads the string form of a requirement: `system/DocumentReference.read`, `DocumentReference.search`,
 * `Consent.create`, `Bundle.write`. Throws on anything else (a typo in a decorator must fail at boot,
 * not open a route).
 */
export function parseScopeRequirement(text: string): ScopeRequirement {
  const match = /^(?:system\/)?([A-Z][A-Za-z]{0,63}|\*)\.(read|search|create|update|delete|write)$/.exec(
    text,
  );
  if (match === null) {
    throw new Error(
      `Invalid scope requirement "${text}": expected system/<ResourceType>.read|search|create|update|delete|write`,
    );
  }
  return { resourceType: match[1], interaction: match[2] as ScopeInteraction };
}

/** A scope that would satisfy a requirement, for error messages (v2 letters). */
export function exampleScope(requirement: ScopeRequirement): string {
  return `system/${requirement.resourceType}.${NEEDS[requirement.interaction][0] ?? 'r'}`;
}

/** Splits a space-separated OAuth `scope` value (RFC 6749 §3.3) into distinct scopes, in order. */
export function splitScopes(scope: string | undefined | null): string[] {
  if (scope === undefined || scope === null) return [];
  return [...new Set(scope.split(' ').filter((s) => s !== ''))];
}

export interface GrantOptions {
  /**
   * Permissions the issuer ever grants (default all of `cruds`). An API without a delete
   * interaction passes `['c', 'r', 'u', 's']`, so no token claims a `d` it could never use.
   */
  readonly grantable?: readonly ScopePermission[];
}

/**
 * The scopes a client gets (token request, RFC 6749 §3.3), never a permission its registration
 * does not hold. For each requested scope: the permissions registered on its resource type (a
 * registered `system/*.rs` counts for `Patient`; a requested `system/*.…` counts only registered
 * `*` scopes) ∩ the requested ones ∩ `grantable`.
 * - v2 request: granted as the intersection in v2 letters (`system/Consent.cud` with
 *   `system/Consent.write` registered and no delete → `system/Consent.cu`); dropped when empty.
 * - v1 request: granted only when its whole permission set (less what is not grantable) is
 *   covered (`system/Patient.read` under `system/Patient.rs`, not under `system/Patient.r`); as
 *   asked when nothing was left out, else in v2 letters (`system/Consent.write` without delete →
 *   `system/Consent.cu`), so a granted scope never names a permission it does not give.
 * Scopes the platform does not parse are granted only on an exact match. Result de-duplicated.
 */
export function grantScopes(
  requested: readonly string[],
  allowed: readonly string[],
  options: GrantOptions = {},
): string[] {
  const grantable = new Set(options.grantable ?? SCOPE_PERMISSIONS);
  const granted: string[] = [];
  for (const scope of requested) {
    const parsed = parseSmartScope(scope);
    if (parsed === null) {
      if (allowed.includes(scope)) granted.push(scope);
      continue;
    }
    const registered =
      parsed.resourceType === '*'
        ? permissionsOn(
            allowed.filter((a) => parseSmartScope(a)?.resourceType === '*'),
            '*',
          )
        : permissionsOn(allowed, parsed.resourceType);
    const wanted = SCOPE_PERMISSIONS.filter((p) => parsed.permissions.has(p) && grantable.has(p));
    const given = wanted.filter((p) => registered.has(p));
    if (given.length === 0) continue;
    if (parsed.syntax === 'v1') {
      if (given.length !== wanted.length) continue;
      // a v1 word stands for a fixed set: when `grantable` took a permission out of it, the
      // word would claim more than granted, so the grant is written in v2 letters instead
      const filtered = wanted.length !== parsed.permissions.size;
      granted.push(filtered ? `system/${parsed.resourceType}.${given.join('')}` : scope);
    } else {
      granted.push(`system/${parsed.resourceType}.${given.join('')}`);
    }
  }
  return [...new Set(granted)];
}
