import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Operator merges of two enterprise ids: every enterprise id gets a
 * version (raised by every link change in or out of it, the operators' optimistic lock) and a
 * `merged_into` pointer; a merge is a recorded decision whose link changes are listed, so an unmerge
 * can remove exactly its effect.
 */
export class MpiEnterpriseMerges1732700000000 implements MigrationInterface {
  name = 'MpiEnterpriseMerges1732700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE enterprise_ids ADD COLUMN version integer NOT NULL DEFAULT 1`);
    await q.query(`ALTER TABLE enterprise_ids ADD COLUMN merged_into uuid REFERENCES enterprise_ids(id)`);
    await q.query(`
      CREATE TABLE enterprise_merges (
        id uuid PRIMARY KEY,
        surviving_enterprise_id uuid NOT NULL REFERENCES enterprise_ids(id),
        merged_enterprise_id uuid NOT NULL REFERENCES enterprise_ids(id),
        status text NOT NULL CHECK (status IN ('MERGED', 'UNMERGED')),
        version integer NOT NULL,
        reason text NOT NULL,
        decided_by text NOT NULL,
        at timestamptz NOT NULL,
        -- [{sourceRecordId, decisionId}]: the link_events rows this merge wrote.
        decisions jsonb NOT NULL,
        -- Review tasks the merge decided (reopened by the unmerge).
        closed_review_tasks uuid[] NOT NULL DEFAULT '{}',
        unmerge_reason text,
        unmerged_by text,
        unmerged_at timestamptz,
        CHECK (surviving_enterprise_id <> merged_enterprise_id)
      )`);
    await q.query(`CREATE INDEX enterprise_merges_surviving ON enterprise_merges (surviving_enterprise_id)`);
    await q.query(`CREATE INDEX enterprise_merges_merged ON enterprise_merges (merged_enterprise_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE enterprise_merges`);
    await q.query(`ALTER TABLE enterprise_ids DROP COLUMN merged_into`);
    await q.query(`ALTER TABLE enterprise_ids DROP COLUMN version`);
  }
}
