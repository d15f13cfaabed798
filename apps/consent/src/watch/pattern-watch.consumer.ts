import { Inject, Injectable } from '@nestjs/common';
import { AuditRecorded, ConsumerGroups, MpiLinkChanged } from '@tessera/contracts';
import type { ConsumerRunner } from '@tessera/platform-kafka';
import { MessagingService } from '@tessera/platform-service';
import { CONSENT_CONSUMER_OPTIONS, consentGroupId, consumerOverrides } from '../links/consent-links.consumer';
import type { ConsentConsumerOptions } from '../links/consent-links.consumer';
import { PatternWatchHandler } from './pattern-watch.handler';

/**
 * Consumer group `consent.watch` on hie.mpi.link (registrations) and hie.audit (queries). hie.audit
 * is the busiest topic: records are applied in transaction groups of 100; the only effect outside
 * the transaction (the alert's security-alert record) names an alert id derived from the event, so
 * a group handled again record by record names the same alert.
 */
@Injectable()
export class PatternWatchConsumer {
  readonly runner: ConsumerRunner;

  constructor(
    messaging: MessagingService,
    handler: PatternWatchHandler,
    @Inject(CONSENT_CONSUMER_OPTIONS) options: ConsentConsumerOptions,
  ) {
    this.runner = messaging
      .consumer(consentGroupId(ConsumerGroups.consentWatch.id, options), {
        transactionBatchSize: 100,
        partitionsConsumedConcurrently: 2,
        ...consumerOverrides(options),
      })
      .on(MpiLinkChanged, async (event, tx) => {
        await handler.onLink(event.data, tx);
      })
      .on(AuditRecorded, async (event, tx) => {
        await handler.onAudit(event.id, event.data, tx);
      });
  }
}
