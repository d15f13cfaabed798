import { Inject, Injectable } from '@nestjs/common';
import { ConsentChanged } from '@tessera/contracts';
import { raisePolicyVersion } from '@tessera/platform-consent-cache';
import type { RedisClient } from '@tessera/platform-redis';
import { MessagingService, REDIS_CLIENT } from '@tessera/platform-service';
import type { ConsumerRunner } from '@tessera/platform-kafka';
import { EXCHANGE_SETTINGS } from '../exchange.config';
import type { ExchangeSettings } from '../exchange.config';

/**
 * Consumer group `exchange.consent-cache` on hie.consent: raises the person's policy version key
 * (Lua max), so a cached policy older than the change is never used again. A backstop: the consent
 * service raises the key itself before it answers; this covers a crash between its commit and that.
 * Idempotent (max), so redeliveries are harmless.
 */
@Injectable()
export class ConsentCacheConsumer {
  readonly runner: ConsumerRunner;

  constructor(
    messaging: MessagingService,
    @Inject(REDIS_CLIENT) redis: RedisClient,
    @Inject(EXCHANGE_SETTINGS) settings: ExchangeSettings,
  ) {
    this.runner = messaging
      .consumer(settings.EXCHANGE_CONSENT_CACHE_GROUP)
      .on(ConsentChanged, async (event) => {
        await raisePolicyVersion(redis, event.data.enterpriseId, event.data.policyVersion);
      });
  }
}
