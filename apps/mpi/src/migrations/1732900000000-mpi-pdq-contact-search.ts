import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * PDQm `telecom` and `address-postalcode` (ITI-78 §3.78.4.1.2.1): every phone of the current version,
 * normalized to its national significant number, and the home address's normalized postal code, each
 * indexed. Existing records are filled from their current normalized version.
 */
export class MpiPdqContactSearch1732900000000 implements MigrationInterface {
  name = 'MpiPdqContactSearch1732900000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE source_records ADD COLUMN phones text[] NOT NULL DEFAULT '{}'`);
    await q.query(`ALTER TABLE source_records ADD COLUMN postal_code text`);
    await q.query(`
      UPDATE source_records sr
         SET phones = CASE WHEN v.normalized ->> 'phone' IS NULL THEN '{}' ELSE ARRAY[v.normalized ->> 'phone'] END,
             postal_code = v.normalized ->> 'postalCode'
        FROM source_record_versions v
       WHERE v.source_record_id = sr.id AND v.version = sr.current_version`);
    await q.query(`CREATE INDEX source_records_phones ON source_records USING gin (phones)`);
    await q.query(`CREATE INDEX source_records_postal_code ON source_records (postal_code text_pattern_ops)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE source_records DROP COLUMN postal_code`);
    await q.query(`ALTER TABLE source_records DROP COLUMN phones`);
  }
}
