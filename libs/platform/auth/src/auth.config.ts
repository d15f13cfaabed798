import { z } from 'zod';
import { defineConfig } from '@tessera/platform-config';

/**
 * How a service verifies access tokens (offline, against the issuer's published keys). The issuer
 * is the exchange's token endpoint host; its JWKS is fetched once and cached by jose.
 */
export const authConfig = defineConfig(
  'auth',
  z.object({
    AUTH_ISSUER: z
      .url()
      .default('http://127.0.0.1:8080')
      .transform((v) => v.replace(/\/+$/, ''))
      .describe('the `iss` of access tokens (the exchange base URL), e.g. http://127.0.0.1:8080'),
    AUTH_JWKS_URL: z
      .url()
      .optional()
      .describe('URL of the issuer JWK set (default: <AUTH_ISSUER>/.well-known/jwks.json)'),
  }),
);

export type AuthSettings = z.output<(typeof authConfig)['schema']>;

/** The JWKS URL a service fetches: AUTH_JWKS_URL, else `<issuer>/.well-known/jwks.json`. */
export function jwksUrlOf(settings: AuthSettings): string {
  return settings.AUTH_JWKS_URL ?? `${settings.AUTH_ISSUER}/.well-known/jwks.json`;
}
