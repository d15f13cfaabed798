/**
 * Runs the exchange for integration tests: the real app (bootstrapService, real Postgres / Redis /
 * Kafka) in this process, or as a child process from dist, wired to the given upstream URLs, with a
 * generated signing key so tests can mint access tokens the exchange accepts (and forged ones).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import type { KeyLike } from 'jose';
import {
  ACCESS_TOKEN_ALGORITHM,
  ACCESS_TOKEN_TYPE,
  audienceForKind,
  SERVICE_ROLE_EXCHANGE,
} from '@tessera/platform-auth';
import type { PrincipalKind } from '@tessera/platform-auth';

export interface TokenClaims {
  readonly kind: PrincipalKind;
  readonly clientId: string;
  readonly institutionId?: string;
  readonly scopes?: readonly string[];
  readonly roles?: readonly string[];
  readonly audience?: string;
  readonly expiresInSeconds?: number;
}

export interface TestKeys {
  readonly dir: string;
  readonly signingKeyFile: string;
  readonly clientsFile: string;
  mint(issuer: string, claims: TokenClaims): Promise<string>;
  mintForged(issuer: string, claims: TokenClaims): Promise<string>;
}

/** A throwaway P-256 signing key (file for EXCHANGE_SIGNING_KEY_FILE) and a clients.yaml. */
export async function createTestKeys(clientsYaml: string): Promise<TestKeys> {
  const dir = mkdtempSync(path.join(tmpdir(), 'exchange-test-'));
  const kid = `test-${randomUUID()}`;
  const { privateKey } = await generateKeyPair(ACCESS_TOKEN_ALGORITHM, { extractable: true });
  const foreign = await generateKeyPair(ACCESS_TOKEN_ALGORITHM);
  const jwk = { ...(await exportJWK(privateKey)), kid, alg: ACCESS_TOKEN_ALGORITHM };
  const signingKeyFile = path.join(dir, 'signing.private.jwk');
  writeFileSync(signingKeyFile, JSON.stringify(jwk));
  const clientsFile = path.join(dir, 'clients.yaml');
  writeFileSync(clientsFile, clientsYaml);
  const sign = async (issuer: string, claims: TokenClaims, key: KeyLike): Promise<string> => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({
      ...(claims.scopes === undefined ? {} : { scope: claims.scopes.join(' ') }),
      tessera_kind: claims.kind,
      ...(claims.institutionId === undefined ? {} : { tessera_institution: claims.institutionId }),
      tessera_roles: claims.roles ?? (claims.kind === 'service' ? [SERVICE_ROLE_EXCHANGE] : []),
    })
      .setProtectedHeader({ alg: ACCESS_TOKEN_ALGORITHM, typ: ACCESS_TOKEN_TYPE, kid })
      .setIssuer(issuer)
      .setSubject(claims.clientId)
      .setAudience(claims.audience ?? audienceForKind(claims.kind))
      .setIssuedAt(now - (claims.expiresInSeconds !== undefined && claims.expiresInSeconds < 0 ? 600 : 0))
      .setExpirationTime(now + (claims.expiresInSeconds ?? 300))
      .setJti(randomUUID())
      .sign(key);
  };
  return {
    dir,
    signingKeyFile,
    clientsFile,
    mint: (issuer, claims) => sign(issuer, claims, privateKey),
    mintForged: (issuer, claims) => sign(issuer, claims, foreign.privateKey),
  };
}

/** A public JWK for clients.yaml entries (the test never uses the client assertion flow). */
export const PLACEHOLDER_CLIENT_JWK = {
  kty: 'EC',
  crv: 'P-256',
  kid: 'placeholder',
  alg: 'ES256',
  x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU',
  y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0',
};

export function exchangeEnv(options: {
  readonly port: number;
  readonly database: string;
  readonly keys: TestKeys;
  readonly mpiUrl: string;
  readonly registryUrl: string;
  readonly consentUrl: string;
  readonly extra?: Readonly<Record<string, string>>;
}): Record<string, string> {
  const base = `http://127.0.0.1:${options.port}`;
  return {
    HTTP_PORT: String(options.port),
    DB_NAME: options.database,
    AUTH_ISSUER: base,
    EXCHANGE_PUBLIC_BASE_URL: base,
    EXCHANGE_SIGNING_KEY_FILE: options.keys.signingKeyFile,
    EXCHANGE_CLIENTS_FILE: options.keys.clientsFile,
    EXCHANGE_MPI_URL: options.mpiUrl,
    EXCHANGE_REGISTRY_URL: options.registryUrl,
    EXCHANGE_CONSENT_URL: options.consentUrl,
    LOG_LEVEL: 'warn',
    ...options.extra,
  };
}
