import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The exchange's OAuth client registry (SMART Backend Services, private_key_jwt): one row per
 * client with its public JWKS. `managed_by = 'seed-file'` rows are kept in step with
 * deploy/demo-region/clients.yaml at boot; other rows are never touched by the seeding.
 */
export class OAuthClients1764100000000 implements MigrationInterface {
  name = 'OAuthClients1764100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE oauth_clients (
        client_id text PRIMARY KEY CHECK (client_id ~ '^[a-z0-9][a-z0-9._-]{0,63}$'),
        kind text NOT NULL CHECK (kind IN ('institution', 'operator')),
        institution_id text,
        jwks jsonb NOT NULL,
        allowed_scopes text[] NOT NULL DEFAULT '{}',
        allowed_purposes text[] NOT NULL DEFAULT '{}',
        roles text[] NOT NULL DEFAULT '{}',
        rate_limit_per_second integer CHECK (rate_limit_per_second > 0),
        enabled boolean NOT NULL DEFAULT true,
        managed_by text NOT NULL DEFAULT 'seed-file',
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CHECK (kind <> 'institution' OR institution_id IS NOT NULL)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE oauth_clients`);
  }
}
