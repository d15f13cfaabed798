import { Inject, Injectable } from '@nestjs/common';
import type { DiagnosticReport, DocumentReference, Encounter, Observation } from '@medplum/fhirtypes';
import type { EntityManager } from 'typeorm';
import { decodeContent, DOCUMENT_CONTENT_STORE } from '../content/document-content.store';
import type { DocumentContentStore } from '../content/document-content.store';
import { documentRow, encounterRow, resultRow } from './index-row.mapper';
import type { IndexRow } from './index-row.mapper';
import { ItemLabeler } from './item-labeler';
import type { LabeledResource } from './item-labeler';
import { refreshReportLabels } from './report-labels';

/** Where a resource came from (the canonical events' shared provenance). */
export interface SourceProvenance {
  readonly institutionId: string;
  readonly patientSystem: string;
  readonly localPatientId: string;
  readonly sourceMessageId: string;
  readonly mapperVersion: string;
  readonly channel: 'hl7v2' | 'fhir';
}

type Table = 'encounters' | 'documents' | 'results';

/**
 * Indexes the gateway's canonical events. Every write is an idempotent upsert by the resource's
 * deterministic id: the same resource delivered again (duplicate, gateway replay, topic replay)
 * leaves the row and its history as they are; a changed resource bumps the version and appends a
 * history row. Rows are never deleted: lifecycle only moves them out of current results.
 */
@Injectable()
export class IndexResourceHandler {
  constructor(
    @Inject(DOCUMENT_CONTENT_STORE) private readonly contents: DocumentContentStore,
    private readonly labeler: ItemLabeler,
  ) {}

  async indexEncounter(
    source: SourceProvenance,
    encounter: Encounter,
    eventId: string,
    tx: EntityManager,
  ): Promise<void> {
    const row = encounterRow(encounter, source.institutionId);
    await this.upsert(tx, 'encounters', 'Encounter', row, encounter, source, eventId, {
      class_code: row.classCode,
    });
  }

  /**
   * Reports and observations of one message. A report also carries the labels of the observations
   * it lists in `result`: after the rows are written, the reports of this message and every report
   * of the institution listing one of these observations (indexed earlier, or an observation
   * corrected later) are relabelled from their observations' current labels.
   */
  async indexResults(
    source: SourceProvenance,
    resources: readonly (DiagnosticReport | Observation)[],
    eventId: string,
    tx: EntityManager,
  ): Promise<void> {
    const reportIds: string[] = [];
    const observationIds: string[] = [];
    for (const resource of resources) {
      const row = resultRow(resource, source.institutionId);
      await this.upsert(tx, 'results', row.resourceType, row, resource, source, eventId, {
        resource_type: row.resourceType,
        code_tokens: row.codeTokens,
        result_ids: row.resultIds,
      });
      (row.resourceType === 'DiagnosticReport' ? reportIds : observationIds).push(row.id);
    }
    await refreshReportLabels(tx, source.institutionId, reportIds, observationIds, this.labeler.rules);
  }

  /**
   * A DocumentReference and its bytes: content stored once per SHA-256; the message it came
   * through recorded in `seen_via`; `relatesTo.replaces` supersedes the target, now or when the
   * target arrives later (FHIR R4 DocumentReference.relatesTo, IHE MHD "replace").
   */
  async indexDocument(
    source: SourceProvenance,
    document: DocumentReference,
    declaredContent: {
      readonly contentType: string;
      readonly sha256: string;
      readonly size: number;
      readonly base64: string;
    },
    eventId: string,
    tx: EntityManager,
  ): Promise<void> {
    const content = decodeContent(declaredContent);
    await this.contents.put(content, tx);
    const row = documentRow(document, source.institutionId);
    await this.upsert(tx, 'documents', 'DocumentReference', row, document, source, eventId, {
      content_sha256: content.sha256,
      content_size: content.size,
      content_type: content.contentType,
    });
    await tx.query(
      `INSERT INTO seen_via (document_id, source_message_id, institution_id, channel, content_sha256)
       VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
      [row.id, source.sourceMessageId, source.institutionId, source.channel, content.sha256],
    );
    for (const target of row.replaces) {
      await tx.query(
        `INSERT INTO document_replacements (target_id, replaced_by) VALUES ($1, $2)
         ON CONFLICT (target_id) DO UPDATE SET replaced_by = EXCLUDED.replaced_by`,
        [target, row.id],
      );
      await this.supersede(tx, target, row.id);
    }
    // This document may itself have been replaced before it arrived (out-of-order delivery).
    const replacement = await tx.query<{ replaced_by: string }[]>(
      'SELECT replaced_by FROM document_replacements WHERE target_id = $1',
      [row.id],
    );
    if (replacement[0] !== undefined) await this.supersede(tx, row.id, replacement[0].replaced_by);
  }

  private async supersede(tx: EntityManager, id: string, by: string): Promise<void> {
    const updated = await tx.query<[unknown[], number]>(
      `UPDATE documents SET status = 'superseded', is_current = false, superseded_by = $2,
         version = version + 1, updated_at = now()
       WHERE id = $1 AND (status <> 'superseded' OR superseded_by IS DISTINCT FROM $2)
       RETURNING version, event_id, source_message_id, resource`,
      [id, by],
    );
    const rows = updated[0] as {
      version: number;
      event_id: string;
      source_message_id: string;
      resource: unknown;
    }[];
    for (const r of rows) {
      await tx.query(
        `INSERT INTO resource_history (resource_type, resource_id, version, status, event_id, source_message_id, resource)
         VALUES ('DocumentReference', $1, $2, 'superseded', $3, $4, $5) ON CONFLICT DO NOTHING`,
        [id, r.version, r.event_id, r.source_message_id, JSON.stringify(r.resource)],
      );
    }
  }

  private async upsert(
    tx: EntityManager,
    table: Table,
    resourceType: string,
    row: IndexRow,
    resource: LabeledResource,
    source: SourceProvenance,
    eventId: string,
    extra: Readonly<Record<string, string | number | boolean | null | readonly string[]>>,
  ): Promise<void> {
    // Labels the source sent plus those the region's rules derive from the item's codes.
    const labels = this.labeler.labels(resource, row.securityLabels);
    const columns: Record<string, unknown> = {
      id: row.id,
      institution_id: source.institutionId,
      patient_system: source.patientSystem,
      local_patient_id: source.localPatientId,
      status: row.status,
      is_current: row.isCurrent,
      type_tokens: row.typeTokens,
      category_tokens: row.categoryTokens,
      facility_tokens: row.facilityTokens,
      effective_at: row.effectiveAt,
      effective_end: row.effectiveEnd,
      security_labels: JSON.stringify(labels.securityLabels),
      label_codes: labels.labelCodes,
      encounter_id: row.encounterId,
      source_message_id: source.sourceMessageId,
      mapper_version: source.mapperVersion,
      channel: source.channel,
      event_id: eventId,
      resource: JSON.stringify(resource),
      ...extra,
    };
    const names = Object.keys(columns);
    const updates = names.filter((n) => n !== 'id').map((n) => `${n} = EXCLUDED.${n}`);
    // Same resource again (duplicate delivery, replay): no new version, no history row.
    const returned = await tx.query<{ version: number }[]>(
      `INSERT INTO ${table} (${names.join(', ')}) VALUES (${names.map((_, i) => `$${i + 1}`).join(', ')})
       ON CONFLICT (id) DO UPDATE SET ${updates.join(', ')}, version = ${table}.version + 1, updated_at = now()
       WHERE ${table}.institution_id = EXCLUDED.institution_id AND (
             ${table}.resource IS DISTINCT FROM EXCLUDED.resource
          OR ${table}.patient_system IS DISTINCT FROM EXCLUDED.patient_system
          OR ${table}.local_patient_id IS DISTINCT FROM EXCLUDED.local_patient_id)
       RETURNING version`,
      Object.values(columns),
    );
    const version = returned[0]?.version;
    if (version === undefined) {
      // Ids are hashes of (institution, business key); the same id from another institution is a
      // collision or a mapping defect, never a reason to move a row between institutions.
      const owner = await tx.query<{ institution_id: string }[]>(
        `SELECT institution_id FROM ${table} WHERE id = $1`,
        [row.id],
      );
      if (owner[0] !== undefined && owner[0].institution_id !== source.institutionId) {
        throw new Error(`${resourceType} id already indexed for another institution; not overwritten`);
      }
      return;
    }
    await tx.query(
      `INSERT INTO resource_history (resource_type, resource_id, version, status, event_id, source_message_id, resource)
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
      [resourceType, row.id, version, row.status, eventId, source.sourceMessageId, JSON.stringify(resource)],
    );
  }
}
