import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * How the sender of each ledger message was authenticated (TLS client certificate, IP allow-list,
 * loopback, access token, none) and the identity it proved. Rows stored before have neither.
 */
export class LedgerSenderAuthentication1765152000000 implements MigrationInterface {
  name = 'LedgerSenderAuthentication1765152000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE ledger_messages
        ADD COLUMN sender_authentication text,
        ADD COLUMN sender_identity text,
        ADD CONSTRAINT ledger_messages_sender_authentication_check CHECK (sender_authentication IN
          ('tls-client-certificate', 'ip-allow-list', 'loopback', 'access-token', 'none'))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE ledger_messages
        DROP CONSTRAINT ledger_messages_sender_authentication_check,
        DROP COLUMN sender_identity,
        DROP COLUMN sender_authentication`);
  }
}
