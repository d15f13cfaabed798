import { Inject, Injectable } from '@nestjs/common';
import { ConsumerGroups, PatientIdentityCorrected, PatientMerged, PatientUpserted } from '@tessera/contracts';
import type { ConsumerRunner } from '@tessera/platform-kafka';
import { MessagingService } from '@tessera/platform-service';
import { CONSENT_CONSUMER_OPTIONS, consentGroupId, consumerOverrides } from '../links/consent-links.consumer';
import type { ConsentConsumerOptions } from '../links/consent-links.consumer';
import { PolicyCachePublisher } from '../policy/policy-cache.publisher';
import { IdentityCorrectionHandler } from './identity-correction.handler';
import { PatientProtectionHandler } from './patient-protection.handler';

/**
 * Consumer group `consent.patient` on hie.patient: PatientUpserted, and the surviving Patient of a
 * PatientMerged (the MPI re-links the prior record; its directives follow through hie.mpi.link), and
 * PatientIdentityCorrected (what is anchored on the prior record moves to the corrected one).
 */
@Injectable()
export class ConsentPatientConsumer {
  readonly runner: ConsumerRunner;

  constructor(
    messaging: MessagingService,
    handler: PatientProtectionHandler,
    corrections: IdentityCorrectionHandler,
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
      })
      .on(PatientIdentityCorrected, async (event, tx) => {
        cache.raiseCommittedSoon(
          await corrections.apply(
            {
              prior: { system: event.data.priorPatientSystem, value: event.data.priorLocalPatientId },
              corrected: { system: event.data.patientSystem, value: event.data.localPatientId },
              institutionId: event.data.institutionId,
              reason: event.data.reason,
            },
            tx,
          ),
        );
      });
  }
}
