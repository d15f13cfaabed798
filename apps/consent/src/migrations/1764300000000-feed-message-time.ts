import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `consent_directives.feed_message_time`: for a feed-managed (PD1-12) directive, the newest time of
 * a message (MSH-7, else the gateway's receipt) whose PD1-12 it reflects, so an older message
 * replayed later cannot undo a newer one (apps/consent README "PD1-12 and message order"). Existing
 * rows: null (no recorded time: the next message applies as it says).
 */
export class FeedMessageTime1764300000000 implements MigrationInterface {
  name = 'FeedMessageTime1764300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE consent_directives ADD COLUMN feed_message_time timestamptz`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE consent_directives DROP COLUMN feed_message_time`);
  }
}
