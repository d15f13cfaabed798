import type { INestApplication, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { migrate } from '@tessera/platform-persistence';
import { createLogger, PinoNestLogger } from '@tessera/platform-observability';
import { loadPlatformSettings } from './platform-settings';
import type { PlatformSettings, ServiceOptions } from './platform-settings';

export interface BootstrapResult {
  readonly app: INestApplication;
  readonly settings: PlatformSettings;
  readonly url: string;
}

/** Applies the service's migrations (creating its database first if allowed). */
export async function migrateService(options: ServiceOptions, settings: PlatformSettings): Promise<string[]> {
  return migrate({
    settings: settings.postgres,
    database: settings.service.DB_NAME,
    entities: options.entities,
    migrations: options.migrations,
    applicationName: `${options.name}-migrate`,
  });
}

/**
 * Boots a service: settings (fail fast), migrations, Nest app with JSON logs, graceful shutdown on
 * SIGTERM/SIGINT bounded by SHUTDOWN_TIMEOUT_MS, HTTP listen.
 *
 * `argv` "migrate" applies migrations and exits (the Kubernetes migration Job uses it).
 */
export async function bootstrapService(
  appModule: Type<unknown>,
  options: ServiceOptions,
  argv: readonly string[] = process.argv.slice(2),
): Promise<BootstrapResult | undefined> {
  let settings: PlatformSettings;
  try {
    settings = loadPlatformSettings(options);
  } catch (error) {
    process.stderr.write(`${options.name}: cannot start.\n${(error as Error).message}\n`);
    process.exit(78); // EX_CONFIG
  }
  const logger = createLogger(options.name, settings.observability.LOG_LEVEL);

  if (argv[0] === 'migrate' || settings.service.DB_MIGRATE_ON_BOOT) {
    const applied = await migrateService(options, settings);
    logger.info({ applied, database: settings.service.DB_NAME }, 'migrations applied');
    if (argv[0] === 'migrate') return undefined;
  }

  let app: INestApplication;
  try {
    app = await NestFactory.create(appModule, { logger: new PinoNestLogger(logger), bufferLogs: true, abortOnError: false });
  } catch (error) {
    // A feature's own config namespace failed validation: same clear message, no stack trace.
    if ((error as Error).name === 'ConfigError') {
      process.stderr.write(`${options.name}: cannot start.\n${(error as Error).message}\n`);
      process.exit(78);
    }
    throw error;
  }
  // Our own signal handling instead of enableShutdownHooks: Nest re-raises the signal after close,
  // which makes a clean drain exit with 143; an orchestrator should see 0 for a graceful stop.
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      setTimeout(() => {
        logger.error({ timeoutMs: settings.service.SHUTDOWN_TIMEOUT_MS }, 'shutdown took too long; exiting');
        process.exit(1);
      }, settings.service.SHUTDOWN_TIMEOUT_MS).unref();
      app.close().then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
  }
  await app.listen(settings.service.HTTP_PORT, settings.service.HTTP_HOST);
  const url = `http://${settings.service.HTTP_HOST}:${settings.service.HTTP_PORT}`;
  logger.info({ url, health: `${url}/health`, metrics: `${url}/metrics` }, `${options.name} listening`);
  return { app, settings, url };
}
