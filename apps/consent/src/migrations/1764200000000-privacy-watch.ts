import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The privacy officer's watch (apps/consent README "Sudden patterns"): registrations of new source
 * records onto persons others held, the persons each institution registered and then queried, and
 * the alerts opened for the privacy officer.
 */
export class PrivacyWatch1764200000000 implements MigrationInterface {
  name = 'PrivacyWatch1764200000000';

  async up(q: QueryRunner): Promise<void> {
    // A new MATCH of a source record onto a person other institutions already held (hie.mpi.link).
    await q.query(`
      CREATE TABLE watch_registrations (
        system text NOT NULL,
        value text NOT NULL,
        enterprise_id text NOT NULL,
        registered_at timestamptz NOT NULL,
        other_holders text[] NOT NULL,
        PRIMARY KEY (system, value, enterprise_id)
      )`);
    await q.query(`CREATE INDEX watch_registrations_eid ON watch_registrations (enterprise_id)`);
    // A person an institution registered that way and then queried (hie.audit): counted per window.
    await q.query(`
      CREATE TABLE watch_hits (
        institution_id text NOT NULL,
        enterprise_id text NOT NULL,
        registered_at timestamptz NOT NULL,
        queried_at timestamptz NOT NULL,
        PRIMARY KEY (institution_id, enterprise_id)
      )`);
    await q.query(`CREATE INDEX watch_hits_window ON watch_hits (institution_id, queried_at)`);
    // Items for the privacy officer (one per institution per window).
    await q.query(`
      CREATE TABLE privacy_alerts (
        id uuid PRIMARY KEY,
        kind text NOT NULL CHECK (kind IN ('registered-then-queried')),
        institution_id text NOT NULL,
        window_start timestamptz NOT NULL,
        window_end timestamptz NOT NULL,
        person_count integer NOT NULL,
        threshold integer NOT NULL,
        reason text NOT NULL,
        status text NOT NULL CHECK (status IN ('open', 'closed')),
        decision text CHECK (decision IN ('appropriate', 'inappropriate')),
        decided_by text,
        decided_at timestamptz,
        note text,
        version integer NOT NULL DEFAULT 1,
        opened_at timestamptz NOT NULL DEFAULT now(),
        CHECK ((status = 'open') = (decision IS NULL))
      )`);
    await q.query(`CREATE INDEX privacy_alerts_institution ON privacy_alerts (institution_id, window_end)`);
    await q.query(`CREATE INDEX privacy_alerts_status ON privacy_alerts (status, opened_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['privacy_alerts', 'watch_hits', 'watch_registrations'])
      await q.query(`DROP TABLE ${table}`);
  }
}
