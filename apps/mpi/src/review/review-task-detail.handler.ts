import { Injectable } from '@nestjs/common';
import type { Patient } from '@medplum/fhirtypes';
import { DataSource } from 'typeorm';
import { scorePair } from '@tessera/matching';
import type { Decision, FieldComparison, NormalizedRecord } from '@tessera/matching';
import { MatchRecordHandler } from '../matching/match-record.handler';
import { demographicsOf } from '../matching/patient-demographics';
import { sideBySide } from './review-comparison.projection';
import type { SideBySideRow } from './review-comparison.projection';

interface StoredCandidate {
  readonly sourceRecordId: string;
  readonly enterpriseId: string;
  readonly score: number;
  readonly decision: Decision;
  readonly comparisons: readonly FieldComparison[];
}

interface TaskRow {
  readonly id: string;
  readonly kind: string;
  readonly status: string;
  readonly version: number;
  readonly enterpriseIds: readonly string[];
  readonly bestScore: number | null;
  readonly createdAt: string;
  readonly decidedAt: string | null;
  readonly payload: { readonly ruleSetVersion?: string; readonly candidates?: readonly StoredCandidate[] };
  readonly sourceRecordId: string;
}

interface RecordRow {
  readonly id: string;
  readonly system: string;
  readonly localId: string;
  readonly version: number;
  readonly retired: boolean;
  readonly patient: Patient;
  readonly normalized: NormalizedRecord;
  readonly enterpriseId: string | null;
  readonly linkVersion: number | null;
}

export interface ReviewRecordView {
  readonly system: string;
  readonly value: string;
  readonly recordVersion: number;
  readonly enterpriseId: string | null;
  readonly linkVersion: number | null;
  readonly retired: boolean;
  readonly patient: Patient;
}

export interface ReviewTaskDetail {
  readonly id: string;
  readonly kind: string;
  readonly status: string;
  readonly version: number;
  readonly enterpriseIds: readonly string[];
  readonly bestScore: number | null;
  readonly createdAt: string;
  readonly decidedAt: string | null;
  readonly ruleSetVersion: string | null;
  readonly record: ReviewRecordView;
  /** Best first. `atTask`: the score when the task opened; `now`: the pair re-scored on the current versions. */
  readonly candidates: readonly {
    readonly candidate: ReviewRecordView;
    readonly atTask: { readonly score: number; readonly decision: Decision; readonly enterpriseId: string };
    readonly now: { readonly score: number; readonly decision: Decision; readonly ruleSetVersion: string };
    readonly fields: readonly SideBySideRow[];
  }[];
}

const ISO = (column: string): string => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

function recordView(row: RecordRow): ReviewRecordView {
  return {
    system: row.system,
    value: row.localId,
    recordVersion: row.version,
    enterpriseId: row.enterpriseId,
    linkVersion: row.linkVersion,
    retired: row.retired,
    patient: row.patient,
  };
}

/**
 * A review task as an operator decides it: the task's record and each
 * candidate side by side, field by field, with the comparison level and weight the matcher gives the
 * pair on their current versions (and the score the task was opened with).
 */
@Injectable()
export class ReviewTaskDetailHandler {
  constructor(
    private readonly dataSource: DataSource,
    private readonly matcher: MatchRecordHandler,
  ) {}

  async detail(id: string): Promise<ReviewTaskDetail | null> {
    const tasks = await this.dataSource.query<TaskRow[]>(
      `SELECT id, kind, status, version, enterprise_ids AS "enterpriseIds", best_score AS "bestScore", payload,
              source_record_id AS "sourceRecordId", ${ISO('created_at')} AS "createdAt", ${ISO('decided_at')} AS "decidedAt"
         FROM review_tasks WHERE id = $1`,
      [id],
    );
    const task = tasks[0];
    if (task === undefined) return null;
    const stored = [...(task.payload.candidates ?? [])].sort((a, b) => b.score - a.score);
    const records = await this.dataSource.query<RecordRow[]>(
      `SELECT sr.id, sr.system, sr.local_id AS "localId", sr.current_version AS version, sr.retired_into IS NOT NULL AS retired,
              sr.patient, v.normalized, l.enterprise_id AS "enterpriseId", l.version AS "linkVersion"
         FROM source_records sr
         JOIN source_record_versions v ON v.source_record_id = sr.id AND v.version = sr.current_version
         LEFT JOIN links l ON l.source_record_id = sr.id
        WHERE sr.id = ANY($1::uuid[])`,
      [[task.sourceRecordId, ...stored.map((c) => c.sourceRecordId)]],
    );
    const byId = new Map(records.map((r) => [r.id, r]));
    const subject = byId.get(task.sourceRecordId);
    if (subject === undefined) return null;
    const ruleSet = this.matcher.ruleSet;
    const subjectInput = demographicsOf(subject.patient);
    return {
      id: task.id,
      kind: task.kind,
      status: task.status,
      version: task.version,
      enterpriseIds: task.enterpriseIds,
      bestScore: task.bestScore,
      createdAt: task.createdAt,
      decidedAt: task.decidedAt,
      ruleSetVersion: task.payload.ruleSetVersion ?? null,
      record: recordView(subject),
      candidates: stored.flatMap((c) => {
        const row = byId.get(c.sourceRecordId);
        if (row === undefined) return [];
        const now = scorePair(subject.normalized, row.normalized, ruleSet);
        return [
          {
            candidate: recordView(row),
            atTask: { score: c.score, decision: c.decision, enterpriseId: c.enterpriseId },
            now: { score: now.score, decision: now.decision, ruleSetVersion: now.ruleSetVersion },
            fields: sideBySide(subjectInput, demographicsOf(row.patient), now.comparisons),
          },
        ];
      }),
    };
  }
}
