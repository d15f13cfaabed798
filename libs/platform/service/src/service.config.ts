import { z } from 'zod';
import { bool, defineConfig, positiveInt, port } from '@tessera/platform-config';

/** The per-process settings every service reads, with that service's defaults. */
export function serviceConfig(defaults: { readonly httpPort: number; readonly database: string }) {
  return defineConfig(
    'service',
    z.object({
      HTTP_HOST: z.string().default('127.0.0.1').describe('address the HTTP server binds (0.0.0.0 in containers)'),
      HTTP_PORT: port(defaults.httpPort, 'HTTP port of this service'),
      DB_NAME: z
        .string()
        .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'lowercase letters, digits and _')
        .default(defaults.database)
        .describe("this service's own Postgres database name (lowercase letters, digits, _)"),
      DB_MIGRATE_ON_BOOT: bool(true, 'create the database if missing and apply migrations at boot'),
      SHUTDOWN_TIMEOUT_MS: positiveInt(30_000, 'how long graceful shutdown may take before the process exits'),
    }),
  );
}

export type ServiceSettings = z.output<ReturnType<typeof serviceConfig>['schema']>;
