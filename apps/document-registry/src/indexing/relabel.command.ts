import type { DiagnosticReport, DocumentReference, Encounter, Observation } from '@medplum/fhirtypes';
import type { LabelingRules } from '@tessera/consent-policy';
import type { DataSource } from 'typeorm';
import { documentRow, encounterRow, resultRow } from './index-row.mapper';
import { labelsOf, sameLabels } from './item-labeler';
import { labelsOfReport, REPORT_COLUMNS } from './report-labels';
import type { ReportRow } from './report-labels';

interface Row {
  readonly id: string;
  readonly version: number;
  readonly institution_id: string;
  readonly resource: Encounter | DocumentReference | DiagnosticReport | Observation;
  readonly label_codes: string[];
  readonly security_labels: readonly object[];
  readonly result_ids: string[];
}

export interface RelabelProgress {
  readonly table: string;
  readonly scanned: number;
  readonly changed: number;
}

/**
 * Re-applies labeling rules to every indexed row (after the rules changed): per table, in id order
 * and batches of `batchSize`, recomputes the labels from the stored resource (source labels + the
 * rules) and updates `security_labels` / `label_codes` where they differ. In `results`, observations
 * come first and reports after them: a report's labels include those of the observations it lists
 * (report-labels.ts), read once the observations carry the new rules' labels. A row the consumer
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
    const progress = { table, scanned: 0, changed: 0 };
    const kinds = table === 'results' ? (['Observation', 'DiagnosticReport'] as const) : ([null] as const);
    for (const kind of kinds) {
      let after = '';
      for (;;) {
        const rows = await dataSource.query<Row[]>(
          `SELECT id, version, institution_id, resource, label_codes, security_labels, ${
            table === 'results' ? 'result_ids' : "'{}'::text[] AS result_ids"
          } FROM ${table}
           WHERE id > $1 ${kind === null ? '' : 'AND resource_type = $3'} ORDER BY id LIMIT $2`,
          kind === null ? [after, batchSize] : [after, batchSize, kind],
        );
        if (rows.length === 0) break;
        for (const row of rows) {
          progress.changed +=
            row.resource.resourceType === 'DiagnosticReport'
              ? await relabelReport(dataSource, row as Row & ReportRow, rules)
              : await relabelRow(dataSource, table, row, rules);
        }
        progress.scanned += rows.length;
        after = rows[rows.length - 1]?.id ?? after;
        onProgress({ ...progress });
      }
    }
    done.push(progress);
  }
  return done;
}

async function relabelRow(
  dataSource: DataSource,
  table: string,
  row: Row,
  rules: LabelingRules,
): Promise<number> {
  const labels = labelsOf(row.resource, sourceLabelsOf(row), rules);
  if (sameLabels(labels.securityLabels, row.security_labels)) return 0;
  const updated = await dataSource.query<[unknown[], number]>(
    `UPDATE ${table} SET security_labels = $3, label_codes = $4 WHERE id = $1 AND version = $2`,
    [row.id, row.version, JSON.stringify(labels.securityLabels), labels.labelCodes],
  );
  return updated[1];
}

/**
 * A report whose labels differ is relabelled in a transaction that locks its row first and reads
 * its observations' labels then (the indexer relabels reports the same way).
 */
async function relabelReport(dataSource: DataSource, row: ReportRow, rules: LabelingRules): Promise<number> {
  const labels = await labelsOfReport(dataSource, row, rules);
  if (sameLabels(labels.securityLabels, row.security_labels)) return 0;
  return dataSource.transaction(async (tx) => {
    const locked = await tx.query<ReportRow[]>(
      `SELECT ${REPORT_COLUMNS} FROM results WHERE id = $1 AND version = $2 FOR UPDATE`,
      [row.id, row.version],
    );
    const current = locked[0];
    if (current === undefined) return 0;
    const now = await labelsOfReport(tx, current, rules);
    if (sameLabels(now.securityLabels, current.security_labels)) return 0;
    await tx.query(`UPDATE results SET security_labels = $2, label_codes = $3 WHERE id = $1`, [
      row.id,
      JSON.stringify(now.securityLabels),
      now.labelCodes,
    ]);
    return 1;
  });
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
