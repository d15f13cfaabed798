import { Inject, Injectable } from '@nestjs/common';
import { ConsumerGroups, PatientMerged, PatientUpserted } from '@tessera/contracts';
import type { ConsumerRunner, ConsumerRunnerOptions } from '@tessera/platform-kafka';
import { MessagingService } from '@tessera/platform-service';
import { MatchRecordHandler } from './match-record.handler';

/** The matcher's consumer group settings (tests give it a group of their own). */
export interface MatchConsumerOptions {
  readonly groupId: string;
  readonly fromBeginning?: boolean;
  /** Partitions of hie.patient handled in parallel by this instance. */
  readonly partitionsConsumedConcurrently?: number;
}

export const MATCH_CONSUMER_OPTIONS = Symbol('MATCH_CONSUMER_OPTIONS');
export const DEFAULT_MATCH_CONSUMER_OPTIONS: MatchConsumerOptions = {
  groupId: ConsumerGroups.mpi.id,
  partitionsConsumedConcurrently: 3,
};

/**
 * Consumer group `mpi` on hie.patient: a thin adapter from PatientUpserted / PatientMerged to
 * MatchRecordHandler, which writes through the runner's inbox transaction.
 */
@Injectable()
export class MatchRecordConsumer {
  readonly runner: ConsumerRunner;

  constructor(
    messaging: MessagingService,
    handler: MatchRecordHandler,
    @Inject(MATCH_CONSUMER_OPTIONS) options: MatchConsumerOptions,
  ) {
    const overrides: Partial<ConsumerRunnerOptions> = {
      ...(options.fromBeginning === undefined ? {} : { fromBeginning: options.fromBeginning }),
      ...(options.partitionsConsumedConcurrently === undefined
        ? {}
        : { partitionsConsumedConcurrently: options.partitionsConsumedConcurrently }),
    };
    this.runner = messaging
      .consumer(options.groupId, overrides)
      .on(PatientUpserted, async (event, tx) => {
        await handler.upsert(
          {
            institutionId: event.data.institutionId,
            system: event.data.patientSystem,
            localId: event.data.localPatientId,
            patient: event.data.patient,
            sourceMessageId: event.data.sourceMessageId,
            channel: event.data.channel,
          },
          tx,
        );
      })
      .on(PatientMerged, async (event, tx) => {
        await handler.merge(
          {
            institutionId: event.data.institutionId,
            system: event.data.patientSystem,
            localId: event.data.localPatientId,
            patient: event.data.patient,
            sourceMessageId: event.data.sourceMessageId,
            channel: event.data.channel,
          },
          {
            system: event.data.priorPatientSystem,
            localId: event.data.priorLocalPatientId,
            patient: event.data.priorPatient,
          },
          tx,
        );
      });
  }
}
