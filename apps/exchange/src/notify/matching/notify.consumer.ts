import { readFileSync } from 'node:fs';
import { Inject, Injectable } from '@nestjs/common';
import {
  DocumentPublished,
  EncounterUpserted,
  MpiLinkChanged,
  ObservationReported,
} from '@tessera/contracts';
import { parseLabelingRules } from '@tessera/consent-policy';
import type { LabelingRules } from '@tessera/consent-policy';
import type { ConsumerRunner } from '@tessera/platform-kafka';
import { MessagingService } from '@tessera/platform-service';
import { matches, NOTIFY_SETTINGS } from '../notify.config';
import type { NotifySettings } from '../notify.config';
import { documentEvent, encounterEvent, resultEvent } from './clinical-event.mapper';
import { NotificationMatcher } from './notification-matcher.handler';

/** The region's labeling rules; a bad file stops the boot naming the variable. */
export function loadLabelingRules(file: string): LabelingRules {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(
      `NOTIFY_LABELING_RULES_FILE ${file} cannot be read: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
    );
  }
  try {
    return parseLabelingRules(text);
  } catch (error) {
    throw new Error(`NOTIFY_LABELING_RULES_FILE ${file}: ${(error as Error).message}`);
  }
}

/**
 * Consumer group `exchange.notify` on the clinical topics and hie.mpi.link (thin adapter over
 * NotificationMatcher). Runs only in processes whose NOTIFY_ROLES include `match`.
 */
@Injectable()
export class NotifyConsumer {
  readonly runner: ConsumerRunner | undefined;

  constructor(
    messaging: MessagingService,
    matcher: NotificationMatcher,
    @Inject(NOTIFY_SETTINGS) settings: NotifySettings,
  ) {
    if (!matches(settings)) return;
    const rules = loadLabelingRules(settings.NOTIFY_LABELING_RULES_FILE);
    this.runner = messaging
      // Partitions in parallel (a person's events share a partition, so their order holds), and up
      // to 50 records per transaction (a failed group is applied again one record at a time).
      .consumer(settings.NOTIFY_GROUP, { partitionsConsumedConcurrently: 4, transactionBatchSize: 50 })
      .on(EncounterUpserted, (event, tx) =>
        matcher.onClinicalEvent(encounterEvent(event.id, event.time, event.data, rules), tx),
      )
      .on(DocumentPublished, (event, tx) =>
        matcher.onClinicalEvent(documentEvent(event.id, event.time, event.data, rules), tx),
      )
      .on(ObservationReported, (event, tx) =>
        matcher.onClinicalEvent(resultEvent(event.id, event.time, event.data, rules), tx),
      )
      .on(MpiLinkChanged, (event, tx) =>
        matcher.onLinkDecision(
          {
            system: event.data.patientSystem,
            value: event.data.localPatientId,
            enterpriseId: event.data.enterpriseId,
            state: event.data.state,
            decidedAt: event.data.decidedAt,
            eventId: event.id,
          },
          tx,
        ),
      );
  }
}
