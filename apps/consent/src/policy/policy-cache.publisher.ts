import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { raisePolicyVersion } from '@tessera/platform-consent-cache';
import type { RedisClient } from '@tessera/platform-redis';
import { LOGGER, REDIS_CLIENT } from '@tessera/platform-service';
import { CONSENT_SETTINGS } from '../consent.config';
import type { ConsentSettings } from '../consent.config';
import { PolicyVersionRepository } from './policy-version.repository';
import type { PolicyVersion } from './policy-version.repository';

const BACKOFF_MS = 50;

/**
 * Raises `consent:policy-version:{eid}` in Redis after a commit (design "Policy cache protocol").
 * The HTTP paths await it before answering, so no query answered after the 201 can use a policy
 * cached before the change. If Redis stays down, the exchange's hie.consent consumer (the
 * ConsentChanged event went out through the outbox) raises it as the backstop.
 */
@Injectable()
export class PolicyCachePublisher {
  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: RedisClient,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(CONSENT_SETTINGS) private readonly settings: ConsentSettings,
    private readonly dataSource: DataSource,
    private readonly versions: PolicyVersionRepository,
  ) {}

  /** Raises each version key to the committed version; never throws (the event is the backstop). */
  async raise(changes: readonly PolicyVersion[]): Promise<void> {
    await Promise.all(changes.map((c) => this.raiseOne(c)));
  }

  /**
   * For changes made inside a consumer's transaction (committed by the runner, after the handler
   * returns): shortly after, reads the committed versions and raises the keys to them. Never raises
   * to a version that is not committed.
   */
  raiseCommittedSoon(enterpriseIds: readonly string[], delayMs = 200): void {
    if (enterpriseIds.length === 0) return;
    const timer = setTimeout(() => {
      void Promise.all(
        enterpriseIds.map(async (enterpriseId) =>
          this.raiseOne({ enterpriseId, version: await this.versions.current(this.dataSource, enterpriseId) }),
        ),
      ).catch((error: unknown) => this.logger.warn({ err: error }, 'could not read committed policy versions'));
    }, delayMs);
    timer.unref();
  }

  private async raiseOne(change: PolicyVersion): Promise<void> {
    if (change.version <= 0) return;
    for (let attempt = 1; ; attempt++) {
      try {
        await raisePolicyVersion(this.redis, change.enterpriseId, change.version);
        return;
      } catch (error) {
        if (attempt >= this.settings.CONSENT_CACHE_RAISE_ATTEMPTS) {
          // No PHI: an enterprise id is an opaque identifier, the version a number.
          this.logger.warn(
            { err: error, enterpriseId: change.enterpriseId, version: change.version },
            'could not raise the policy version in Redis; the hie.consent consumer of the exchange will',
          );
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, BACKOFF_MS * attempt));
      }
    }
  }
}
