import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Re-matching after a rule change: background jobs and their dry-run reports. */
export class MpiRematchJobs1732800000000 implements MigrationInterface {
  name = 'MpiRematchJobs1732800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE rematch_jobs (
        id uuid PRIMARY KEY,
        status text NOT NULL CHECK (status IN ('RUNNING', 'DONE', 'APPLYING', 'APPLIED', 'FAILED')),
        version integer NOT NULL,
        dry_run boolean NOT NULL,
        rule_set_version text NOT NULL,
        scope jsonb NOT NULL,
        requested_by text NOT NULL,
        reason text NOT NULL,
        total integer NOT NULL DEFAULT 0,
        processed integer NOT NULL DEFAULT 0,
        would_change integer NOT NULL DEFAULT 0,
        apply_total integer NOT NULL DEFAULT 0,
        apply_processed integer NOT NULL DEFAULT 0,
        applied integer NOT NULL DEFAULT 0,
        applied_by text,
        error text,
        started_at timestamptz NOT NULL,
        phase_started_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        finished_at timestamptz
      )`);
    await q.query(`
      CREATE TABLE rematch_changes (
        job_id uuid NOT NULL REFERENCES rematch_jobs(id),
        seq integer NOT NULL,
        source_record_id uuid NOT NULL REFERENCES source_records(id),
        before_enterprise_id uuid NOT NULL,
        before_state text NOT NULL,
        action text NOT NULL CHECK (action IN ('keep', 'link', 'new')),
        after_enterprise_id uuid,
        after_state text NOT NULL,
        score double precision,
        reason text NOT NULL,
        -- After apply: APPLIED, or UNCHANGED when the decision at apply time no longer changes the link.
        outcome text CHECK (outcome IN ('APPLIED', 'UNCHANGED')),
        PRIMARY KEY (job_id, seq)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE rematch_changes`);
    await q.query(`DROP TABLE rematch_jobs`);
  }
}
