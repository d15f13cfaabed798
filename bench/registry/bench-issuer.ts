import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import {
  ACCESS_TOKEN_ALGORITHM,
  ACCESS_TOKEN_TYPE,
  Audiences,
  SERVICE_ROLE_EXCHANGE,
} from '@tessera/platform-auth';

/**
 * The benchmark's stand-in for the exchange's token issuer (libs/testing is not in the build): a
 * JWKS on a free port and one service token, as the exchange would send it to the registry.
 */
export interface BenchIssuer {
  /** `{ AUTH_ISSUER, AUTH_JWKS_URL }` for the registry process. */
  readonly env: Readonly<Record<'AUTH_ISSUER' | 'AUTH_JWKS_URL', string>>;
  /** A service token (`service.exchange`, audience tessera:internal) valid for `lifetimeS`. */
  serviceToken(lifetimeS: number): Promise<string>;
  close(): Promise<void>;
}

export async function startBenchIssuer(): Promise<BenchIssuer> {
  const kid = `bench-${randomUUID()}`;
  const { publicKey, privateKey } = await generateKeyPair(ACCESS_TOKEN_ALGORITHM);
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: ACCESS_TOKEN_ALGORITHM, use: 'sig' };
  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/.well-known/jwks.json') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
    } else res.writeHead(404).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    env: { AUTH_ISSUER: issuer, AUTH_JWKS_URL: `${issuer}/.well-known/jwks.json` },
    serviceToken: (lifetimeS) => {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ tessera_kind: 'service', tessera_roles: [SERVICE_ROLE_EXCHANGE] })
        .setProtectedHeader({ alg: ACCESS_TOKEN_ALGORITHM, typ: ACCESS_TOKEN_TYPE, kid })
        .setIssuer(issuer)
        .setSubject('bench-exchange')
        .setAudience(Audiences.internal)
        .setIssuedAt(now)
        .setExpirationTime(now + lifetimeS)
        .setJti(randomUUID())
        .sign(privateKey);
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error === undefined ? resolve() : reject(error)));
      }),
  };
}
