import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Consent pushdown: `label_codes` holds the codes of an item's security labels
 * (`security_labels` is the jsonb of Codings returned to callers), so the visibility filter
 * `institution_id = :own OR (:others = 'all' AND NOT label_codes && :denied)` is a plain array
 * operator on the row. Backfilled from `security_labels`: every non-empty code whatever its system,
 * as consent-policy's `decideItem` compares them.
 *
 * No GIN index: the filter is a negated overlap evaluated on the few rows of one person already
 * found through `<table>_source` (patient_system, local_patient_id, effective_at); a GIN index on
 * label_codes cannot serve `NOT (… && …)` and would only slow indexing.
 */
export class LabelCodes1763800000000 implements MigrationInterface {
  name = 'LabelCodes1763800000000';

  async up(q: QueryRunner): Promise<void> {
    for (const table of ['encounters', 'documents', 'results']) {
      await q.query(`ALTER TABLE ${table} ADD COLUMN label_codes text[] NOT NULL DEFAULT '{}'`);
      await q.query(`
        UPDATE ${table} SET label_codes = ARRAY(
          SELECT DISTINCT btrim(l->>'code') FROM jsonb_array_elements(security_labels) l
          WHERE jsonb_typeof(l) = 'object' AND coalesce(btrim(l->>'code'), '') <> '' ORDER BY 1)
        WHERE jsonb_array_length(security_labels) > 0`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['encounters', 'documents', 'results']) {
      await q.query(`ALTER TABLE ${table} DROP COLUMN IF EXISTS label_codes`);
    }
  }
}
