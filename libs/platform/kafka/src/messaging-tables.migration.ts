import type { MigrationInterface, QueryRunner } from 'typeorm';

export const INBOX_TABLE = 'messaging_inbox';
export const OUTBOX_TABLE = 'messaging_outbox';
/** Channel the outbox writer notifies (on commit) so the relay wakes without polling. */
export const OUTBOX_CHANNEL = 'messaging_outbox';

/**
 * The inbox (events a consumer group has applied; one row per (group, event id), written in the
 * handler's transaction) and the transactional outbox. Every service that consumes or publishes
 * through the platform lists this migration in its own migration list.
 */
export class MessagingTables1700000000000 implements MigrationInterface {
  name = 'MessagingTables1700000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE ${INBOX_TABLE} (
        consumer_group text NOT NULL,
        event_id text NOT NULL,
        event_type text NOT NULL,
        topic text NOT NULL,
        "partition" integer NOT NULL,
        "offset" bigint NOT NULL,
        processed_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (consumer_group, event_id)
      )`);
    await queryRunner.query(`CREATE INDEX ${INBOX_TABLE}_processed_at_idx ON ${INBOX_TABLE} (processed_at)`);
    await queryRunner.query(`
      CREATE TABLE ${OUTBOX_TABLE} (
        id bigserial PRIMARY KEY,
        event_id text NOT NULL UNIQUE,
        event_type text NOT NULL,
        topic text NOT NULL,
        "key" text,
        headers jsonb NOT NULL,
        payload jsonb NOT NULL,
        traceparent text,
        created_at timestamptz NOT NULL DEFAULT now(),
        published_at timestamptz
      )`);
    await queryRunner.query(
      `CREATE INDEX ${OUTBOX_TABLE}_unpublished_idx ON ${OUTBOX_TABLE} (id) WHERE published_at IS NULL`,
    );
    await queryRunner.query(`CREATE INDEX ${OUTBOX_TABLE}_published_at_idx ON ${OUTBOX_TABLE} (published_at)`);
    // Wake the relay when rows are committed (NOTIFY is delivered at commit, once per transaction).
    await queryRunner.query(`
      CREATE FUNCTION ${OUTBOX_TABLE}_notify() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('${OUTBOX_CHANNEL}', '');
        RETURN NULL;
      END $$`);
    await queryRunner.query(`
      CREATE TRIGGER ${OUTBOX_TABLE}_notify AFTER INSERT ON ${OUTBOX_TABLE}
      FOR EACH STATEMENT EXECUTE FUNCTION ${OUTBOX_TABLE}_notify()`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE ${OUTBOX_TABLE}`);
    await queryRunner.query(`DROP FUNCTION ${OUTBOX_TABLE}_notify()`);
    await queryRunner.query(`DROP TABLE ${INBOX_TABLE}`);
  }
}
