import { z } from 'zod';
import { bool, csv, defineConfig, port, positiveInt } from './define-config';

/** Postgres connection shared by all services; each service names its own database. */
export const postgresConfig = defineConfig(
  'postgres',
  z.object({
    PGHOST: z.string().default('127.0.0.1').describe('Postgres host name or address'),
    PGPORT: port(5432, 'Postgres port'),
    PGUSER: z.string().default('postgres').describe('Postgres user name'),
    PGPASSWORD: z.string().optional().describe('Postgres password (optional with trust auth)'),
    PG_POOL_SIZE: positiveInt(10, 'Postgres connection pool size per service'),
  }),
);

export const redisConfig = defineConfig(
  'redis',
  z.object({
    REDIS_URL: z
      .string()
      .regex(/^rediss?:\/\//, 'must start with redis:// or rediss://')
      .default('redis://127.0.0.1:6379')
      .describe('a Redis URL such as redis://127.0.0.1:6379'),
  }),
);

export const kafkaConfig = defineConfig(
  'kafka',
  z.object({
    KAFKA_BROKERS: csv('127.0.0.1:9092', 'Kafka bootstrap brokers (host:port,...)'),
    KAFKA_TOPIC_PARTITIONS: positiveInt(6, 'partitions per topic created at platform start'),
    KAFKA_REPLICATION_FACTOR: positiveInt(1, 'replication factor of created topics (3 in production)'),
    KAFKA_RETRY_ATTEMPTS: positiveInt(3, 'delivery attempts through the retry topic before a record goes to its DLQ'),
    KAFKA_RETRY_BACKOFF_MS: positiveInt(1000, 'first retry delay in milliseconds (doubles per attempt)'),
    KAFKA_GROUP_SUFFIX: z
      .string()
      .regex(/^[A-Za-z0-9._-]{0,60}$/, 'letters, digits, dot, dash or underscore, at most 60')
      .default('')
      .describe(
        'appended to every consumer group id as "<group>.<suffix>" (a second copy of the platform on one broker: tests, replays into a fresh database); empty in production',
      ),
    KAFKA_GROUP_START: z
      .enum(['earliest', 'latest'])
      .default('earliest')
      .describe('where a consumer group without committed offsets starts: earliest (replay, the default) or latest'),
  }),
);

export const observabilityConfig = defineConfig(
  'observability',
  z.object({
    LOG_LEVEL: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default('info')
      .describe('one of fatal, error, warn, info, debug, trace, silent'),
    OTEL_EXPORTER_OTLP_ENDPOINT: z
      .url()
      .optional()
      .describe('OTLP/HTTP collector base URL, e.g. http://127.0.0.1:4318 (unset: tracing is free, nothing exported)'),
    OTEL_SDK_DISABLED: bool(false, 'disable the OpenTelemetry SDK entirely'),
  }),
);
