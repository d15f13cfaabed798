import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import type { JWK } from 'jose';
import { parse } from 'yaml';
import type { ClientKey } from './client-assertion';

/** Where the synthetic demo region keeps client private keys (never use these anywhere real). */
export const DEMO_KEYS_DIR = 'deploy/demo-region/keys';
export const DEMO_CLIENTS_FILE = 'deploy/demo-region/clients.yaml';

export function keyFile(keysDir: string, clientId: string): string {
  if (!/^[a-z0-9][a-z0-9._-]{0,63}$/.test(clientId)) throw new Error(`not a client id: ${clientId}`);
  return path.join(keysDir, `${clientId}.private.jwk`);
}

export function readClientKey(keysDir: string, clientId: string): ClientKey {
  const file = keyFile(keysDir, clientId);
  if (!existsSync(file)) throw new Error(`no private key for client ${clientId} at ${file}`);
  const jwk = JSON.parse(readFileSync(file, 'utf8')) as JWK;
  if (typeof jwk.kid !== 'string' || typeof jwk.alg !== 'string' || jwk.d === undefined) {
    throw new Error(`${file}: expected a private JWK with kid and alg`);
  }
  return jwk as ClientKey;
}

/** The client's registered scopes from clients.yaml (the default scope a CLI token asks for). */
export function registeredScopes(clientsFile: string, clientId: string): string[] | undefined {
  if (!existsSync(clientsFile)) return undefined;
  const doc = parse(readFileSync(clientsFile, 'utf8')) as {
    clients?: Array<{ client_id?: unknown; allowed_scopes?: unknown }>;
  } | null;
  const entry = doc?.clients?.find((c) => c.client_id === clientId);
  const scopes = entry?.allowed_scopes;
  return Array.isArray(scopes) ? scopes.filter((s): s is string => typeof s === 'string') : undefined;
}

/** Generates a key pair, writes the private JWK file and returns the public JWK for clients.yaml. */
export async function generateClientKey(
  keysDir: string,
  clientId: string,
  alg: 'ES384' | 'RS384',
): Promise<JWK> {
  const { publicKey, privateKey } = await generateKeyPair(alg, {
    extractable: true,
    ...(alg === 'RS384' ? { modulusLength: 2048 } : {}),
  });
  const kid = `${clientId}-${new Date().toISOString().slice(0, 10)}`;
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg, use: 'sig' };
  writeFileSync(keyFile(keysDir, clientId), `${JSON.stringify(privateJwk, null, 2)}\n`, { mode: 0o600 });
  return { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
}
