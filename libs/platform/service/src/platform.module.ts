import type { DynamicModule } from '@nestjs/common';
import { Global, Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { logLevel } from 'kafkajs';
import type { Admin, Kafka } from 'kafkajs';
import { createKafka, EventProducer } from '@tessera/platform-kafka';
import { OutboxWriter } from '@tessera/platform-outbox';
import { HealthRegistry } from './health.registry';
import { MessagingService } from './messaging.service';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from '@tessera/platform-persistence';
import { createLogger, createMetricsRegistry } from '@tessera/platform-observability';
import { connectRedis } from '@tessera/platform-redis';
import type { RedisClient } from '@tessera/platform-redis';
import { HealthController } from './health.controller';
import { HttpMetricsInterceptor } from './http-metrics.interceptor';
import { LifecycleService } from './lifecycle.service';
import { loadPlatformSettings } from './platform-settings';
import type { PlatformSettings, ServiceOptions } from './platform-settings';
import {
  EVENT_PRODUCER,
  KAFKA,
  KAFKA_ADMIN,
  LOGGER,
  METRICS_REGISTRY,
  PLATFORM_SETTINGS,
  REDIS_CLIENT,
  SERVICE_OPTIONS,
} from './tokens';

/**
 * Everything a Tessera service stands on: validated settings, logger, metrics, its own Postgres
 * database (TypeORM, migrations only), Redis, Kafka, `/health` and `/metrics`, ordered shutdown.
 */
const PLATFORM_HEALTH_CHECKS = Symbol('PLATFORM_HEALTH_CHECKS');

@Global()
@Module({})
export class PlatformModule {
  static forRoot(options: ServiceOptions): DynamicModule {
    return {
      module: PlatformModule,
      imports: [
        TypeOrmModule.forRootAsync({
          inject: [PLATFORM_SETTINGS],
          extraProviders: [
            { provide: SERVICE_OPTIONS, useValue: options },
            { provide: PLATFORM_SETTINGS, useFactory: () => loadPlatformSettings(options) },
          ],
          useFactory: (settings: PlatformSettings) => ({
            ...dataSourceOptions({
              settings: settings.postgres,
              database: settings.service.DB_NAME,
              entities: options.entities,
              migrations: options.migrations,
              applicationName: options.name,
            }),
            retryAttempts: 2,
            retryDelay: 1_000,
          }),
          dataSourceFactory: async (typeormOptions) => {
            if (typeormOptions === undefined) throw new Error('TypeORM options missing');
            return new DataSource(typeormOptions).initialize();
          },
        }),
      ],
      controllers: [HealthController],
      providers: [
        { provide: SERVICE_OPTIONS, useValue: options },
        { provide: PLATFORM_SETTINGS, useFactory: () => loadPlatformSettings(options) },
        {
          provide: LOGGER,
          inject: [PLATFORM_SETTINGS],
          useFactory: (s: PlatformSettings) => createLogger(options.name, s.observability.LOG_LEVEL),
        },
        { provide: METRICS_REGISTRY, useFactory: () => createMetricsRegistry(options.name) },
        LifecycleService,
        {
          provide: REDIS_CLIENT,
          inject: [PLATFORM_SETTINGS, LOGGER, LifecycleService],
          useFactory: async (s: PlatformSettings, logger: Logger, lifecycle: LifecycleService) => {
            const client = await connectRedis(
              s.redis,
              (error) => logger.warn({ component: 'redis', err: error }, 'redis connection error'),
              `tessera-${options.name}`,
            );
            lifecycle.onClose('redis', async () => {
              await client.close();
            });
            return client;
          },
        },
        {
          provide: KAFKA,
          inject: [PLATFORM_SETTINGS, LOGGER],
          useFactory: (s: PlatformSettings, logger: Logger) =>
            createKafka(s.kafka, { clientId: `tessera-${options.name}`, logger, logLevel: logLevel.WARN }),
        },
        {
          provide: KAFKA_ADMIN,
          inject: [KAFKA, LifecycleService],
          useFactory: async (kafka: Kafka, lifecycle: LifecycleService) => {
            const admin = kafka.admin();
            await admin.connect();
            lifecycle.onClose('kafka-admin', () => admin.disconnect());
            return admin;
          },
        },
        HealthRegistry,
        {
          provide: EVENT_PRODUCER,
          inject: [KAFKA, LOGGER, LifecycleService],
          useFactory: async (kafka: Kafka, logger: Logger, lifecycle: LifecycleService) => {
            const producer = new EventProducer(kafka, { logger });
            await producer.connect();
            lifecycle.onClose('kafka-producer', () => producer.disconnect());
            return producer;
          },
        },
        OutboxWriter,
        MessagingService,
        {
          // Registers the platform's own checks once its clients exist.
          provide: PLATFORM_HEALTH_CHECKS,
          inject: [HealthRegistry, DataSource, REDIS_CLIENT, KAFKA_ADMIN],
          useFactory: (registry: HealthRegistry, dataSource: DataSource, redis: RedisClient, admin: Admin) => {
            registry.add({ name: 'postgres', check: async () => void (await dataSource.query('SELECT 1')) });
            registry.add({
              name: 'redis',
              check: async () => {
                if ((await redis.ping()) !== 'PONG') throw new Error('unexpected PING reply');
              },
            });
            registry.add({
              name: 'kafka',
              check: async () => {
                const cluster = await admin.describeCluster();
                if (cluster.brokers.length === 0) throw new Error('no brokers in cluster metadata');
              },
            });
            return true;
          },
        },
        { provide: APP_INTERCEPTOR, useClass: HttpMetricsInterceptor },
      ],
      exports: [
        SERVICE_OPTIONS,
        PLATFORM_SETTINGS,
        LOGGER,
        METRICS_REGISTRY,
        REDIS_CLIENT,
        KAFKA,
        KAFKA_ADMIN,
        EVENT_PRODUCER,
        HealthRegistry,
        LifecycleService,
        MessagingService,
        OutboxWriter,
      ],
    };
  }
}
