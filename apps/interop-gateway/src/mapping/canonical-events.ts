import type { EntityManager } from 'typeorm';
import {
  DocumentPublished,
  EncounterUpserted,
  ObservationReported,
  PatientMerged,
  PatientUpserted,
} from '@tessera/contracts';
import type { DataOf, SenderAuthentication } from '@tessera/contracts';
import type { OutboxWriter } from '@tessera/platform-outbox';
import { v2DateTimeToFhir } from '@tessera/v2-fhir';
import type { MappingResult } from '@tessera/v2-fhir';

export type PatientUpsertedData = DataOf<typeof PatientUpserted>;
export type PatientMergedData = DataOf<typeof PatientMerged>;
export type EncounterUpsertedData = DataOf<typeof EncounterUpserted>;
export type ObservationReportedData = DataOf<typeof ObservationReported>;
export type DocumentPublishedData = DataOf<typeof DocumentPublished>;

/** One canonical event to publish (docs/architecture.md "The path of one message", step 3). */
export type CanonicalEvent =
  | { readonly kind: 'patient-upserted'; readonly data: PatientUpsertedData }
  | { readonly kind: 'patient-merged'; readonly data: PatientMergedData }
  | { readonly kind: 'encounter-upserted'; readonly data: EncounterUpsertedData }
  | { readonly kind: 'observation-reported'; readonly data: ObservationReportedData }
  | { readonly kind: 'document-published'; readonly data: DocumentPublishedData };

/** Where the resources came from: every canonical event carries it. */
export interface Provenance {
  readonly institutionId: string;
  readonly sourceMessageId: string;
  readonly channel: 'hl7v2' | 'fhir';
  /** How the sender of the source message was authenticated; absent when it was not recorded (= none). */
  readonly senderAuthentication?: SenderAuthentication;
  /** When the source message was created (see messageTimeOf); absent when unknown. */
  readonly messageTime?: string;
}

/**
 * The message's own time as an ISO instant: MSH-7 (its offset, else the institution's default UTC
 * offset), else `receivedAt` (the ledger's receipt). Both stay the same when the message is
 * replayed, so consumers can tell a replayed old message from a newer one.
 */
export function messageTimeOf(
  msh7: string,
  defaultUtcOffset: string | undefined,
  receivedAt?: string,
): string | undefined {
  const converted = v2DateTimeToFhir(msh7, defaultUtcOffset);
  if (converted?.hasTime === true) {
    const instant = Date.parse(converted.value);
    if (!Number.isNaN(instant)) return new Date(instant).toISOString();
  }
  return receivedAt;
}

export const GATEWAY_SOURCE = '/tessera/interop-gateway';

/** Kafka key of a patient's canonical events: one patient's events stay in order on each topic. */
export function patientKey(institutionId: string, localPatientId: string): string {
  return `${institutionId}|${localPatientId}`;
}

/**
 * The canonical events of one mapped HL7 v2 message: the patient first (PatientMerged for A40,
 * PatientUpserted otherwise, so MPI learns every patient whatever message type introduced it),
 * then the encounter, the results (ORU) and the document (MDM).
 */
export function canonicalEventsOf(result: MappingResult, provenance: Provenance): CanonicalEvent[] {
  const common = {
    institutionId: provenance.institutionId,
    patientSystem: result.patientSystem,
    localPatientId: result.localPatientId,
    sourceMessageId: provenance.sourceMessageId,
    mapperVersion: result.mapperVersion,
    channel: provenance.channel,
    ...(provenance.senderAuthentication === undefined
      ? {}
      : { senderAuthentication: provenance.senderAuthentication }),
    ...(provenance.messageTime === undefined ? {} : { messageTime: provenance.messageTime }),
  };
  const events: CanonicalEvent[] = [];
  if (result.merge === undefined) {
    events.push({ kind: 'patient-upserted', data: { ...common, patient: result.patient } });
  } else {
    events.push({
      kind: 'patient-merged',
      data: {
        ...common,
        patientSystem: result.merge.surviving.system,
        localPatientId: result.merge.surviving.value,
        priorPatientSystem: result.merge.prior.system,
        priorLocalPatientId: result.merge.prior.value,
        patient: result.patient,
        priorPatient: result.merge.priorPatient,
      },
    });
  }
  if (result.encounter !== undefined) {
    const trigger = result.triggerEvent.toUpperCase();
    events.push({
      kind: 'encounter-upserted',
      data: {
        ...common,
        encounter: result.encounter,
        ...(/^[A-Z0-9]{3}$/.test(trigger) ? { triggerEvent: trigger } : {}),
      },
    });
  }
  if (result.reports.length > 0 || result.observations.length > 0) {
    events.push({
      kind: 'observation-reported',
      data: { ...common, reports: [...result.reports], observations: [...result.observations] },
    });
  }
  if (result.document !== undefined && result.content !== undefined) {
    const { contentType, sha256, size, data } = result.content;
    events.push({
      kind: 'document-published',
      data: { ...common, document: result.document, content: { contentType, sha256, size, base64: data } },
    });
  }
  return events;
}

/** CloudEvents subject: the main resource of the event. */
function subjectOf(event: CanonicalEvent): string {
  switch (event.kind) {
    case 'patient-upserted':
    case 'patient-merged':
      return `Patient/${event.data.patient.id ?? ''}`;
    case 'encounter-upserted':
      return `Encounter/${event.data.encounter.id ?? ''}`;
    case 'observation-reported': {
      const report = event.data.reports[0];
      return report === undefined
        ? `Observation/${event.data.observations[0]?.id ?? ''}`
        : `DiagnosticReport/${report.id ?? ''}`;
    }
    case 'document-published':
      return `DocumentReference/${event.data.document.id ?? ''}`;
  }
}

/**
 * Writes the events to the outbox in the caller's transaction (new event ids every time: a replay
 * publishes again; resource ids are deterministic, so consumers upsert the same resources).
 * Returns the event ids.
 */
export async function enqueueCanonicalEvents(
  outbox: OutboxWriter,
  tx: EntityManager,
  events: readonly CanonicalEvent[],
): Promise<string[]> {
  const ids: string[] = [];
  for (const event of events) {
    const base = {
      key: patientKey(event.data.institutionId, event.data.localPatientId),
      subject: subjectOf(event),
      source: GATEWAY_SOURCE,
    };
    let id: string;
    switch (event.kind) {
      case 'patient-upserted':
        id = (await outbox.enqueue(tx, PatientUpserted, { ...base, data: event.data })).id;
        break;
      case 'patient-merged':
        id = (await outbox.enqueue(tx, PatientMerged, { ...base, data: event.data })).id;
        break;
      case 'encounter-upserted':
        id = (await outbox.enqueue(tx, EncounterUpserted, { ...base, data: event.data })).id;
        break;
      case 'observation-reported':
        id = (await outbox.enqueue(tx, ObservationReported, { ...base, data: event.data })).id;
        break;
      case 'document-published':
        id = (await outbox.enqueue(tx, DocumentPublished, { ...base, data: event.data })).id;
        break;
    }
    ids.push(id);
  }
  return ids;
}
