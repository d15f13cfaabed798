import type { DiagnosticReport, DocumentReference, Encounter, Observation } from '@medplum/fhirtypes';
import type { LabelingRules } from '@tessera/consent-policy';
import type { DataSource } from 'typeorm';
import { documentRow, encounterRow, resultRow } from './index-row.mapper';
import { labelsOf } from './item-labeler';

interface Row {
  readonly id: string;
  readonly version: number;
  readonly institution_id: string;
  readonly resource: Encounter | DocumentReference | DiagnosticReport | Observation;
  readonly label_codes: string[];
  readonly security_labels: readonly object[];
}

export interface RelabelProgress {
  readonly table: string;
  readonly scanned: number;
  readonly changed: number;
}

/**
 * Re-applies labeling rules to every indexed row (after the rules changed): per table, in id order
 * and batches of `batchSize`, recomputes the labels from the stored resource (source labels + the
 * rules) and updates `security_labels` / `label_codes` where they differ. A row the consumer
 * changed meanwhile (other `version`) is left alone: the consumer labelled it with the rules it
 * loaded. No version bump and no history row: labels are derived data, not a new version.
 */
export async function relabel(
  dataSource: DataSource,
  rules: LabelingRules,
  onProgress: (progress: RelabelProgress) => void = () => undefined,
  batchSize = 500,
): Promise<readonly RelabelProgress[]> {
  const done: RelabelProgress[] = [];
  for (const table of ['encounters', 'documents', 'results'] as const) {
    let after = '';
    let scanned = 0;
    let changed = 0;
    for (;;) {
      const rows = await dataSource.query<Row[]>(
        `SELECT id, version, institution_id, resource, label_codes, security_labels FROM ${table}
         WHERE id > $1 ORDER BY id LIMIT $2`,
        [after, batchSize],
      );
      if (rows.length === 0) break;
      for (const row of rows) {
        const labels = labelsOf(row.resource, sourceLabelsOf(row), rules);
        if (canonical(labels.securityLabels) === canonical(row.security_labels)) continue;
        const updated = await dataSource.query<[unknown[], number]>(
          `UPDATE ${table} SET security_labels = $3, label_codes = $4 WHERE id = $1 AND version = $2`,
          [row.id, row.version, JSON.stringify(labels.securityLabels), labels.labelCodes],
        );
        changed += updated[1];
      }
      scanned += rows.length;
      after = rows[rows.length - 1]?.id ?? after;
      onProgress({ table, scanned, changed });
    }
    done.push({ table, scanned, changed });
  }
  return done;
}

/** The labels the source sent, as the indexer read them from the resource. */
function sourceLabelsOf(row: Row) {
  const resource = row.resource;
  switch (resource.resourceType) {
    case 'Encounter':
      return encounterRow(resource, row.institution_id).securityLabels;
    case 'DocumentReference':
      return documentRow(resource, row.institution_id).securityLabels;
    case 'DiagnosticReport':
    case 'Observation':
      return resultRow(resource, row.institution_id).securityLabels;
  }
}

/** Labels compared independently of jsonb's key order. */
function canonical(labels: readonly object[]): string {
  return JSON.stringify(labels.map((label) => Object.entries(label).sort(([a], [b]) => (a < b ? -1 : 1))));
}
