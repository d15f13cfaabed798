import type { EntityManager } from 'typeorm';
import {
  DocumentPublished,
  EncounterUpserted,
  ObservationReported,
  PatientIdentityCorrected,
  PatientMerged,
  PatientUpserted,
  ResourcesWithdrawn,
} from '@tessera/contracts';
import type { DataOf, SenderAuthentication } from '@tessera/contracts';
import type { OutboxWriter } from '@tessera/platform-outbox';
import { v2DateTimeToFhir } from '@tessera/v2-fhir';
import type { MappingResult } from '@tessera/v2-fhir';
import type { IdentityCorrection, MappedIdentity } from './mapped-identity.policy';

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

/**
 * A replay's identity correction (docs/identity-corrections.md), written to the outbox BEFORE the
 * replay's own events, in the same transaction and keyed like them: the MPI retires the prior record
 * and matches the corrected one without it, as if the prior record had never been, and the
 * corrected record's own PatientUpserted that follows is then an update.
 */
export async function enqueueIdentityCorrection(
  outbox: OutboxWriter,
  tx: EntityManager,
  events: readonly CanonicalEvent[],
  correction: IdentityCorrection,
  replay: { readonly ledgerId: string; readonly at: Date },
): Promise<string[]> {
  const patientEvent = events.find((e) => e.kind === 'patient-upserted' || e.kind === 'patient-merged');
  const prior = correction.prior;
  if (prior === null || patientEvent === undefined) return [];
  const { data } = patientEvent;
  const { patient } = data;
  const event = await outbox.enqueue(tx, PatientIdentityCorrected, {
    key: patientKey(data.institutionId, data.localPatientId),
    subject: `Patient/${patient.id ?? ''}`,
    source: GATEWAY_SOURCE,
    data: {
      institutionId: data.institutionId,
      patientSystem: data.patientSystem,
      localPatientId: data.localPatientId,
      sourceMessageId: data.sourceMessageId,
      mapperVersion: data.mapperVersion,
      channel: data.channel,
      ...(data.senderAuthentication === undefined ? {} : { senderAuthentication: data.senderAuthentication }),
      ...(data.messageTime === undefined ? {} : { messageTime: data.messageTime }),
      patient,
      priorInstitutionId: prior.institutionId,
      priorPatientSystem: prior.system,
      priorLocalPatientId: prior.localId,
      reason: `identity corrected by replay of ledger message ${replay.ledgerId} (mapper ${data.mapperVersion})`,
      correctedAt: replay.at.toISOString(),
    },
  });
  return [event.id];
}

/**
 * The items a replay no longer produces, withdrawn from the registry (after the replay's events,
 * keyed like the events that indexed them).
 */
export async function enqueueWithdrawal(
  outbox: OutboxWriter,
  tx: EntityManager,
  previousOwner: { readonly institutionId: string; readonly localId: string },
  identity: MappedIdentity,
  correction: IdentityCorrection,
  replay: { readonly ledgerId: string; readonly at: Date },
): Promise<string[]> {
  const [first, ...rest] = correction.withdrawn;
  if (first === undefined) return [];
  const event = await outbox.enqueue(tx, ResourcesWithdrawn, {
    key: patientKey(previousOwner.institutionId, previousOwner.localId),
    subject: `${first.resourceType}/${first.id}`,
    source: GATEWAY_SOURCE,
    data: {
      institutionId: previousOwner.institutionId,
      resources: [first, ...rest],
      sourceMessageId: replay.ledgerId,
      mapperVersion: identity.mapperVersion,
      reason: `no longer produced by replay of ledger message ${replay.ledgerId} (mapper ${identity.mapperVersion})`,
      withdrawnAt: replay.at.toISOString(),
    },
  });
  return [event.id];
}
