import { Inject, Injectable } from '@nestjs/common';
import { ConsumerGroups, InboundHl7v2Received } from '@tessera/contracts';
import type { ConsumerRunner } from '@tessera/platform-kafka';
import { MessagingService } from '@tessera/platform-service';
import { GATEWAY_SETTINGS } from '../gateway.config';
import type { GatewaySettings } from '../gateway.config';
import { MapMessageHandler } from './map-message.handler';

/** The mapper's consumer group settings (tests give it a group of their own). */
export interface MapperConsumerOptions {
  readonly groupId: string;
  /** A new group starts at the beginning of hie.inbound.hl7v2 (default) or at its end. */
  readonly fromBeginning?: boolean;
}

export const MAPPER_CONSUMER_OPTIONS = Symbol('MAPPER_CONSUMER_OPTIONS');
export const DEFAULT_MAPPER_CONSUMER_OPTIONS: MapperConsumerOptions = {
  groupId: ConsumerGroups.gatewayMapper.id,
};

/**
 * Consumer group `interop-gateway.mapper` on hie.inbound.hl7v2: a thin adapter from the event to
 * MapMessageHandler. The runner continues the MLLP trace, writes the inbox row in the handler's
 * transaction (the event id is the ledger id, so a republished message is mapped once) and starts
 * when the application has bootstrapped.
 */
@Injectable()
export class MapperConsumer {
  /** Undefined when this process does not have the mapper role (GATEWAY_ROLES). */
  readonly runner: ConsumerRunner | undefined;

  constructor(
    messaging: MessagingService,
    handler: MapMessageHandler,
    @Inject(MAPPER_CONSUMER_OPTIONS) options: MapperConsumerOptions,
    @Inject(GATEWAY_SETTINGS) settings: GatewaySettings,
  ) {
    if (!settings.GATEWAY_ROLES.includes('mapper')) return;
    this.runner = messaging
      .consumer(options.groupId, {
        // Partitions are independent patients' streams: map several at once (order holds per partition).
        partitionsConsumedConcurrently: 3,
        // One transaction per 50 records instead of per record (see ConsumerRunnerOptions).
        transactionBatchSize: 50,
        ...(options.fromBeginning === undefined ? {} : { fromBeginning: options.fromBeginning }),
      })
      .on(InboundHl7v2Received, async (event, tx) => {
        await handler.mapInbound(
          {
            ledgerId: event.data.ledgerId,
            institutionId: event.data.institutionId,
            text: event.data.message,
            receivedAt: event.data.receivedAt,
            ...(event.data.senderAuthentication === undefined
              ? {}
              : { senderAuthentication: event.data.senderAuthentication }),
          },
          tx,
        );
      });
  }
}
