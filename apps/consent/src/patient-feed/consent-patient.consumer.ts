import { Inject, Injectable } from '@nestjs/common';
import { ConsumerGroups, PatientMerged, PatientUpserted } from '@tessera/contracts';
import type { ConsumerRunner } from '@tessera/platform-kafka';
import { MessagingService } from '@tessera/platform-service';
import { CONSENT_CONSUMER_OPTIONS, consentGroupId, consumerOverrides } from '../links/consent-links.consumer';
import type { ConsentConsumerOptions } from '../links/consent-links.consumer';
import { PolicyCachePublisher } from '../policy/policy-cache.publisher';
import { PatientProtectionHandler } from './patient-protection.handler';

/**
 * Consumer group `consent.patient` on hie.patient: PatientUpserted, and the surviving Patient of a
 * PatientMerged (the MPI re-links the prior record; its directives follow through hie.mpi.link).
 */
@Injectable()
export class ConsentPatientConsumer {
  readonly runner: ConsumerRunner;

  constructor(
    messaging: MessagingService,
    handler: PatientProtectionHandler,
    cache: PolicyCachePublisher,
    @Inject(CONSENT_CONSUMER_OPTIONS) options: ConsentConsumerOptions,
  ) {
    this.runner = messaging
      .consumer(consentGroupId(ConsumerGroups.consentPatient.id, options), consumerOverrides(options))
      .on(PatientUpserted, async (event, tx) => {
        cache.raiseCommittedSoon(await handler.apply(event.data, tx));
      })
      .on(PatientMerged, async (event, tx) => {
        cache.raiseCommittedSoon(await handler.apply(event.data, tx));
      });
  }
}
