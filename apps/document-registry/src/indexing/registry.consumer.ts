import { Inject, Injectable } from '@nestjs/common';
import {
  ConsumerGroups,
  DocumentPublished,
  EncounterUpserted,
  MpiLinkChanged,
  ObservationReported,
} from '@tessera/contracts';
import type { ConsumerRunner } from '@tessera/platform-kafka';
import { MessagingService } from '@tessera/platform-service';
import { LinkChangedHandler } from '../links/link-changed.handler';
import { IndexResourceHandler } from './index-resource.handler';
import type { SourceProvenance } from './index-resource.handler';

/** The registry's consumer group settings (tests and replays give it a group of their own). */
export interface RegistryConsumerOptions {
  readonly groupId: string;
  /** A new group starts at the beginning of its topics (default: projections replay). */
  readonly fromBeginning?: boolean;
}

export const REGISTRY_CONSUMER_OPTIONS = Symbol('REGISTRY_CONSUMER_OPTIONS');
export const DEFAULT_REGISTRY_CONSUMER_OPTIONS: RegistryConsumerOptions = {
  groupId: ConsumerGroups.registry.id,
};

function provenanceOf(data: SourceProvenance): SourceProvenance {
  return {
    institutionId: data.institutionId,
    patientSystem: data.patientSystem,
    localPatientId: data.localPatientId,
    sourceMessageId: data.sourceMessageId,
    mapperVersion: data.mapperVersion,
    channel: data.channel,
  };
}

/**
 * Consumer group `document-registry` on hie.encounter, hie.document, hie.observation and
 * hie.mpi.link: thin adapters to the handlers. Each handler writes through the runner's transaction,
 * which also records the event id in the inbox, so an event is applied exactly once per database.
 */
@Injectable()
export class RegistryConsumer {
  readonly runner: ConsumerRunner;

  constructor(
    messaging: MessagingService,
    index: IndexResourceHandler,
    links: LinkChangedHandler,
    @Inject(REGISTRY_CONSUMER_OPTIONS) options: RegistryConsumerOptions,
  ) {
    this.runner = registerRegistryHandlers(
      messaging.consumer(options.groupId, {
        // Handlers write only through `tx`, so records can share transactions (groups of 100),
        // and partitions (independent patients) are indexed side by side.
        transactionBatchSize: 100,
        partitionsConsumedConcurrently: 3,
        ...(options.fromBeginning === undefined ? {} : { fromBeginning: options.fromBeginning }),
      }),
      index,
      links,
    );
  }
}

/** The registry's four event handlers on `runner` (also used to rebuild an index from a replay). */
export function registerRegistryHandlers(
  runner: ConsumerRunner,
  index: IndexResourceHandler,
  links: LinkChangedHandler,
): ConsumerRunner {
  return runner
    .on(EncounterUpserted, async (event, tx) => {
      await index.indexEncounter(provenanceOf(event.data), event.data.encounter, event.id, tx);
    })
    .on(ObservationReported, async (event, tx) => {
      await index.indexResults(
        provenanceOf(event.data),
        [...event.data.reports, ...event.data.observations],
        event.id,
        tx,
      );
    })
    .on(DocumentPublished, async (event, tx) => {
      await index.indexDocument(
        provenanceOf(event.data),
        event.data.document,
        event.data.content,
        event.id,
        tx,
      );
    })
    .on(MpiLinkChanged, async (event, tx) => {
      await links.apply(event.data, event.id, tx);
    });
}
