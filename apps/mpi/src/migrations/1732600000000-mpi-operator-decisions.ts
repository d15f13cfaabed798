import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Who made a link decision: the operator id for MANUAL decisions, null for the engine's. */
export class MpiOperatorDecisions1732600000000 implements MigrationInterface {
  name = 'MpiOperatorDecisions1732600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE link_events ADD COLUMN decided_by text`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE link_events DROP COLUMN decided_by`);
  }
}
