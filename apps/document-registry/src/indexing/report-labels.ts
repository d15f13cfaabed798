import type { Coding, DiagnosticReport } from '@medplum/fhirtypes';
import type { LabelingRules } from '@tessera/consent-policy';
import type { EntityManager } from 'typeorm';
import { resultRow } from './index-row.mapper';
import { labelsOf, reportLabels, sameLabels } from './item-labeler';
import type { ItemLabels } from './item-labeler';

/** Runs SQL: the consumer's transaction, or a DataSource / transaction of the relabel command. */
export type Sql = Pick<EntityManager, 'query'>;

/** A DiagnosticReport row as the report labeling reads it. */
export interface ReportRow {
  readonly id: string;
  readonly version: number;
  readonly institution_id: string;
  readonly resource: DiagnosticReport;
  readonly result_ids: string[];
  readonly security_labels: Coding[];
}

export const REPORT_COLUMNS = 'id, version, institution_id, resource, result_ids, security_labels';

/**
 * The labels `report` carries now: its own (the labels its source sent and the ones `rules` derive
 * from its codes) and the stored labels of the Observations it lists in `result`. Only observations
 * of the report's own institution count (ids are per institution); one not indexed yet adds nothing
 * until it arrives (the indexer then relabels the reports listing it).
 */
export async function labelsOfReport(db: Sql, report: ReportRow, rules: LabelingRules): Promise<ItemLabels> {
  const own = labelsOf(
    report.resource,
    resultRow(report.resource, report.institution_id).securityLabels,
    rules,
  );
  if (report.result_ids.length === 0) return own;
  const rows = await db.query<{ id: string; security_labels: Coding[] }[]>(
    `SELECT id, security_labels FROM results
     WHERE id = ANY ($1::text[]) AND resource_type = 'Observation' AND institution_id = $2`,
    [report.result_ids, report.institution_id],
  );
  const byId = new Map(rows.map((r) => [r.id, r.security_labels]));
  return reportLabels(
    own,
    report.result_ids.map((id) => byId.get(id) ?? []),
  );
}

/**
 * Re-derives the labels of `institutionId`'s reports that are in `reportIds` or list one of
 * `observationIds`, in `tx`: each row is locked (in id order) before its observations' labels are
 * read, so a concurrent relabel and the indexer do not overwrite each other with stale labels.
 * Labels are derived data: no version bump, no history row. Returns the number of reports changed.
 */
export async function refreshReportLabels(
  tx: Sql,
  institutionId: string,
  reportIds: readonly string[],
  observationIds: readonly string[],
  rules: LabelingRules,
): Promise<number> {
  if (reportIds.length === 0 && observationIds.length === 0) return 0;
  const reports = await tx.query<ReportRow[]>(
    `SELECT ${REPORT_COLUMNS} FROM results
     WHERE resource_type = 'DiagnosticReport' AND institution_id = $1
       AND (id = ANY ($2::text[]) OR result_ids && $3::text[])
     ORDER BY id FOR UPDATE`,
    [institutionId, reportIds, observationIds],
  );
  let changed = 0;
  for (const report of reports) {
    const labels = await labelsOfReport(tx, report, rules);
    if (sameLabels(labels.securityLabels, report.security_labels)) continue;
    await tx.query(`UPDATE results SET security_labels = $2, label_codes = $3 WHERE id = $1`, [
      report.id,
      JSON.stringify(labels.securityLabels),
      labels.labelCodes,
    ]);
    changed += 1;
  }
  return changed;
}
