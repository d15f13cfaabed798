import { Client } from 'pg';
import type { ClientConfig } from 'pg';
import type { MixedList } from 'typeorm';
import { loadConfig, postgresConfig } from '@tessera/platform-config';
import { ensureDatabase, migrate } from '@tessera/platform-persistence';
import type { PostgresSettings } from '@tessera/platform-persistence';

/** Shared database of the platform libraries' integration tests (isolated by unique ids per test). */
export const PLATFORM_TEST_DATABASE = 'tessera_platform_test';

/**
 * Creates `database` if needed and applies `migrations`. Test files run in parallel workers, so the
 * migration run is serialized by an advisory lock.
 */
export async function prepareTestDatabase(
  database: string,
  migrations: MixedList<string | (new () => unknown)>,
): Promise<PostgresSettings> {
  const settings = loadConfig(postgresConfig);
  await ensureDatabase(settings, database);
  const client = new Client(testClientConfig(database, settings));
  await client.connect();
  try {
    await client.query(`SELECT pg_advisory_lock(hashtext('tessera-test-migrations'))`);
    await migrate({ settings, database, migrations });
  } finally {
    await client.end();
  }
  return settings;
}

/** pg connection options for `database` from the validated Postgres settings. */
export function testClientConfig(database: string, settings: PostgresSettings = loadConfig(postgresConfig)): ClientConfig {
  return { host: settings.PGHOST, port: settings.PGPORT, user: settings.PGUSER, password: settings.PGPASSWORD, database };
}

/** A plain pg client to the test database (caller ends it). */
export async function connectTestClient(settings: PostgresSettings, database: string): Promise<Client> {
  const client = new Client(testClientConfig(database, settings));
  await client.connect();
  return client;
}

/** Drops a per-test database (closing any connection left to it). */
export async function dropTestDatabase(settings: PostgresSettings, database: string): Promise<void> {
  if (!/^tessera_[a-z0-9_]+_test_[a-z0-9_]+$/.test(database)) {
    throw new Error('Refusing to drop a database whose name does not look like a per-test database');
  }
  const client = new Client(testClientConfig('postgres', settings));
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}
