import { Inject, Injectable } from '@nestjs/common';
import { AuditRecorded } from '@tessera/contracts';
import type { ConsumerRunner } from '@tessera/platform-kafka';
import { MessagingService } from '@tessera/platform-service';
import { AuditAppendHandler } from './audit-append.handler';

/** The audit store's consumer group settings (tests give it a group of their own). */
export interface AuditStoreConsumerOptions {
  readonly groupId: string;
  readonly fromBeginning?: boolean;
}

export const AUDIT_STORE_CONSUMER_OPTIONS = Symbol('AUDIT_STORE_CONSUMER_OPTIONS');

/**
 * Consumer group `consent.audit` on hie.audit: appends each AuditRecorded event to the hash-chained
 * store in the runner's transaction (inbox row included, so a redelivery is skipped). Records are
 * applied in transaction groups of 200: the chain lock is taken once per group, and partitions
 * take turns on it.
 */
@Injectable()
export class AuditStoreConsumer {
  readonly runner: ConsumerRunner;

  constructor(
    messaging: MessagingService,
    append: AuditAppendHandler,
    @Inject(AUDIT_STORE_CONSUMER_OPTIONS) options: AuditStoreConsumerOptions,
  ) {
    this.runner = messaging
      .consumer(options.groupId, {
        transactionBatchSize: 200,
        partitionsConsumedConcurrently: 2,
        ...(options.fromBeginning === undefined ? {} : { fromBeginning: options.fromBeginning }),
      })
      .on(AuditRecorded, async (event, tx) => {
        await append.append(event.id, event.data, tx);
      });
  }
}
