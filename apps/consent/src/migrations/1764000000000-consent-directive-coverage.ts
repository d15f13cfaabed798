import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The source records an enterprise-id-anchored directive covered when it was recorded or revised
 * (their MATCH links then), so the directive follows the person through an MPI merge or unmerge
 * (apps/consent README "Storage"; docs/security-review.md "Consent anchored on a retired enterprise id").
 */
export class ConsentDirectiveCoverage1764000000000 implements MigrationInterface {
  name = 'ConsentDirectiveCoverage1764000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE consent_directive_coverage (
        directive_id uuid NOT NULL REFERENCES consent_directives (id),
        system text NOT NULL,
        value text NOT NULL,
        covered_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (directive_id, system, value)
      )`);
    // Link changes and the policy read look coverage up by source record.
    await q.query(
      `CREATE INDEX consent_directive_coverage_source ON consent_directive_coverage (system, value)`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE consent_directive_coverage`);
  }
}
