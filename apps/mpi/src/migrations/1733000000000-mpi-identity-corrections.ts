import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Why a source record was retired: `merged` by its source (A40, the prior id existed at the
 * hospital and still resolves to the survivor) or `corrected` by a gateway replay (the record never
 * existed at the hospital: it resolves to nothing and its system counts as unknown;
 * docs/identity-corrections.md).
 */
export class MpiIdentityCorrections1733000000000 implements MigrationInterface {
  name = 'MpiIdentityCorrections1733000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE source_records ADD COLUMN retired_kind text CHECK (retired_kind IN ('merged', 'corrected'))`,
    );
    await q.query(`UPDATE source_records SET retired_kind = 'merged' WHERE retired_into IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE source_records DROP COLUMN retired_kind`);
  }
}
