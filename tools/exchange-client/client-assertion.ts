import { randomUUID } from 'node:crypto';
import { importJWK, SignJWT } from 'jose';
import type { JWK } from 'jose';

export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** A private JWK as stored under deploy/demo-region/keys/ (kid and alg set). */
export interface ClientKey extends JWK {
  readonly kid: string;
  readonly alg: string;
}

/**
 * A SMART Backend Services client assertion (RFC 7523 §3): iss = sub = client id, aud = the
 * token endpoint URL, short exp, unique jti, signed with the client's private key (kid in header).
 */
export async function signClientAssertion(
  clientId: string,
  tokenEndpoint: string,
  key: ClientKey,
  lifetimeSeconds = 60,
): Promise<string> {
  const privateKey = await importJWK(key, key.alg);
  return new SignJWT({})
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' })
    .setIssuer(clientId)
    .setSubject(clientId)
    .setAudience(tokenEndpoint)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + lifetimeSeconds)
    .setJti(randomUUID())
    .sign(privateKey);
}

/** The form body of a client-credentials token request with a JWT client assertion. */
export function tokenRequestBody(assertion: string, scope: string | undefined): URLSearchParams {
  const form = new URLSearchParams({
    grant_type: 'client_credentials',
    client_assertion_type: CLIENT_ASSERTION_TYPE,
    client_assertion: assertion,
  });
  if (scope !== undefined && scope !== '') form.set('scope', scope);
  return form;
}
