import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { Decision, FieldComparison } from '@tessera/matching';

export interface EnterpriseIdRow {
  readonly id: string;
  readonly version: number;
  readonly mergedInto: string | null;
}

export interface MemberRef {
  readonly sourceRecordId: string;
  readonly system: string;
  readonly localId: string;
  readonly retired: boolean;
}

export interface MergeDecisionRef {
  readonly sourceRecordId: string;
  readonly decisionId: string;
}

export interface MergeRow {
  readonly id: string;
  readonly survivingEnterpriseId: string;
  readonly mergedEnterpriseId: string;
  readonly status: 'MERGED' | 'UNMERGED';
  readonly version: number;
  readonly reason: string;
  readonly decidedBy: string;
  readonly at: Date;
  readonly decisions: readonly MergeDecisionRef[];
  readonly closedReviewTasks: readonly string[];
  readonly unmergeReason: string | null;
  readonly unmergedBy: string | null;
  readonly unmergedAt: Date | null;
}

/** A recorded link decision (a link_events row) as the replay of an unmerge reads it. */
export interface RecordedDecision {
  readonly id: string;
  readonly enterpriseId: string;
  readonly state: Decision;
  readonly origin: 'AUTO' | 'MANUAL';
  readonly score: number | null;
  readonly ruleSetVersion: string;
  readonly comparisons: readonly FieldComparison[];
}

const MERGE_COLUMNS = `id, surviving_enterprise_id AS "survivingEnterpriseId", merged_enterprise_id AS "mergedEnterpriseId",
  status, version, reason, decided_by AS "decidedBy", at, decisions, closed_review_tasks AS "closedReviewTasks",
  unmerge_reason AS "unmergeReason", unmerged_by AS "unmergedBy", unmerged_at AS "unmergedAt"`;

/** SQL of enterprise-id merges (migration MpiEnterpriseMerges1732700000000); every method takes the caller's transaction. */
@Injectable()
export class EnterpriseMergeRepository {
  /** The enterprise ids, locked in id order (two merges never wait on each other in a cycle). */
  async lockEnterpriseIds(tx: EntityManager, ids: readonly string[]): Promise<EnterpriseIdRow[]> {
    return tx.query<EnterpriseIdRow[]>(
      `SELECT id, version, merged_into AS "mergedInto" FROM enterprise_ids WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`,
      [ids],
    );
  }

  /** Every source record linked to the enterprise id, retired ones included (their redirect follows the merge). */
  async members(tx: EntityManager, enterpriseId: string): Promise<MemberRef[]> {
    return tx.query<MemberRef[]>(
      `SELECT sr.id AS "sourceRecordId", sr.system, sr.local_id AS "localId", sr.retired_into IS NOT NULL AS retired
         FROM links l JOIN source_records sr ON sr.id = l.source_record_id
        WHERE l.enterprise_id = $1 ORDER BY sr.id`,
      [enterpriseId],
    );
  }

  async recordRefs(tx: EntityManager, ids: readonly string[]): Promise<MemberRef[]> {
    return tx.query<MemberRef[]>(
      `SELECT id AS "sourceRecordId", system, local_id AS "localId", retired_into IS NOT NULL AS retired
         FROM source_records WHERE id = ANY($1::uuid[]) ORDER BY id`,
      [ids],
    );
  }

  /** Whether an operator declared some record of one enterprise id not the same person as some record of the other. */
  async notSamePersonAcross(tx: EntityManager, a: string, b: string): Promise<boolean> {
    const rows = await tx.query<unknown[]>(
      `SELECT 1 FROM not_same_person n
         JOIN links la ON la.source_record_id = n.record_a
         JOIN links lb ON lb.source_record_id = n.record_b
        WHERE (la.enterprise_id = $1 AND lb.enterprise_id = $2) OR (la.enterprise_id = $2 AND lb.enterprise_id = $1)
        LIMIT 1`,
      [a, b],
    );
    return rows.length > 0;
  }

  /** Decides the open review tasks about records of the two ids that only propose the two ids. */
  async closeReviewTasksBetween(tx: EntityManager, a: string, b: string, at: Date): Promise<string[]> {
    const rows = await tx.query<{ id: string }[]>(
      `UPDATE review_tasks t SET status = 'DECIDED', decided_at = $3, version = t.version + 1
         FROM links l
        WHERE l.source_record_id = t.source_record_id AND l.enterprise_id IN ($1, $2)
          AND t.status = 'OPEN' AND t.enterprise_ids <@ ARRAY[$1, $2]::uuid[]
        RETURNING t.id`,
      [a, b, at],
    );
    return rows.map((r) => r.id);
  }

  async reopenReviewTasks(tx: EntityManager, ids: readonly string[]): Promise<void> {
    await tx.query(
      `UPDATE review_tasks SET status = 'OPEN', decided_at = NULL, version = version + 1 WHERE id = ANY($1::uuid[]) AND status = 'DECIDED'`,
      [ids],
    );
  }

  async setMergedInto(tx: EntityManager, id: string, into: string | null): Promise<void> {
    await tx.query('UPDATE enterprise_ids SET merged_into = $2, version = version + 1 WHERE id = $1', [id, into]);
  }

  async insertMerge(tx: EntityManager, merge: MergeRow): Promise<void> {
    await tx.query(
      `INSERT INTO enterprise_merges (id, surviving_enterprise_id, merged_enterprise_id, status, version, reason, decided_by, at,
         decisions, closed_review_tasks)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10::uuid[])`,
      [
        merge.id,
        merge.survivingEnterpriseId,
        merge.mergedEnterpriseId,
        merge.status,
        merge.version,
        merge.reason,
        merge.decidedBy,
        merge.at,
        JSON.stringify(merge.decisions),
        merge.closedReviewTasks,
      ],
    );
  }

  async findMerge(tx: EntityManager, id: string, lock: boolean): Promise<MergeRow | null> {
    const rows = await tx.query<MergeRow[]>(
      `SELECT ${MERGE_COLUMNS} FROM enterprise_merges WHERE id = $1${lock ? ' FOR UPDATE' : ''}`,
      [id],
    );
    return rows[0] ?? null;
  }

  async markUnmerged(tx: EntityManager, id: string, reason: string, by: string, at: Date): Promise<void> {
    await tx.query(
      `UPDATE enterprise_merges SET status = 'UNMERGED', version = version + 1, unmerge_reason = $2, unmerged_by = $3, unmerged_at = $4
        WHERE id = $1`,
      [id, reason, by, at],
    );
  }

  /** Id of the record's latest link decision. */
  async latestDecisionId(tx: EntityManager, sourceRecordId: string): Promise<string | null> {
    const rows = await tx.query<{ id: string }[]>(
      `SELECT id FROM link_events WHERE source_record_id = $1 ORDER BY at DESC, id DESC LIMIT 1`,
      [sourceRecordId],
    );
    return rows[0]?.id ?? null;
  }

  /** The record's latest link decision that is not one of `excluded` (the replay without a merge). */
  async latestDecisionExcept(tx: EntityManager, sourceRecordId: string, excluded: readonly string[]): Promise<RecordedDecision | null> {
    const rows = await tx.query<RecordedDecision[]>(
      `SELECT id, after_enterprise_id AS "enterpriseId", after_state AS state, origin, score,
              rule_set_version AS "ruleSetVersion", comparisons
         FROM link_events WHERE source_record_id = $1 AND id <> ALL($2::uuid[])
        ORDER BY at DESC, id DESC LIMIT 1`,
      [sourceRecordId, excluded],
    );
    return rows[0] ?? null;
  }
}
