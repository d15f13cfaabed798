import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The audit store (design "Audit"): one row per AuditRecorded event from hie.audit, in a single
 * hash chain (see audit/audit-chain.ts). `record` is the full payload; the other columns are
 * copies of its fields for search (the verifier checks they still match the record).
 * Append-only: UPDATE, DELETE and TRUNCATE are rejected by triggers that fire ALWAYS (also under
 * `session_replication_role = replica`); only the table owner can disable them, and the chain
 * shows what was changed while they were off.
 */
export class AuditEvents1763950000000 implements MigrationInterface {
  name = 'AuditEvents1763950000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE audit_events (
        seq bigserial PRIMARY KEY,
        event_id text NOT NULL UNIQUE,
        recorded_at timestamptz NOT NULL,
        stored_at timestamptz NOT NULL DEFAULT now(),
        type text NOT NULL,
        subtype text NOT NULL,
        action text NOT NULL,
        outcome text NOT NULL,
        client_id text,
        institution_id text,
        purpose text,
        break_glass boolean NOT NULL DEFAULT false,
        patients text[] NOT NULL DEFAULT '{}',
        entities jsonb NOT NULL DEFAULT '[]',
        record jsonb NOT NULL,
        prev_hash text NOT NULL CHECK (prev_hash ~ '^[0-9a-f]{64}$'),
        hash text NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$'),
        -- One chain: no two rows may follow the same predecessor.
        CONSTRAINT audit_events_single_chain UNIQUE (prev_hash)
      )`);
    await q.query(`CREATE INDEX audit_events_patients ON audit_events USING gin (patients)`);
    await q.query(`CREATE INDEX audit_events_recorded ON audit_events (recorded_at DESC)`);
    await q.query(`CREATE INDEX audit_events_client ON audit_events (client_id, recorded_at DESC)`);
    await q.query(`
      CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'audit_events is append-only: % is not allowed', TG_OP
          USING ERRCODE = 'insufficient_privilege';
      END $$`);
    await q.query(`
      CREATE TRIGGER audit_events_no_update_delete BEFORE UPDATE OR DELETE ON audit_events
        FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()`);
    await q.query(`
      CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
        FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()`);
    await q.query(`ALTER TABLE audit_events ENABLE ALWAYS TRIGGER audit_events_no_update_delete`);
    await q.query(`ALTER TABLE audit_events ENABLE ALWAYS TRIGGER audit_events_no_truncate`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE audit_events`);
    await q.query(`DROP FUNCTION audit_events_append_only()`);
  }
}
