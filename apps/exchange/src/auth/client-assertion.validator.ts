import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, errors, jwtVerify } from 'jose';
import type { JWTPayload } from 'jose';
import { CLIENT_ASSERTION_ALGORITHMS } from './oauth-client';
import type { OAuthClient } from './oauth-client';

/** Longest lifetime of a client assertion (SMART Backend Services: exp no more than 5 minutes ahead). */
export const MAX_ASSERTION_LIFETIME_SECONDS = 300;
/** Clock difference tolerated between the client and the exchange. */
export const ASSERTION_CLOCK_SKEW_SECONDS = 30;

/** Remembers a jti until the assertion expires; `claim` is false when it was already used. */
export interface JtiStore {
  claim(clientId: string, jti: string, ttlMs: number): Promise<boolean>;
}

/** RFC 6749 §5.2 error of the token endpoint; `description` is safe to return (no key material, no token). */
export class OAuthError extends Error {
  constructor(
    readonly status: 400 | 401 | 503,
    readonly error:
      | 'invalid_request'
      | 'invalid_client'
      | 'invalid_grant'
      | 'unauthorized_client'
      | 'unsupported_grant_type'
      | 'invalid_scope'
      | 'temporarily_unavailable',
    readonly description: string,
    /** The claimed client id, when one could be read (audit). */
    readonly clientId?: string,
  ) {
    super(`${error}: ${description}`);
    this.name = 'OAuthError';
  }
}

export interface AssertionContext {
  /** The token endpoint URL: the only accepted `aud`. */
  readonly tokenEndpoint: string;
  readonly findClient: (clientId: string) => Promise<OAuthClient | undefined>;
  readonly jtis: JtiStore;
  /** `client_id` form parameter, when the client sent one (must match iss). */
  readonly clientIdParameter?: string;
  readonly now?: () => number; // epoch ms
}

/**
 * Authenticates a client by its JWT assertion (RFC 7523 §3, SMART Backend Services
 * "Authenticating to the token endpoint"): `iss` = `sub` = a registered client id; `aud` = the token
 * endpoint URL; `exp` present, in the future and at most 5 minutes ahead; `jti` present and never
 * seen before (stored until `exp`); signed with RS384/ES384 (or RS256/ES256) by a key in the client's
 * registered JWKS, selected by `kid`. Every failure is `invalid_client` (401).
 */
export async function authenticateClient(assertion: string, context: AssertionContext): Promise<OAuthClient> {
  const fail = (description: string, clientId?: string) =>
    new OAuthError(401, 'invalid_client', description, clientId);
  let header: ReturnType<typeof decodeProtectedHeader>;
  let unverified: ReturnType<typeof decodeJwt>;
  try {
    header = decodeProtectedHeader(assertion);
    unverified = decodeJwt(assertion);
  } catch {
    throw fail('client_assertion is not a signed JWT');
  }
  const iss = typeof unverified.iss === 'string' && unverified.iss.length <= 64 ? unverified.iss : undefined;
  if (iss === undefined) throw fail('client_assertion has no iss (it must be the client_id)');
  if (unverified.sub !== iss) throw fail('client_assertion sub must equal iss (the client_id)', iss);
  if (context.clientIdParameter !== undefined && context.clientIdParameter !== iss) {
    throw fail('client_id does not match the client_assertion iss', iss);
  }
  if (
    typeof header.alg !== 'string' ||
    !(CLIENT_ASSERTION_ALGORITHMS as readonly string[]).includes(header.alg)
  ) {
    throw fail(`client_assertion alg must be one of ${CLIENT_ASSERTION_ALGORITHMS.join(', ')}`, iss);
  }
  if (typeof header.kid !== 'string' || header.kid === '')
    throw fail('client_assertion header needs the kid of a registered key', iss);

  const client = await context.findClient(iss);
  if (client === undefined) throw fail('unknown or disabled client', iss);

  const nowMs = (context.now ?? Date.now)();
  const nowSeconds = Math.floor(nowMs / 1000);
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(assertion, createLocalJWKSet(client.jwks), {
      algorithms: [...CLIENT_ASSERTION_ALGORITHMS],
      issuer: client.clientId,
      subject: client.clientId,
      audience: context.tokenEndpoint,
      requiredClaims: ['exp', 'jti'],
      clockTolerance: ASSERTION_CLOCK_SKEW_SECONDS,
      currentDate: new Date(nowMs),
    }));
  } catch (error) {
    throw fail(assertionProblem(error, context.tokenEndpoint), iss);
  }
  const exp = payload.exp!;
  if (exp > nowSeconds + MAX_ASSERTION_LIFETIME_SECONDS + ASSERTION_CLOCK_SKEW_SECONDS) {
    throw fail(`client_assertion exp must be at most ${MAX_ASSERTION_LIFETIME_SECONDS} seconds ahead`, iss);
  }
  if (payload.iat !== undefined && payload.iat > nowSeconds + ASSERTION_CLOCK_SKEW_SECONDS) {
    throw fail('client_assertion iat is in the future', iss);
  }
  const jti = payload.jti!;
  if (jti.length > 256) throw fail('client_assertion jti is longer than 256 characters', iss);
  // After the signature check, so nobody without the key can burn a client's jti values.
  const ttlMs = (exp + ASSERTION_CLOCK_SKEW_SECONDS) * 1000 - nowMs;
  if (!(await context.jtis.claim(client.clientId, jti, Math.max(ttlMs, 1_000)))) {
    throw fail('client_assertion jti was already used (replay)', iss);
  }
  return client;
}

function assertionProblem(error: unknown, tokenEndpoint: string): string {
  if (error instanceof errors.JWTExpired) return 'client_assertion has expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    switch (error.claim) {
      case 'aud':
        return `client_assertion aud must be the token endpoint URL ${tokenEndpoint}`;
      case 'nbf':
        return 'client_assertion is not valid yet (nbf)';
      case 'exp':
      case 'jti':
        return `client_assertion needs ${error.claim}`;
      default:
        return `client_assertion ${error.claim} is invalid`;
    }
  }
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) {
    return 'no registered key of this client matches the client_assertion kid and alg';
  }
  if (error instanceof errors.JWSSignatureVerificationFailed)
    return 'client_assertion signature does not verify';
  if (error instanceof errors.JOSEAlgNotAllowed)
    return `client_assertion alg must be one of ${CLIENT_ASSERTION_ALGORITHMS.join(', ')}`;
  return 'client_assertion could not be verified';
}
