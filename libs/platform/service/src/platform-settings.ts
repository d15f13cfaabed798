import {
  kafkaConfig,
  loadConfig,
  observabilityConfig,
  postgresConfig,
  redisConfig,
} from '@tessera/platform-config';
import type { Env } from '@tessera/platform-config';
import type { MixedList } from 'typeorm';
import type { z } from 'zod';
import { serviceConfig } from './service.config';
import type { ServiceSettings } from './service.config';

export interface ServiceOptions {
  /** Service name as it appears in logs, traces, metrics and Kafka client ids, e.g. "mpi". */
  readonly name: string;
  readonly defaultHttpPort: number;
  readonly defaultDatabase: string;
  readonly entities: MixedList<string | (new () => unknown)>;
  readonly migrations: MixedList<string | (new () => unknown)>;
}

export interface PlatformSettings {
  readonly service: ServiceSettings;
  readonly postgres: z.output<(typeof postgresConfig)['schema']>;
  readonly redis: z.output<(typeof redisConfig)['schema']>;
  readonly kafka: z.output<(typeof kafkaConfig)['schema']>;
  readonly observability: z.output<(typeof observabilityConfig)['schema']>;
}

/**
 * Reads every platform namespace once, at boot. A ConfigError from any of them stops the service
 * with a message naming each bad variable (see bootstrapService).
 */
export function loadPlatformSettings(options: ServiceOptions, env?: Env): PlatformSettings {
  if (env === undefined) {
    const cached = cache.get(options.name);
    if (cached !== undefined) return cached;
  }
  const settings = readSettings(options, env);
  if (env === undefined) cache.set(options.name, settings);
  return settings;
}

/** Settings are read once per process; providers that need them share this copy. */
const cache = new Map<string, PlatformSettings>();

function readSettings(options: ServiceOptions, env: Env | undefined): PlatformSettings {
  const errors: Error[] = [];
  const attempt = <T>(load: () => T): T | undefined => {
    try {
      return load();
    } catch (error) {
      errors.push(error as Error);
      return undefined;
    }
  };
  const service = attempt(() =>
    loadConfig(serviceConfig({ httpPort: options.defaultHttpPort, database: options.defaultDatabase }), env),
  );
  const postgres = attempt(() => loadConfig(postgresConfig, env));
  const redis = attempt(() => loadConfig(redisConfig, env));
  const kafka = attempt(() => loadConfig(kafkaConfig, env));
  const observability = attempt(() => loadConfig(observabilityConfig, env));
  if (errors.length > 0) {
    const combined = new Error(errors.map((e) => e.message).join('\n'));
    combined.name = 'ConfigError';
    throw combined;
  }
  return { service: service!, postgres: postgres!, redis: redis!, kafka: kafka!, observability: observability! };
}
