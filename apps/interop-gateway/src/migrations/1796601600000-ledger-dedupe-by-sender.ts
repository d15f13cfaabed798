import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A message repeats a stored one only when the same institution sent it: the duplicate key gains
 * `institution_id` (the institution the connection authenticated as, or on a plain shared port the
 * one MSH-4 names), and messages refused because of their sender (`sender_refused`) are never the
 * original of a repeat. Otherwise whoever knew the bytes of another institution's future message
 * could have them refused (or unreadable under its own feed's character set) first, and the real
 * sender would be answered with that stored outcome. Rows refused for their sender before this are
 * found by their stored ERR diagnostic, so they stop standing in for the real messages at once.
 */
export class LedgerDedupeBySender1796601600000 implements MigrationInterface {
  name = 'LedgerDedupeBySender1796601600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE ledger_messages ADD COLUMN sender_refused boolean NOT NULL DEFAULT false`);
    await q.query(
      `UPDATE ledger_messages SET sender_refused = true
       WHERE state = 'rejected' AND ack_errors @> '[{"diagnostic": "sending facility not authorized for this sender"}]'::jsonb`,
    );
    await q.query(`DROP INDEX ledger_messages_dedupe`);
    // NULLS NOT DISTINCT: messages of no registered institution still repeat one another.
    await q.query(
      `CREATE UNIQUE INDEX ledger_messages_dedupe
         ON ledger_messages (institution_id, sending_facility, control_id, content_sha256) NULLS NOT DISTINCT
         WHERE NOT sender_refused`,
    );
    // The old key also served the ledger API's filter by sending facility.
    await q.query(
      `CREATE INDEX ledger_messages_facility ON ledger_messages (sending_facility, received_at DESC)`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    // Fails (naming the key) once two institutions' rows share facility, MSH-10 and content.
    await q.query(`DROP INDEX ledger_messages_facility`);
    await q.query(`DROP INDEX ledger_messages_dedupe`);
    await q.query(
      `CREATE UNIQUE INDEX ledger_messages_dedupe ON ledger_messages (sending_facility, control_id, content_sha256)`,
    );
    await q.query(`ALTER TABLE ledger_messages DROP COLUMN sender_refused`);
  }
}
