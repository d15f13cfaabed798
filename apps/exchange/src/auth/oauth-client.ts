import type { JSONWebKeySet } from 'jose';
import { parse } from 'yaml';
import { z } from 'zod';
import { isInstitutionScopedRole, OPERATOR_ROLES } from '@tessera/platform-auth';
import { PURPOSES_OF_USE } from '@tessera/consent-policy';

/** Client assertion algorithms accepted (SMART Backend Services: RS384/ES384 required; RS256/ES256 too). */
export const CLIENT_ASSERTION_ALGORITHMS = ['RS384', 'ES384', 'RS256', 'ES256'] as const;

/** A registered OAuth client of the exchange (row of oauth_clients). */
export interface OAuthClient {
  readonly clientId: string;
  readonly kind: 'institution' | 'operator';
  /**
   * Institutions: their institution. Operators: null (regional) or the one hospital they work for
   * (then only institution-scoped roles: ledger.read, ledger.replay).
   */
  readonly institutionId: string | null;
  /** Public keys only. */
  readonly jwks: JSONWebKeySet;
  readonly allowedScopes: readonly string[];
  readonly allowedPurposes: readonly string[];
  readonly roles: readonly string[];
  /** Null: EXCHANGE_RATE_LIMIT_PER_SECOND. */
  readonly rateLimitPerSecond: number | null;
  readonly enabled: boolean;
}

const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'];

const publicJwk = z
  .looseObject({
    kty: z.enum(['EC', 'RSA']),
    kid: z.string().min(1).max(200),
    alg: z.enum(CLIENT_ASSERTION_ALGORITHMS).optional(),
  })
  .refine(
    (jwk) => PRIVATE_JWK_MEMBERS.every((m) => !(m in jwk)),
    'must be a public key (no private members such as d)',
  );

const clientEntry = z
  .strictObject({
    client_id: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'lowercase letters, digits, . _ -'),
    kind: z.enum(['institution', 'operator']),
    institution_id: z.string().min(1).nullable().default(null),
    allowed_scopes: z.array(z.string().min(1)).default([]),
    allowed_purposes_of_use: z.array(z.enum(PURPOSES_OF_USE)).default([]),
    roles: z.array(z.enum(OPERATOR_ROLES)).default([]),
    rate_limit_per_second: z.number().int().positive().nullable().default(null),
    enabled: z.boolean().default(true),
    jwks: z.strictObject({ keys: z.array(publicJwk).min(1) }),
  })
  .refine((c) => c.kind !== 'institution' || c.institution_id !== null, {
    message: 'an institution client needs institution_id',
    path: ['institution_id'],
  })
  .refine((c) => c.kind !== 'institution' || c.roles.length === 0, {
    message: 'institution clients have no operator roles',
    path: ['roles'],
  })
  .refine((c) => c.kind !== 'operator' || c.roles.length > 0, {
    message: 'an operator client needs at least one role',
    path: ['roles'],
  });

const clientsFile = z.object({ clients: z.array(clientEntry) });

/**
 * Parses clients.yaml; throws naming the entry and field that are wrong (never key material),
 * including an operator bound to an institution that holds a regional role.
 */
export function parseClientsYaml(text: string, where = 'clients.yaml'): OAuthClient[] {
  const result = clientsFile.safeParse(parse(text) as unknown);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`${where}: ${problems}`);
  }
  const ids = new Set<string>();
  return result.data.clients.map((c): OAuthClient => {
    if (ids.has(c.client_id)) throw new Error(`${where}: client ${c.client_id} is listed twice`);
    ids.add(c.client_id);
    const regional =
      c.kind === 'operator' && c.institution_id !== null
        ? c.roles.filter((r) => !isInstitutionScopedRole(r))
        : [];
    if (regional.length > 0) {
      throw new Error(
        `${where}: client ${c.client_id} is bound to one institution (institution_id) but holds the regional role ${regional.join(', ')}: ` +
          'an institution-bound operator may hold only ledger.read and ledger.replay; give that role to a regional operator client (institution_id: null)',
      );
    }
    return {
      clientId: c.client_id,
      kind: c.kind,
      institutionId: c.institution_id,
      jwks: { keys: c.jwks.keys },
      allowedScopes: c.allowed_scopes,
      allowedPurposes: c.allowed_purposes_of_use,
      roles: c.roles,
      rateLimitPerSecond: c.rate_limit_per_second,
      enabled: c.enabled,
    };
  });
}
