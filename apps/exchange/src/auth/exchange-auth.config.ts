import { z } from 'zod';
import { defineConfig } from '@tessera/platform-config';

/** Settings of the exchange's token endpoint (read once at boot; see apps/exchange/README.md "Authentication"). */
export const exchangeAuthConfig = defineConfig(
  'exchange-auth',
  z.object({
    // Same variable as exchangeConfig: the token endpoint URL (the `aud` of client assertions) is built from it.
    EXCHANGE_PUBLIC_BASE_URL: z
      .url()
      .default('http://127.0.0.1:8080')
      .transform((v) => v.replace(/\/+$/, ''))
      .describe('public base URL institutions call; client assertions must have aud = <this>/auth/token'),
    EXCHANGE_SIGNING_KEY_FILE: z
      .string()
      .default('deploy/demo-region/keys/exchange-signing.private.jwk')
      .describe('private EC P-256 JWK (with kid) the exchange signs access tokens with (ES256)'),
    EXCHANGE_CLIENTS_FILE: z
      .string()
      .default('deploy/demo-region/clients.yaml')
      .describe('YAML of OAuth clients seeded into oauth_clients at boot (empty: none)'),
    EXCHANGE_TOKEN_REQUESTS_PER_SECOND: z.coerce
      .number()
      .int()
      .positive()
      .default(20)
      .describe(
        'token requests accepted per second from one network address, shared by every replica (Redis); more answer 429',
      ),
  }),
);

export type ExchangeAuthSettings = z.output<(typeof exchangeAuthConfig)['schema']>;
export const EXCHANGE_AUTH_SETTINGS = Symbol('EXCHANGE_AUTH_SETTINGS');

/** The token endpoint URL, exactly what a client assertion's `aud` must be. */
export function tokenEndpointOf(settings: Pick<ExchangeAuthSettings, 'EXCHANGE_PUBLIC_BASE_URL'>): string {
  return `${settings.EXCHANGE_PUBLIC_BASE_URL}/auth/token`;
}
