import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Who owns a directive and how each source record arrived (apps/consent README "Ownership of
 * consent", "Holding a record"):
 * - `consent_directives.owner_institution`: the institution that recorded the directive (its FHIR
 *   client through the exchange, or its feed for PD1-12); null when a regional operator recorded it.
 *   Existing rows: the feed's institution for `hl7v2`, else `recorded_by` when it names an institution
 *   (the restrictive reading: only that institution or a privacy officer may change them).
 * - `consent_directive_history.revised_by` / `revision_reason`: who made each version, and the privacy
 *   officer's reason when one overrode the owner.
 * - `consent_links.authenticated`: whether any message about the record came from an authenticated
 *   sender (earned once, kept). Existing rows count as unauthenticated, as events without
 *   senderAuthentication do.
 */
export class ConsentOwnership1764100000000 implements MigrationInterface {
  name = 'ConsentOwnership1764100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE consent_directives ADD COLUMN owner_institution text`);
    await q.query(`
      UPDATE consent_directives SET owner_institution = recorded_by
       WHERE source = 'hl7v2'
          OR (recorded_by NOT IN ('unknown', 'patient', 'related-person') AND position('/' IN recorded_by) = 0)`);
    await q.query(`ALTER TABLE consent_directive_history ADD COLUMN revised_by text`);
    await q.query(`ALTER TABLE consent_directive_history ADD COLUMN revision_reason text`);
    await q.query(`ALTER TABLE consent_links ADD COLUMN authenticated boolean NOT NULL DEFAULT false`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE consent_links DROP COLUMN authenticated`);
    await q.query(`ALTER TABLE consent_directive_history DROP COLUMN revision_reason`);
    await q.query(`ALTER TABLE consent_directive_history DROP COLUMN revised_by`);
    await q.query(`ALTER TABLE consent_directives DROP COLUMN owner_institution`);
  }
}
