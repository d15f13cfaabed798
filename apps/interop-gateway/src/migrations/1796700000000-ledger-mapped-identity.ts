import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What the last successful mapping of each message produced (`mapped_identity`: institution, source
 * record, item ids, warnings), so a replay can retire what it no longer produces, and operators can
 * list provisional identities (docs/identity-corrections.md). Rows mapped before have none: their
 * replay corrects nothing it cannot see. Replay jobs count the identities they corrected.
 */
export class LedgerMappedIdentity1796700000000 implements MigrationInterface {
  name = 'LedgerMappedIdentity1796700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE ledger_messages ADD COLUMN mapped_identity jsonb`);
    // The provisional identities list: mapped rows whose source record is under urn:tessera:aa:.
    await q.query(
      `CREATE INDEX ledger_messages_provisional ON ledger_messages (institution_id, (mapped_identity #>> '{patient,system}'))
       WHERE mapped_identity #>> '{patient,system}' LIKE 'urn:tessera:aa:%'`,
    );
    await q.query(`ALTER TABLE ledger_replay_jobs ADD COLUMN corrected integer NOT NULL DEFAULT 0`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE ledger_replay_jobs DROP COLUMN corrected`);
    await q.query(`DROP INDEX ledger_messages_provisional`);
    await q.query(`ALTER TABLE ledger_messages DROP COLUMN mapped_identity`);
  }
}
