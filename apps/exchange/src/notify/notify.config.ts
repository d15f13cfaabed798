import { z } from 'zod';
import { ConsumerGroups } from '@tessera/contracts';
import { bool, defineConfig, positiveInt } from '@tessera/platform-config';

/**
 * Settings of the exchange's outbound half: encounter notifications and subscriptions
 * (docs/design/notifications.md). Read once at boot.
 */
export const notifyConfig = defineConfig(
  'notify',
  z.object({
    NOTIFY_ROLES: z
      .enum(['match,deliver', 'match', 'deliver', 'none'])
      .default('match,deliver')
      .describe(
        'what this exchange process does for notifications besides serving the API: match events to subscriptions, deliver them, both, or none (scale each separately)',
      ),
    NOTIFY_GROUP: z
      .string()
      .default(ConsumerGroups.exchangeNotify.id)
      .describe('consumer group of the clinical and link topics (tests use their own)'),
    NOTIFY_LABELING_RULES_FILE: z
      .string()
      .default('deploy/demo-region/labeling-rules.yaml')
      .describe("the region's labeling rules (the same file the registry labels items with)"),
    NOTIFY_REGION_CODE: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,20}$/)
      .default('TESSERA')
      .describe('MSH-4 sending facility of HL7 v2 notifications (the region)'),
    NOTIFY_ALLOW_INSECURE_LOOPBACK: bool(
      true,
      'accept http:// and plain MLLP endpoints on loopback addresses (development and tests); every other endpoint must be https:// or mllps://',
    ),
    NOTIFY_COALESCE_WINDOW_MS: positiveInt(
      5_000,
      'an encounter update waits this long for more updates of the same visit, which fold into it',
    ),
    NOTIFY_RETRY_BASE_MS: positiveInt(1_000, 'first retry delay of a failed delivery (doubles, with jitter)'),
    NOTIFY_RETRY_MAX_MS: positiveInt(600_000, 'longest retry delay'),
    NOTIFY_RETRY_ATTEMPTS: positiveInt(
      10,
      'attempts of one notification while its endpoint otherwise answers, before it is parked for an operator',
    ),
    NOTIFY_BREAKER_FAILURES: positiveInt(
      5,
      'consecutive failures of an endpoint that open its circuit breaker (then only probes are sent)',
    ),
    NOTIFY_BREAKER_COOLDOWN_MS: positiveInt(
      5_000,
      'first wait before probing an endpoint whose breaker opened',
    ),
    NOTIFY_BREAKER_MAX_COOLDOWN_MS: positiveInt(300_000, 'longest wait between probes of a dead endpoint'),
    NOTIFY_CONCURRENCY_PER_DESTINATION: positiveInt(
      16,
      'notifications in flight to one endpoint at once (different patients; one patient is always one at a time)',
    ),
    NOTIFY_DELIVERY_TIMEOUT_MS: positiveInt(10_000, 'timeout of one webhook POST or MLLP exchange'),
    NOTIFY_LEASE_MS: positiveInt(
      15_000,
      'how long a delivery worker holds a destination without renewing it (a crashed worker is replaced after this)',
    ),
    NOTIFY_POLL_MS: positiveInt(
      1_000,
      'how often a delivery worker looks for due work when not woken by NOTIFY',
    ),
    NOTIFY_DESTINATIONS_PER_WORKER: positiveInt(64, 'destinations one worker process serves at once'),
    NOTIFY_SECRET_OVERLAP_HOURS: positiveInt(
      24,
      'after a webhook secret is rotated, how long the old secret still signs too',
    ),
    NOTIFY_VISIT_SWEEP_MS: positiveInt(
      60_000,
      'how often visits left open beyond their class limit are closed by rule',
    ),
    NOTIFY_EMERGENCY_MAX_OPEN_SECONDS: positiveInt(
      48 * 3600,
      'an emergency visit without a departure is closed in notifications after this long',
    ),
    NOTIFY_INPATIENT_MAX_OPEN_SECONDS: positiveInt(
      90 * 24 * 3600,
      'an inpatient stay without a discharge is closed in notifications after this long',
    ),
  }),
);

export type NotifySettings = z.output<(typeof notifyConfig)['schema']>;
export const NOTIFY_SETTINGS = Symbol('NOTIFY_SETTINGS');

export function matches(settings: NotifySettings): boolean {
  return settings.NOTIFY_ROLES.includes('match');
}

export function delivers(settings: NotifySettings): boolean {
  return settings.NOTIFY_ROLES.includes('deliver');
}
