import { createRemoteJWKSet, errors, jwtVerify } from 'jose';
import type { JWTPayload, JWTVerifyGetKey, KeyLike } from 'jose';
import {
  ACCESS_TOKEN_ALGORITHM,
  ACCESS_TOKEN_TYPE,
  AuthFailure,
  principalFromClaims,
} from './access-token.claims';
import type { Principal } from './principal';

/** Key material a verifier trusts: the issuer's JWKS URL (fetched and cached) or a local key/key set. */
export type VerificationKeys = URL | KeyLike | Uint8Array | JWTVerifyGetKey;

export interface AccessTokenVerifierOptions {
  readonly issuer: string;
  /** Audiences this service accepts (e.g. `[Audiences.operator, Audiences.internal]`). */
  readonly audience: string | readonly string[];
  readonly keys: VerificationKeys;
  /** Allowed clock difference for `exp`/`nbf`/`iat`, seconds (default 30). */
  readonly clockToleranceSeconds?: number;
  /** Extra audiences an institution token may carry (the exchange's FHIR base URL). */
  readonly extraInstitutionAudiences?: readonly string[];
  /**
   * Verified tokens remembered (bounded LRU, default 10,000; 0 turns the cache off), so the ES256
   * check runs once per token instead of once per request. Keyed by the whole token (an exact match:
   * a different header, payload or signature is verified anew); an entry lives until the token's
   * `exp` and at most `verifiedCacheMaxAgeMs` — never longer. Failures are never remembered.
   */
  readonly verifiedCacheSize?: number;
  /** Upper bound of a cached entry's life, ms (default 5 minutes; bounds a key rotation's reach). */
  readonly verifiedCacheMaxAgeMs?: number;
}

interface CachedPrincipal {
  readonly principal: Principal;
  /** Epoch ms after which the entry is not used (min of the token's exp and the max age). */
  readonly until: number;
}

/**
 * Verifies an access token offline and returns who is calling. Checks the ES256 signature against
 * the issuer's keys, `typ` at+jwt (so a client assertion or an ID token is not an access token),
 * `iss`, `aud`, `exp`/`nbf` with a small clock tolerance, and the Tessera claims (see
 * principalFromClaims). Failures are AuthFailure with a short reason and never the token.
 */
export class AccessTokenVerifier {
  private readonly getKey: JWTVerifyGetKey | KeyLike | Uint8Array;
  private readonly audiences: string[];
  private readonly verified = new Map<string, CachedPrincipal>();
  private readonly cacheSize: number;
  private readonly cacheMaxAgeMs: number;

  constructor(private readonly options: AccessTokenVerifierOptions) {
    const keys = options.keys;
    this.getKey =
      keys instanceof URL
        ? createRemoteJWKSet(keys, {
            cooldownDuration: 30_000,
            cacheMaxAge: 10 * 60_000,
            timeoutDuration: 5_000,
          })
        : keys;
    const audience = typeof options.audience === 'string' ? [options.audience] : [...options.audience];
    this.audiences = [...audience, ...(options.extraInstitutionAudiences ?? [])];
    if (audience.length === 0) throw new Error('AccessTokenVerifier: at least one audience is required');
    this.cacheSize = Math.max(0, Math.floor(options.verifiedCacheSize ?? 10_000));
    this.cacheMaxAgeMs = Math.max(0, options.verifiedCacheMaxAgeMs ?? 5 * 60_000);
  }

  async verify(token: string): Promise<Principal> {
    if (this.cacheSize > 0) {
      const hit = this.verified.get(token);
      if (hit !== undefined) {
        if (Date.now() < hit.until) {
          // Most recently used last: the first key of the Map is the one evicted.
          this.verified.delete(token);
          this.verified.set(token, hit);
          return hit.principal;
        }
        this.verified.delete(token);
      }
    }
    const principal = await this.verifyUncached(token);
    if (this.cacheSize > 0) this.remember(token, principal);
    return principal;
  }

  /** Entries currently remembered (for tests and metrics). */
  get cachedTokens(): number {
    return this.verified.size;
  }

  private remember(token: string, principal: Principal): void {
    const until = Math.min(principal.expiresAt * 1000, Date.now() + this.cacheMaxAgeMs);
    // Only a token valid now (exp not reached, tolerance not counted) is remembered.
    if (until <= Date.now()) return;
    this.verified.set(token, { principal: Object.freeze(principal), until });
    while (this.verified.size > this.cacheSize) {
      const oldest = this.verified.keys().next().value;
      if (oldest === undefined) break;
      this.verified.delete(oldest);
    }
  }

  private async verifyUncached(token: string): Promise<Principal> {
    if (token === '' || token.split('.').length !== 3) throw new AuthFailure('malformed_token', 401);
    let payload;
    try {
      const verifyOptions = {
        issuer: this.options.issuer,
        audience: this.audiences,
        algorithms: [ACCESS_TOKEN_ALGORITHM],
        typ: ACCESS_TOKEN_TYPE,
        clockTolerance: this.options.clockToleranceSeconds ?? 30,
        requiredClaims: ['exp', 'iat', 'jti', 'sub'],
      };
      // jose's overloads split a key from a key-set function; both are handled the same way here.
      payload =
        typeof this.getKey === 'function'
          ? (await jwtVerify(token, this.getKey, verifyOptions)).payload
          : (await jwtVerify(token, this.getKey, verifyOptions)).payload;
    } catch (error) {
      throw toAuthFailure(error);
    }
    return principalFromClaims(payload, this.options.extraInstitutionAudiences ?? []);
  }
}

/** Maps jose's errors to a short reason; anything about fetching the issuer's keys is a 503. */
export function toAuthFailure(error: unknown): AuthFailure {
  if (error instanceof AuthFailure) return error;
  // Claim checks run after the signature check, so the `sub` of these is the real client's.
  if (error instanceof errors.JWTExpired) return new AuthFailure('expired', 401, subjectOf(error.payload));
  if (error instanceof errors.JWTClaimValidationFailed) {
    const clientId = subjectOf(error.payload);
    switch (error.claim) {
      case 'iss':
        return new AuthFailure('wrong_issuer', 401, clientId);
      case 'aud':
        return new AuthFailure('wrong_audience', 401, clientId);
      case 'nbf':
      case 'iat':
        return new AuthFailure('not_yet_valid', 401, clientId);
      case 'typ':
        return new AuthFailure('wrong_type', 401, clientId);
      default:
        return new AuthFailure('invalid_claims', 401, clientId);
    }
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return new AuthFailure('bad_signature', 401);
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) {
    return new AuthFailure('unknown_key', 401);
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return new AuthFailure('unknown_key', 401);
  if (
    error instanceof errors.JWSInvalid ||
    error instanceof errors.JWTInvalid ||
    error instanceof errors.JOSENotSupported
  ) {
    return new AuthFailure('malformed_token', 401);
  }
  // JWKSTimeout, JWKSInvalid, a non-200 answer or a refused connection: the issuer's keys are unreachable.
  return new AuthFailure('issuer_keys_unavailable', 503);
}

function subjectOf(payload: JWTPayload | undefined): string | undefined {
  const sub = payload?.sub;
  return typeof sub === 'string' && sub !== '' && sub.length <= 200 ? sub : undefined;
}
