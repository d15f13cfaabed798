import { z } from 'zod';
import { defineConfig, positiveInt } from '@tessera/platform-config';

const url = (fallback: string, what: string) =>
  z
    .string()
    .url()
    .default(fallback)
    .transform((v) => v.replace(/\/+$/, ''))
    .describe(what);

/** Settings of the exchange API (read once at boot; see apps/exchange/README.md). */
export const exchangeConfig = defineConfig(
  'exchange',
  z.object({
    EXCHANGE_PUBLIC_BASE_URL: url(
      'http://127.0.0.1:8080',
      'public base URL institutions call (links in bundles, CapabilityStatement, OpenAPI servers)',
    ),
    EXCHANGE_MPI_URL: url('http://127.0.0.1:8082', 'MPI base URL (PIXm, PDQm, $match; service token)'),
    EXCHANGE_REGISTRY_URL: url(
      'http://127.0.0.1:8084',
      'document registry base URL (service token + visibility)',
    ),
    EXCHANGE_CONSENT_URL: url(
      'http://127.0.0.1:8083',
      'consent service base URL (policies, break-glass, Consent, AuditEvent)',
    ),
    EXCHANGE_UPSTREAM_TIMEOUT_MS: positiveInt(
      5_000,
      'timeout of one call to the MPI, registry or consent service',
    ),
    EXCHANGE_RATE_LIMIT_PER_SECOND: positiveInt(
      50,
      'requests per second per client when its registration sets none',
    ),
    EXCHANGE_REGION_POLICY_FILE: z
      .string()
      .default('deploy/demo-region/consent-policy.yaml')
      .describe("the region's consent policy (YAML, libs/consent-policy parseRegionPolicy)"),
    EXCHANGE_INSTITUTIONS_FILE: z
      .string()
      .default('deploy/demo-region/institutions.yaml')
      .describe('institutions and their identifier systems (own identifiers of a PIXm answer)'),
    EXCHANGE_POLICY_CACHE_TTL_SECONDS: positiveInt(600, 'TTL of a cached PatientPolicy in Redis'),
    EXCHANGE_CONSENT_CACHE_GROUP: z
      .string()
      .default('exchange.consent-cache')
      .describe('consumer group of hie.consent (tests use their own)'),
  }),
);

export type ExchangeSettings = z.output<(typeof exchangeConfig)['schema']>;
export const EXCHANGE_SETTINGS = Symbol('EXCHANGE_SETTINGS');
