import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { RematchOutcome } from '../matching/match-record.handler';

export type RematchScope = 'all' | { readonly institution: string };
export type RematchStatus = 'RUNNING' | 'DONE' | 'APPLYING' | 'APPLIED' | 'FAILED';

export interface RematchJobRow {
  readonly id: string;
  readonly status: RematchStatus;
  readonly version: number;
  readonly dryRun: boolean;
  readonly ruleSetVersion: string;
  readonly scope: RematchScope;
  readonly requestedBy: string;
  readonly reason: string;
  readonly total: number;
  readonly processed: number;
  readonly wouldChange: number;
  readonly applyTotal: number;
  readonly applyProcessed: number;
  readonly applied: number;
  readonly appliedBy: string | null;
  readonly error: string | null;
  readonly startedAt: Date;
  readonly phaseStartedAt: Date;
  readonly finishedAt: Date | null;
}

export interface RematchChangeRow {
  readonly seq: number;
  readonly sourceRecordId: string;
  readonly system: string;
  readonly value: string;
  readonly beforeEnterpriseId: string;
  readonly beforeState: string;
  readonly action: 'keep' | 'link' | 'new';
  readonly afterEnterpriseId: string | null;
  readonly afterState: string;
  readonly score: number | null;
  readonly reason: string;
  readonly outcome: 'APPLIED' | 'UNCHANGED' | null;
}

const JOB_COLUMNS = `id, status, version, dry_run AS "dryRun", rule_set_version AS "ruleSetVersion", scope,
  requested_by AS "requestedBy", reason, total, processed, would_change AS "wouldChange", apply_total AS "applyTotal",
  apply_processed AS "applyProcessed", applied, applied_by AS "appliedBy", error, started_at AS "startedAt",
  phase_started_at AS "phaseStartedAt", finished_at AS "finishedAt"`;

function scopeFilter(scope: RematchScope): { readonly sql: string; readonly params: unknown[] } {
  return scope === 'all' ? { sql: '', params: [] } : { sql: ' AND institution_id = $2', params: [scope.institution] };
}

/** SQL of re-match jobs (migration MpiRematchJobs1732800000000). */
@Injectable()
export class RematchJobRepository {
  async insert(tx: EntityManager, job: Pick<RematchJobRow, 'id' | 'dryRun' | 'ruleSetVersion' | 'scope' | 'requestedBy' | 'reason'>, at: Date): Promise<void> {
    await tx.query(
      `INSERT INTO rematch_jobs (id, status, version, dry_run, rule_set_version, scope, requested_by, reason, started_at, phase_started_at, updated_at)
       VALUES ($1, 'RUNNING', 1, $2, $3, $4::jsonb, $5, $6, $7, $7, $7)`,
      [job.id, job.dryRun, job.ruleSetVersion, JSON.stringify(job.scope), job.requestedBy, job.reason, at],
    );
  }

  async find(tx: EntityManager, id: string, lock = false): Promise<RematchJobRow | null> {
    const rows = await tx.query<RematchJobRow[]>(`SELECT ${JOB_COLUMNS} FROM rematch_jobs WHERE id = $1${lock ? ' FOR UPDATE' : ''}`, [id]);
    return rows[0] ?? null;
  }

  /** Active (non-retired) records in scope. */
  async countInScope(tx: EntityManager, scope: RematchScope): Promise<number> {
    const f = scopeFilter(scope);
    const rows = await tx.query<{ n: number }[]>(
      `SELECT count(*)::int AS n FROM source_records WHERE retired_into IS NULL AND id > $1${f.sql}`,
      ['00000000-0000-0000-0000-000000000000', ...f.params],
    );
    return rows[0]?.n ?? 0;
  }

  /** The next page of active record ids in scope after `after` (keyset, id order). */
  async pageInScope(tx: EntityManager, scope: RematchScope, after: string, limit: number): Promise<string[]> {
    const f = scopeFilter(scope);
    const rows = await tx.query<{ id: string }[]>(
      `SELECT id FROM source_records WHERE retired_into IS NULL AND id > $1${f.sql} ORDER BY id LIMIT ${limit}`,
      [after, ...f.params],
    );
    return rows.map((r) => r.id);
  }

  async addChanges(tx: EntityManager, jobId: string, firstSeq: number, changes: readonly RematchOutcome[]): Promise<void> {
    if (changes.length === 0) return;
    await tx.query(
      `INSERT INTO rematch_changes (job_id, seq, source_record_id, before_enterprise_id, before_state, action, after_enterprise_id,
         after_state, score, reason)
       SELECT $1, c.seq, c.id, c.before_eid, c.before_state, c.action, c.after_eid, c.after_state, c.score, c.reason
         FROM jsonb_to_recordset($2::jsonb) AS c(seq int, id uuid, before_eid uuid, before_state text, action text,
              after_eid uuid, after_state text, score double precision, reason text)`,
      [
        jobId,
        JSON.stringify(
          changes.map((c, n) => ({
            seq: firstSeq + n,
            id: c.sourceRecordId,
            before_eid: c.before.enterpriseId,
            before_state: c.before.state,
            action: c.after.action,
            after_eid: c.after.enterpriseId,
            after_state: c.after.state,
            score: c.after.score,
            reason: c.after.reason,
          })),
        ),
      ],
    );
  }

  async progress(tx: EntityManager, id: string, fields: { readonly processed?: number; readonly wouldChange?: number; readonly applyProcessed?: number; readonly applied?: number }): Promise<void> {
    await tx.query(
      `UPDATE rematch_jobs SET processed = COALESCE($2, processed), would_change = COALESCE($3, would_change),
         apply_processed = COALESCE($4, apply_processed), applied = COALESCE($5, applied), updated_at = now() WHERE id = $1`,
      [id, fields.processed ?? null, fields.wouldChange ?? null, fields.applyProcessed ?? null, fields.applied ?? null],
    );
  }

  async setTotal(tx: EntityManager, id: string, total: number): Promise<void> {
    await tx.query('UPDATE rematch_jobs SET total = $2, updated_at = now() WHERE id = $1', [id, total]);
  }

  async finishDryRun(tx: EntityManager, id: string): Promise<void> {
    await tx.query(`UPDATE rematch_jobs SET status = 'DONE', version = version + 1, updated_at = now(), finished_at = now() WHERE id = $1`, [id]);
  }

  async startApply(tx: EntityManager, id: string, by: string, total: number): Promise<void> {
    await tx.query(
      `UPDATE rematch_jobs SET status = 'APPLYING', version = version + 1, applied_by = $2, apply_total = $3, apply_processed = 0,
         applied = 0, phase_started_at = now(), updated_at = now(), finished_at = NULL WHERE id = $1`,
      [id, by, total],
    );
  }

  async finishApply(tx: EntityManager, id: string): Promise<void> {
    await tx.query(`UPDATE rematch_jobs SET status = 'APPLIED', version = version + 1, updated_at = now(), finished_at = now() WHERE id = $1`, [id]);
  }

  async fail(tx: EntityManager, id: string, error: string): Promise<void> {
    await tx.query(
      `UPDATE rematch_jobs SET status = 'FAILED', version = version + 1, error = $2, updated_at = now(), finished_at = now() WHERE id = $1`,
      [id, error],
    );
  }

  async changes(tx: EntityManager, jobId: string, count: number, offset: number, afterSeq = -1): Promise<RematchChangeRow[]> {
    return tx.query<RematchChangeRow[]>(
      `SELECT c.seq, c.source_record_id AS "sourceRecordId", sr.system, sr.local_id AS value,
              c.before_enterprise_id AS "beforeEnterpriseId", c.before_state AS "beforeState", c.action,
              c.after_enterprise_id AS "afterEnterpriseId", c.after_state AS "afterState", c.score, c.reason, c.outcome
         FROM rematch_changes c JOIN source_records sr ON sr.id = c.source_record_id
        WHERE c.job_id = $1 AND c.seq > $4 ORDER BY c.seq LIMIT $2 OFFSET $3`,
      [jobId, count, offset, afterSeq],
    );
  }

  async changeCounts(tx: EntityManager, jobId: string): Promise<{ readonly toExisting: number; readonly toNew: number; readonly stateOnly: number }> {
    const rows = await tx.query<{ toExisting: number; toNew: number; stateOnly: number }[]>(
      `SELECT count(*) FILTER (WHERE action = 'link')::int AS "toExisting", count(*) FILTER (WHERE action = 'new')::int AS "toNew",
              count(*) FILTER (WHERE action = 'keep')::int AS "stateOnly"
         FROM rematch_changes WHERE job_id = $1`,
      [jobId],
    );
    return rows[0] ?? { toExisting: 0, toNew: 0, stateOnly: 0 };
  }

  async setOutcome(tx: EntityManager, jobId: string, seq: number, outcome: 'APPLIED' | 'UNCHANGED'): Promise<void> {
    await tx.query('UPDATE rematch_changes SET outcome = $3 WHERE job_id = $1 AND seq = $2', [jobId, seq, outcome]);
  }
}
