import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import type { JWK, KeyLike } from 'jose';
import {
  ACCESS_TOKEN_ALGORITHM,
  ACCESS_TOKEN_TYPE,
  audienceForKind,
  SERVICE_ROLE_EXCHANGE,
} from '@tessera/contracts';
import type { PrincipalKind } from '@tessera/contracts';

export interface TestTokenClaims {
  readonly kind: PrincipalKind;
  readonly clientId: string;
  readonly institutionId?: string;
  readonly scopes?: readonly string[];
  /** Default: `[service.exchange]` for services, none otherwise. */
  readonly roles?: readonly string[];
  /** Default: the audience of the kind (Audiences). */
  readonly audience?: string | readonly string[];
  /** Default 300; negative mints an already expired token. */
  readonly expiresInSeconds?: number;
  /** Default: the test issuer. */
  readonly issuer?: string;
  /** `nbf` this many seconds from now (a token not valid yet). */
  readonly notBeforeInSeconds?: number;
}

export interface TestIssuer {
  /** `http://127.0.0.1:<port>`: pass as AUTH_ISSUER. */
  readonly issuer: string;
  /** Pass as AUTH_JWKS_URL. */
  readonly jwksUrl: string;
  /** Env for a spawned service: `{ AUTH_ISSUER, AUTH_JWKS_URL }`. */
  readonly env: Readonly<Record<'AUTH_ISSUER' | 'AUTH_JWKS_URL', string>>;
  /** The issuer's private key (for tests that need to sign something unusual themselves). */
  readonly privateKey: KeyLike;
  readonly publicJwk: JWK;
  /** An access token as the exchange would issue it. */
  mint(claims: TestTokenClaims): Promise<string>;
  /** Same claims signed by a key the JWKS does not publish (same kid): must be refused as forged. */
  mintWithForeignKey(claims: TestTokenClaims): Promise<string>;
  /** How many times the JWKS was fetched. */
  jwksRequests(): number;
  close(): Promise<void>;
}

/**
 * A stand-in for the exchange's token issuer: an HTTP server on a free port serving
 * `/.well-known/jwks.json` with a generated ES256 key, and `mint()` for access tokens with the
 * platform's claims (design "Tokens").
 */
export async function startTestIssuer(): Promise<TestIssuer> {
  const kid = `test-${randomUUID()}`;
  const { publicKey, privateKey } = await generateKeyPair(ACCESS_TOKEN_ALGORITHM, { extractable: true });
  const foreign = await generateKeyPair(ACCESS_TOKEN_ALGORITHM);
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: ACCESS_TOKEN_ALGORITHM, use: 'sig' };
  let requests = 0;
  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/.well-known/jwks.json') {
      requests += 1;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: [publicJwk] }));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const jwksUrl = `${issuer}/.well-known/jwks.json`;

  const sign = async (claims: TestTokenClaims, key: KeyLike): Promise<string> => {
    const now = Math.floor(Date.now() / 1000);
    const roles = claims.roles ?? (claims.kind === 'service' ? [SERVICE_ROLE_EXCHANGE] : []);
    const audience = claims.audience ?? audienceForKind(claims.kind);
    const jwt = new SignJWT({
      ...(claims.scopes === undefined ? {} : { scope: claims.scopes.join(' ') }),
      tessera_kind: claims.kind,
      ...(claims.institutionId === undefined ? {} : { tessera_institution: claims.institutionId }),
      tessera_roles: roles,
    })
      .setProtectedHeader({ alg: ACCESS_TOKEN_ALGORITHM, typ: ACCESS_TOKEN_TYPE, kid })
      .setIssuer(claims.issuer ?? issuer)
      .setSubject(claims.clientId)
      .setAudience(typeof audience === 'string' ? audience : [...audience])
      .setIssuedAt(now)
      .setExpirationTime(now + (claims.expiresInSeconds ?? 300))
      .setJti(randomUUID());
    if (claims.notBeforeInSeconds !== undefined) jwt.setNotBefore(now + claims.notBeforeInSeconds);
    return jwt.sign(key);
  };

  return {
    issuer,
    jwksUrl,
    env: { AUTH_ISSUER: issuer, AUTH_JWKS_URL: jwksUrl },
    privateKey,
    publicJwk,
    mint: (claims) => sign(claims, privateKey),
    mintWithForeignKey: (claims) => sign(claims, foreign.privateKey),
    jwksRequests: () => requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error === undefined ? resolve() : reject(error)));
      }),
  };
}
