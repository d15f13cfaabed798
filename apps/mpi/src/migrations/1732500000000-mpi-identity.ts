import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The MPI's identity model (docs/architecture.md "Identity (MPI)"): source records as sent and
 * versioned, enterprise ids as anchors, one current link per source record, an append-only history of
 * every link change, the blocking-key index for candidate retrieval, review tasks and "not the same
 * person" pairs.
 */
export class MpiIdentity1732500000000 implements MigrationInterface {
  name = 'MpiIdentity1732500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE source_records (
        id uuid PRIMARY KEY,
        system text NOT NULL,
        local_id text NOT NULL,
        institution_id text NOT NULL,
        current_version integer NOT NULL,
        -- Search projection of the current version (PDQm): normalized Latin spellings.
        family_norm text,
        given_norm text,
        birth_date date,
        gender text,
        patient jsonb NOT NULL,
        -- A40: the record was merged into another local id of the same institution; never deleted.
        retired_into uuid REFERENCES source_records(id),
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        CONSTRAINT source_records_system_local_id UNIQUE (system, local_id)
      )`);
    await q.query(`CREATE INDEX source_records_family_norm ON source_records (family_norm text_pattern_ops)`);
    await q.query(`CREATE INDEX source_records_birth_date ON source_records (birth_date)`);
    await q.query(`CREATE INDEX source_records_identifiers ON source_records USING gin ((patient -> 'identifier') jsonb_path_ops)`);
    await q.query(`
      CREATE TABLE source_record_versions (
        source_record_id uuid NOT NULL REFERENCES source_records(id),
        version integer NOT NULL,
        patient jsonb NOT NULL,
        normalized jsonb NOT NULL,
        source_message_id text NOT NULL,
        received_at timestamptz NOT NULL,
        PRIMARY KEY (source_record_id, version)
      )`);
    await q.query(`
      CREATE TABLE enterprise_ids (
        id uuid PRIMARY KEY,
        created_at timestamptz NOT NULL
      )`);
    await q.query(`
      CREATE TABLE links (
        source_record_id uuid PRIMARY KEY REFERENCES source_records(id),
        enterprise_id uuid NOT NULL REFERENCES enterprise_ids(id),
        state text NOT NULL CHECK (state IN ('MATCH', 'POSSIBLE_MATCH', 'NO_MATCH')),
        origin text NOT NULL CHECK (origin IN ('AUTO', 'MANUAL')),
        score double precision,
        rule_set_version text NOT NULL,
        comparisons jsonb NOT NULL DEFAULT '[]',
        version integer NOT NULL,
        updated_at timestamptz NOT NULL
      )`);
    await q.query(`CREATE INDEX links_enterprise_id ON links (enterprise_id)`);
    await q.query(`
      CREATE TABLE link_events (
        id uuid PRIMARY KEY,
        source_record_id uuid NOT NULL REFERENCES source_records(id),
        before_enterprise_id uuid,
        after_enterprise_id uuid,
        before_state text,
        after_state text NOT NULL,
        origin text NOT NULL,
        score double precision,
        rule_set_version text NOT NULL,
        comparisons jsonb NOT NULL DEFAULT '[]',
        reason text NOT NULL,
        at timestamptz NOT NULL
      )`);
    await q.query(`CREATE INDEX link_events_source_record ON link_events (source_record_id, at)`);
    await q.query(`CREATE INDEX link_events_enterprise_id ON link_events (after_enterprise_id, at)`);
    // The history is immutable: no UPDATE or DELETE, whoever connects.
    await q.query(`
      CREATE FUNCTION link_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'link_events is append-only'; END $$`);
    await q.query(`
      CREATE TRIGGER link_events_append_only BEFORE UPDATE OR DELETE ON link_events
      FOR EACH ROW EXECUTE FUNCTION link_events_append_only()`);
    await q.query(`
      CREATE TRIGGER source_record_versions_append_only BEFORE UPDATE OR DELETE ON source_record_versions
      FOR EACH ROW EXECUTE FUNCTION link_events_append_only()`);
    await q.query(`
      CREATE TABLE blocking_keys (
        key text NOT NULL,
        source_record_id uuid NOT NULL REFERENCES source_records(id),
        PRIMARY KEY (key, source_record_id)
      )`);
    await q.query(`CREATE INDEX blocking_keys_source_record ON blocking_keys (source_record_id)`);
    await q.query(`
      CREATE TABLE review_tasks (
        id uuid PRIMARY KEY,
        kind text NOT NULL CHECK (kind IN ('POSSIBLE_MATCH', 'POSSIBLE_DUPLICATE')),
        status text NOT NULL CHECK (status IN ('OPEN', 'DECIDED', 'DISMISSED')),
        source_record_id uuid NOT NULL REFERENCES source_records(id),
        enterprise_ids uuid[] NOT NULL,
        best_score double precision,
        payload jsonb NOT NULL,
        version integer NOT NULL,
        created_at timestamptz NOT NULL,
        decided_at timestamptz
      )`);
    await q.query(`CREATE INDEX review_tasks_open ON review_tasks (status, best_score DESC)`);
    await q.query(`CREATE INDEX review_tasks_source_record ON review_tasks (source_record_id)`);
    await q.query(`
      CREATE TABLE not_same_person (
        record_a uuid NOT NULL REFERENCES source_records(id),
        record_b uuid NOT NULL REFERENCES source_records(id),
        reason text NOT NULL,
        decided_by text NOT NULL,
        at timestamptz NOT NULL,
        PRIMARY KEY (record_a, record_b),
        CHECK (record_a < record_b)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE not_same_person`);
    await q.query(`DROP TABLE review_tasks`);
    await q.query(`DROP TABLE blocking_keys`);
    await q.query(`DROP TABLE link_events`);
    await q.query(`DROP TABLE source_record_versions`);
    await q.query(`DROP FUNCTION link_events_append_only`);
    await q.query(`DROP TABLE links`);
    await q.query(`DROP TABLE enterprise_ids`);
    await q.query(`DROP TABLE source_records`);
  }
}
