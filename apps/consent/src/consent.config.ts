import { z } from 'zod';
import { defineConfig } from '@tessera/platform-config';

/** Settings of the consent service (read once at boot; see .env.example). */
export const consentConfig = defineConfig(
  'consent',
  z.object({
    CONSENT_REGION_POLICY_FILE: z
      .string()
      .default('deploy/demo-region/consent-policy.yaml')
      .describe('YAML file of the region consent policy (defaultSharing, breakGlassMinutes, ...)'),
    CONSENT_GROUP_SUFFIX: z
      .string()
      .regex(/^[a-z0-9._-]{1,60}$/)
      .optional()
      .describe(
        'appended as `.<suffix>` to the consent.links, consent.patient, consent.watch and consent.audit group ids (tests, replays)',
      ),
    CONSENT_CACHE_RAISE_ATTEMPTS: z.coerce
      .number()
      .int()
      .min(1)
      .max(10)
      .default(3)
      .describe('attempts to raise consent:policy-version:{eid} in Redis after a commit (1-10)'),
    CONSENT_WATCH_THRESHOLD: z.coerce
      .number()
      .int()
      .min(1)
      .max(100_000)
      .default(10)
      .describe(
        'privacy alert when one institution registered and then queried MORE than this many persons already held by other institutions within the window',
      ),
    CONSENT_WATCH_WINDOW_MINUTES: z.coerce
      .number()
      .int()
      .min(1)
      .max(43_200)
      .default(1440)
      .describe(
        'length of that window in minutes (default 24 h); at most one alert per institution per window',
      ),
  }),
);

export type ConsentSettings = z.output<(typeof consentConfig)['schema']>;
export const CONSENT_SETTINGS = Symbol('CONSENT_SETTINGS');
