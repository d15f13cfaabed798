import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The registry's index: one row per source resource (deterministic FHIR id from the
 * gateway), never keyed by enterprise id. Which person a row belongs to is resolved at query time
 * through `patient_links`, so an MPI merge or unmerge re-keys every query without rewriting rows.
 *
 * Columns shared by encounters, documents and results: where the resource came from (institution,
 * patient_system + local_patient_id, source message, mapper version, channel), what consent needs
 * (security labels, facility tokens, class/type), lifecycle (`status`, `is_current`, `version`) and
 * the FHIR resource as received.
 */
const COMMON_COLUMNS = `
  id text PRIMARY KEY,
  institution_id text NOT NULL,
  patient_system text NOT NULL,
  local_patient_id text NOT NULL,
  status text NOT NULL,
  is_current boolean NOT NULL,
  type_tokens text[] NOT NULL DEFAULT '{}',
  category_tokens text[] NOT NULL DEFAULT '{}',
  facility_tokens text[] NOT NULL DEFAULT '{}',
  effective_at timestamptz,
  effective_end timestamptz,
  security_labels jsonb NOT NULL DEFAULT '[]',
  encounter_id text,
  source_message_id text NOT NULL,
  mapper_version text NOT NULL,
  channel text NOT NULL,
  event_id text NOT NULL,
  resource jsonb NOT NULL,
  version integer NOT NULL DEFAULT 1,
  first_seen_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()`;

export class RegistryIndex1732492800000 implements MigrationInterface {
  name = 'RegistryIndex1732492800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE encounters (${COMMON_COLUMNS}, class_code text)`);
    await q.query(`
      CREATE TABLE documents (${COMMON_COLUMNS},
        content_sha256 text NOT NULL,
        content_size bigint NOT NULL,
        content_type text NOT NULL,
        superseded_by text)`);
    // DiagnosticReport and Observation rows (resource_type tells which).
    await q.query(`
      CREATE TABLE results (${COMMON_COLUMNS},
        resource_type text NOT NULL CHECK (resource_type IN ('DiagnosticReport', 'Observation')),
        code_tokens text[] NOT NULL DEFAULT '{}')`);
    for (const table of ['encounters', 'documents', 'results']) {
      await q.query(
        `CREATE INDEX ${table}_source ON ${table} (patient_system, local_patient_id, effective_at DESC)`,
      );
    }
    await q.query(`CREATE INDEX documents_sha256 ON documents (content_sha256)`);
    await q.query(`CREATE INDEX results_type ON results (resource_type, patient_system, local_patient_id)`);

    // Every version of every indexed resource (lifecycle history: cancelled, superseded, deleted).
    await q.query(`
      CREATE TABLE resource_history (
        resource_type text NOT NULL,
        resource_id text NOT NULL,
        version integer NOT NULL,
        status text NOT NULL,
        event_id text NOT NULL,
        source_message_id text NOT NULL,
        resource jsonb NOT NULL,
        recorded_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (resource_type, resource_id, version)
      )`);

    // A `replaces` relation (FHIR R4 DocumentReference.relatesTo) may arrive before its target.
    await q.query(`
      CREATE TABLE document_replacements (
        target_id text PRIMARY KEY,
        replaced_by text NOT NULL,
        recorded_at timestamptz NOT NULL DEFAULT now()
      )`);

    // Content-addressed bytes (DocumentContentStore's Postgres adapter).
    await q.query(`
      CREATE TABLE document_contents (
        sha256 text PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
        content_type text NOT NULL,
        size bigint NOT NULL,
        bytes bytea NOT NULL,
        stored_at timestamptz NOT NULL DEFAULT now()
      )`);

    // Every feed and message through which a document (or the same bytes) reached the registry.
    await q.query(`
      CREATE TABLE seen_via (
        document_id text NOT NULL,
        source_message_id text NOT NULL,
        institution_id text NOT NULL,
        channel text NOT NULL,
        content_sha256 text NOT NULL,
        seen_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (document_id, source_message_id)
      )`);
    await q.query(`CREATE INDEX seen_via_sha256 ON seen_via (content_sha256)`);

    // Projection of hie.mpi.link: the newest decision per source record (see patient-link.policy.ts).
    await q.query(`
      CREATE TABLE patient_links (
        patient_system text NOT NULL,
        local_patient_id text NOT NULL,
        enterprise_id text,
        state text NOT NULL CHECK (state IN ('MATCH', 'POSSIBLE_MATCH', 'NO_MATCH')),
        origin text NOT NULL CHECK (origin IN ('AUTO', 'MANUAL')),
        score double precision,
        rule_set_version text NOT NULL,
        decided_at timestamptz NOT NULL,
        event_id text NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (patient_system, local_patient_id)
      )`);
    await q.query(
      `CREATE INDEX patient_links_enterprise ON patient_links (enterprise_id) WHERE enterprise_id IS NOT NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of [
      'patient_links',
      'seen_via',
      'document_contents',
      'document_replacements',
      'resource_history',
      'results',
      'documents',
      'encounters',
    ]) {
      await q.query(`DROP TABLE IF EXISTS ${table}`);
    }
  }
}
