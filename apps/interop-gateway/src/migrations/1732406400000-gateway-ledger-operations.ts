import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Operators' side of the ledger: who viewed raw messages, and background replay jobs. */
export class GatewayLedgerOperations1732406400000 implements MigrationInterface {
  name = 'GatewayLedgerOperations1732406400000';

  async up(q: QueryRunner): Promise<void> {
    // Every view of a raw message (PHI) by an operator; the AuditRecorded event goes out in the same transaction.
    await q.query(`
      CREATE TABLE ledger_access_log (
        id uuid PRIMARY KEY,
        ledger_id uuid NOT NULL,
        operator text NOT NULL,
        action text NOT NULL,
        accessed_at timestamptz NOT NULL DEFAULT now(),
        audit_event_id text NOT NULL
      )`);
    await q.query(`CREATE INDEX ledger_access_log_ledger ON ledger_access_log (ledger_id, accessed_at)`);
    await q.query(`CREATE INDEX ledger_access_log_time ON ledger_access_log (accessed_at)`);
    // Filtered replays run in the background on one replica; any replica reports their progress.
    await q.query(`
      CREATE TABLE ledger_replay_jobs (
        id uuid PRIMARY KEY,
        filter jsonb NOT NULL,
        filter_key text NOT NULL,
        requested_by text NOT NULL,
        status text NOT NULL,
        total integer NOT NULL DEFAULT 0,
        done integer NOT NULL DEFAULT 0,
        failed integer NOT NULL DEFAULT 0,
        snapshot_at timestamptz NOT NULL,
        cursor_received_at timestamptz,
        cursor_id uuid,
        owner text,
        last_error text,
        created_at timestamptz NOT NULL DEFAULT now(),
        started_at timestamptz,
        heartbeat_at timestamptz,
        finished_at timestamptz,
        CONSTRAINT ledger_replay_jobs_status_check CHECK (status IN ('queued', 'running', 'done', 'failed'))
      )`);
    // One active job per filter: a second request for the same filter gets the running job.
    await q.query(
      `CREATE UNIQUE INDEX ledger_replay_jobs_active ON ledger_replay_jobs (filter_key) WHERE status IN ('queued', 'running')`,
    );
    await q.query(`CREATE INDEX ledger_replay_jobs_status ON ledger_replay_jobs (status, heartbeat_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE ledger_replay_jobs');
    await q.query('DROP TABLE ledger_access_log');
  }
}
