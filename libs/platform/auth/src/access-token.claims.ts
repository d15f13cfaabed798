import type { JWTPayload } from 'jose';
import { audienceForKind } from '@tessera/contracts';
import { OPERATOR_ROLES, SERVICE_ROLE_EXCHANGE } from './principal';
import type { Principal, PrincipalKind } from './principal';
import { splitScopes } from './scope';

export {
  ACCESS_TOKEN_ALGORITHM,
  ACCESS_TOKEN_LIFETIME_SECONDS,
  ACCESS_TOKEN_TYPE,
  audienceForKind,
} from '@tessera/contracts';

/** Tessera's own claims next to the registered ones (`iss sub aud exp iat jti scope`). */
export interface TesseraAccessTokenClaims extends JWTPayload {
  readonly scope?: string;
  readonly tessera_kind: PrincipalKind;
  readonly tessera_institution?: string;
  readonly tessera_roles: readonly string[];
}

/** Short, non-sensitive reasons a token or a call is refused (what the 401/403 and the audit say). */
export type AuthFailureReason =
  | 'missing_token'
  | 'malformed_token'
  | 'expired'
  | 'not_yet_valid'
  | 'bad_signature'
  | 'unknown_key'
  | 'wrong_issuer'
  | 'wrong_audience'
  | 'wrong_type'
  | 'invalid_claims'
  | 'issuer_keys_unavailable'
  | 'insufficient_scope'
  | 'insufficient_role'
  | 'regional_role'
  | 'service_only'
  | 'no_access_policy';

/** A refused token (401), refused call (403) or unreachable issuer keys (503); `reason` is safe to log. */
export class AuthFailure extends Error {
  constructor(
    readonly reason: AuthFailureReason,
    readonly status: 401 | 403 | 503,
    readonly clientId?: string,
  ) {
    super(reason);
    this.name = 'AuthFailure';
  }
}

const KINDS: readonly PrincipalKind[] = ['institution', 'operator', 'service'];
const ROLE_NAMES: ReadonlySet<string> = new Set<string>([...OPERATOR_ROLES, SERVICE_ROLE_EXCHANGE]);

function stringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

/**
 * Builds the Principal from a token whose signature, issuer, audience and lifetime jose has already
 * checked. Enforces the coupling of kind and audience, so an institution token minted for the
 * operator audience (or any other mix) is refused: institutions → `tessera:exchange` (or one of
 * `extraInstitutionAudiences`, e.g. the FHIR base URL), operators → `tessera:operator`,
 * services → `tessera:internal` with the service role.
 */
export function principalFromClaims(
  payload: JWTPayload,
  extraInstitutionAudiences: readonly string[] = [],
): Principal {
  const claims = payload as Partial<TesseraAccessTokenClaims>;
  const sub = claims.sub;
  const clientId = typeof sub === 'string' && sub !== '' ? sub : undefined;
  const invalid = (): AuthFailure => new AuthFailure('invalid_claims', 401, clientId);
  if (
    clientId === undefined ||
    typeof claims.jti !== 'string' ||
    claims.jti === '' ||
    typeof claims.exp !== 'number'
  ) {
    throw invalid();
  }
  const kind = claims.tessera_kind;
  if (typeof kind !== 'string' || !KINDS.includes(kind)) throw invalid();
  const roles = claims.tessera_roles ?? [];
  if (!stringArray(roles) || roles.some((r) => !ROLE_NAMES.has(r))) throw invalid();
  if (claims.scope !== undefined && typeof claims.scope !== 'string') throw invalid();
  const institution = claims.tessera_institution;
  if (institution !== undefined && (typeof institution !== 'string' || institution === '')) throw invalid();

  const audiences = typeof claims.aud === 'string' ? [claims.aud] : (claims.aud ?? []);
  const allowed =
    kind === 'institution' ? [audienceForKind(kind), ...extraInstitutionAudiences] : [audienceForKind(kind)];
  if (!audiences.some((a) => allowed.includes(a))) throw new AuthFailure('wrong_audience', 401, clientId);

  switch (kind) {
    case 'institution':
      if (institution === undefined || roles.length > 0) throw invalid();
      break;
    case 'operator':
      if (roles.includes(SERVICE_ROLE_EXCHANGE)) throw invalid();
      break;
    case 'service':
      if (institution !== undefined || !roles.includes(SERVICE_ROLE_EXCHANGE)) throw invalid();
      break;
  }
  return {
    kind,
    clientId,
    institutionId: institution ?? null,
    scopes: splitScopes(claims.scope),
    roles: [...roles],
    tokenId: claims.jti,
    expiresAt: claims.exp,
  };
}
