import { readFileSync } from 'node:fs';
import { importJWK } from 'jose';
import type { JWK, KeyLike } from 'jose';
import { ACCESS_TOKEN_ALGORITHM } from '@tessera/platform-auth';

/** The exchange's access-token signing key and the public JWK it publishes. */
export interface ExchangeSigningKey {
  readonly kid: string;
  readonly privateKey: KeyLike;
  readonly publicKey: KeyLike;
  /** Public part only (kty, crv, x, y, kid, alg, use): served at /.well-known/jwks.json. */
  readonly publicJwk: JWK;
}

export const EXCHANGE_SIGNING_KEY = Symbol('EXCHANGE_SIGNING_KEY');
/** The public KeyLike the exchange verifies its own access tokens with (AuthModule `verificationKey`). */
export const EXCHANGE_VERIFICATION_KEY = Symbol('EXCHANGE_VERIFICATION_KEY');

/** Reads a private EC P-256 JWK; fails naming the file and what is wrong (never echoing key material). */
export async function loadSigningKey(file: string): Promise<ExchangeSigningKey> {
  let jwk: JWK;
  try {
    jwk = JSON.parse(readFileSync(file, 'utf8')) as JWK;
  } catch (error) {
    throw new Error(
      `EXCHANGE_SIGNING_KEY_FILE ${file}: cannot read a JSON JWK (${(error as NodeJS.ErrnoException).code ?? 'invalid JSON'})`,
    );
  }
  return signingKeyFromJwk(jwk, file);
}

export async function signingKeyFromJwk(jwk: JWK, where = 'signing key'): Promise<ExchangeSigningKey> {
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || typeof jwk.d !== 'string') {
    throw new Error(`${where}: expected a private EC P-256 JWK (kty EC, crv P-256, d) for ES256`);
  }
  if (typeof jwk.kid !== 'string' || jwk.kid === '') throw new Error(`${where}: the JWK needs a kid`);
  const privateKey = (await importJWK(jwk, ACCESS_TOKEN_ALGORITHM)) as KeyLike;
  const { kty, crv, x, y } = jwk;
  const publicJwk: JWK = { kty, crv, x, y, kid: jwk.kid, alg: ACCESS_TOKEN_ALGORITHM, use: 'sig' };
  const publicKey = (await importJWK(publicJwk, ACCESS_TOKEN_ALGORITHM)) as KeyLike;
  return { kid: jwk.kid, privateKey, publicKey, publicJwk };
}
