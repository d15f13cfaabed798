import { Client } from 'pg';
import type { MixedList } from 'typeorm';
import { DataSource } from 'typeorm';
import type { EntitySchema } from 'typeorm';
import type { PostgresConnectionOptions } from 'typeorm/driver/postgres/PostgresConnectionOptions';
import type { postgresConfig } from '@tessera/platform-config';
import type { z } from 'zod';

export type PostgresSettings = z.output<(typeof postgresConfig)['schema']>;

export interface DataSourceOptions {
  readonly settings: PostgresSettings;
  readonly database: string;
  /** Entity classes (or schemas) of the service. */
  readonly entities?: MixedList<string | (new () => unknown) | EntitySchema>;
  /** Migration classes of the service, in order; never `synchronize` (docs/conventions.md §10). */
  readonly migrations?: MixedList<string | (new () => unknown)>;
  readonly applicationName?: string;
  readonly poolSize?: number;
}

/** TypeORM options for one service's own database. Migrations are explicit; synchronize is off. */
export function dataSourceOptions(options: DataSourceOptions): PostgresConnectionOptions {
  const { settings } = options;
  return {
    type: 'postgres',
    host: settings.PGHOST,
    port: settings.PGPORT,
    username: settings.PGUSER,
    ...(settings.PGPASSWORD === undefined ? {} : { password: settings.PGPASSWORD }),
    database: options.database,
    entities: options.entities ?? [],
    migrations: options.migrations ?? [],
    migrationsTableName: 'typeorm_migrations',
    synchronize: false,
    migrationsRun: false,
    logging: false,
    applicationName: options.applicationName ?? options.database,
    extra: { max: options.poolSize ?? settings.PG_POOL_SIZE },
  };
}

export function createDataSource(options: DataSourceOptions): DataSource {
  return new DataSource(dataSourceOptions(options));
}

/** Advisory lock key serializing migrations of one database (arbitrary, fixed). */
const MIGRATION_LOCK_KEY = 7_265_001;

const DATABASE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** Creates `database` if it does not exist (connects to the `postgres` maintenance database). */
export async function ensureDatabase(settings: PostgresSettings, database: string): Promise<boolean> {
  if (!DATABASE_NAME.test(database)) {
    throw new Error(`Database name must match ${String(DATABASE_NAME)}`);
  }
  const client = new Client({
    host: settings.PGHOST,
    port: settings.PGPORT,
    user: settings.PGUSER,
    password: settings.PGPASSWORD,
    database: 'postgres',
  });
  await client.connect();
  try {
    const existing = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (existing.rowCount === 0) {
      try {
        await client.query(`CREATE DATABASE "${database}"`);
      } catch (error) {
        // Another process created it between our check and our CREATE (42P04 duplicate_database).
        if ((error as { code?: string }).code !== '42P04') throw error;
        return false;
      }
      return true;
    }
    return false;
  } finally {
    await client.end();
  }
}

/** Creates the database if needed and applies pending migrations. Returns the names applied. */
export async function migrate(options: DataSourceOptions): Promise<string[]> {
  await ensureDatabase(options.settings, options.database);
  const dataSource = createDataSource({ ...options, poolSize: 2 });
  await dataSource.initialize();
  const runner = dataSource.createQueryRunner();
  try {
    // Several replicas may boot at once: one applies the migrations, the others wait and find none.
    await runner.connect();
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    return applied.map((m) => m.name);
  } finally {
    await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    await runner.release();
    await dataSource.destroy();
  }
}
