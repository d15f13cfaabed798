import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Consent directives (every version kept), the service's projection of MPI links, per-person policy
 * versions, break-the-glass grants and their privacy reviews (docs/design/exchange-and-consent.md).
 */
export class ConsentDirectives1763900000000 implements MigrationInterface {
  name = 'ConsentDirectives1763900000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE consent_directives (
        id uuid PRIMARY KEY,
        anchor_kind text NOT NULL CHECK (anchor_kind IN ('enterprise', 'source')),
        anchor_eid text,
        anchor_system text,
        anchor_value text,
        status text NOT NULL,
        version integer NOT NULL CHECK (version > 0),
        resource jsonb NOT NULL,
        compiled jsonb NOT NULL,
        source text NOT NULL CHECK (source IN ('fhir', 'hl7v2')),
        recorded_by text NOT NULL,
        recorded_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        CHECK ((anchor_kind = 'enterprise' AND anchor_eid IS NOT NULL AND anchor_system IS NULL AND anchor_value IS NULL)
            OR (anchor_kind = 'source' AND anchor_eid IS NULL AND anchor_system IS NOT NULL AND anchor_value IS NOT NULL))
      )`);
    await q.query(`CREATE INDEX consent_directives_eid ON consent_directives (anchor_eid) WHERE anchor_eid IS NOT NULL`);
    await q.query(
      `CREATE INDEX consent_directives_source ON consent_directives (anchor_system, anchor_value) WHERE anchor_system IS NOT NULL`,
    );
    // PD1-12 keeps one hl7v2 directive per source record, switched active/inactive.
    await q.query(
      `CREATE UNIQUE INDEX consent_directives_hl7v2 ON consent_directives (anchor_system, anchor_value) WHERE source = 'hl7v2'`,
    );
    await q.query(`
      CREATE TABLE consent_directive_history (
        id uuid NOT NULL REFERENCES consent_directives (id),
        version integer NOT NULL,
        status text NOT NULL,
        resource jsonb NOT NULL,
        compiled jsonb NOT NULL,
        recorded_by text NOT NULL,
        changed_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (id, version)
      )`);

    // One row per source record (system|value): the newest MPI decision (decided_at, event_id wins,
    // whatever the arrival order) and the institution that sent it (from hie.patient).
    await q.query(`
      CREATE TABLE consent_links (
        system text NOT NULL,
        value text NOT NULL,
        enterprise_id text,
        institution_id text,
        state text CHECK (state IN ('MATCH', 'POSSIBLE_MATCH', 'NO_MATCH')),
        origin text CHECK (origin IN ('AUTO', 'MANUAL')),
        decided_at timestamptz,
        event_id text,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (system, value)
      )`);
    await q.query(`CREATE INDEX consent_links_eid ON consent_links (enterprise_id) WHERE state = 'MATCH'`);

    await q.query(`
      CREATE TABLE policy_versions (
        enterprise_id text PRIMARY KEY,
        version bigint NOT NULL CHECK (version > 0),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);

    await q.query(`
      CREATE TABLE break_glass_grants (
        id uuid PRIMARY KEY,
        enterprise_id text NOT NULL,
        institution_id text NOT NULL,
        client_id text NOT NULL,
        user_id text,
        reason text NOT NULL,
        granted_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL CHECK (expires_at > granted_at)
      )`);
    await q.query(`CREATE INDEX break_glass_grants_eid ON break_glass_grants (enterprise_id, expires_at)`);

    await q.query(`
      CREATE TABLE privacy_reviews (
        id uuid PRIMARY KEY,
        grant_id uuid NOT NULL UNIQUE REFERENCES break_glass_grants (id),
        status text NOT NULL CHECK (status IN ('open', 'closed')),
        decision text CHECK (decision IN ('appropriate', 'inappropriate')),
        decided_by text,
        decided_at timestamptz,
        note text,
        version integer NOT NULL DEFAULT 1,
        opened_at timestamptz NOT NULL DEFAULT now(),
        CHECK ((status = 'open') = (decision IS NULL))
      )`);
    await q.query(`CREATE INDEX privacy_reviews_status ON privacy_reviews (status, opened_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of [
      'privacy_reviews',
      'break_glass_grants',
      'policy_versions',
      'consent_links',
      'consent_directive_history',
      'consent_directives',
    ]) {
      await q.query(`DROP TABLE ${table}`);
    }
  }
}
