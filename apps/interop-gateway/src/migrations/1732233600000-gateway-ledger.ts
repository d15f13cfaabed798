import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Institutions registry and the message ledger (every message received, whatever its fate). */
export class GatewayLedger1732233600000 implements MigrationInterface {
  name = 'GatewayLedger1732233600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE institutions (
        id text PRIMARY KEY,
        document jsonb NOT NULL,
        version integer NOT NULL,
        updated_at timestamptz NOT NULL
      )`);
    await q.query(`
      CREATE TABLE institution_facilities (
        code text PRIMARY KEY,
        institution_id text NOT NULL REFERENCES institutions(id) ON DELETE CASCADE
      )`);
    await q.query(`
      CREATE TABLE ledger_messages (
        id uuid PRIMARY KEY,
        received_at timestamptz NOT NULL,
        institution_id text,
        sending_application text NOT NULL DEFAULT '',
        sending_facility text NOT NULL DEFAULT '',
        message_type text NOT NULL DEFAULT '',
        control_id text NOT NULL DEFAULT '',
        hl7_version text NOT NULL DEFAULT '',
        content_sha256 char(64) NOT NULL,
        charset text NOT NULL DEFAULT '',
        size_bytes integer NOT NULL,
        raw bytea NOT NULL,
        peer text NOT NULL DEFAULT '',
        channel text NOT NULL DEFAULT 'mllp',
        partition_key text NOT NULL DEFAULT '',
        ack_mode text NOT NULL DEFAULT 'original',
        ack_code text,
        ack_errors jsonb NOT NULL DEFAULT '[]',
        ack_latency_ms integer,
        state text NOT NULL,
        state_detail text,
        duplicate_control_id boolean NOT NULL DEFAULT false,
        resend_count integer NOT NULL DEFAULT 0,
        published_at timestamptz,
        mapped_at timestamptz,
        mapper_version text,
        replays jsonb NOT NULL DEFAULT '[]',
        CONSTRAINT ledger_messages_state_check
          CHECK (state IN ('received', 'published', 'mapped', 'failed', 'rejected', 'unparseable'))
      )`);
    // Dedupe key (docs/architecture.md "The path of one message", step 1); also serves lookups by
    // facility + MSH-10.
    await q.query(
      `CREATE UNIQUE INDEX ledger_messages_dedupe ON ledger_messages (sending_facility, control_id, content_sha256)`,
    );
    await q.query(`CREATE INDEX ledger_messages_received ON ledger_messages (received_at DESC)`);
    await q.query(`CREATE INDEX ledger_messages_institution ON ledger_messages (institution_id, received_at DESC)`);
    await q.query(`CREATE INDEX ledger_messages_state ON ledger_messages (state, received_at)`);
    await q.query(`CREATE INDEX ledger_messages_control ON ledger_messages (control_id)`);
    await q.query(`CREATE INDEX ledger_messages_type ON ledger_messages (message_type, received_at DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE ledger_messages');
    await q.query('DROP TABLE institution_facilities');
    await q.query('DROP TABLE institutions');
  }
}
