import type { DynamicModule } from '@nestjs/common';
import { Module } from '@nestjs/common';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { EventProducer } from '@tessera/platform-kafka';
import {
  EVENT_PRODUCER,
  LifecycleService,
  LOGGER,
  METRICS_REGISTRY,
  SERVICE_OPTIONS,
} from '@tessera/platform-service';
import type { ServiceOptions } from '@tessera/platform-service';
import { AuditWriter } from './audit-writer';
import type { AuditWriterOptions } from './audit-writer';

/** Drains after the consumers (10) and the outbox relay (20), before producers are closed. */
const AUDIT_DRAIN_STAGE = 25;

/**
 * Provides `AuditWriter` on the platform's EventProducer (PlatformModule must be imported).
 * `source` and `observer` default to the service's name.
 */
@Module({})
export class AuditModule {
  static forRoot(options: Partial<AuditWriterOptions> = {}): DynamicModule {
    return {
      module: AuditModule,
      providers: [
        {
          provide: AuditWriter,
          inject: [EVENT_PRODUCER, SERVICE_OPTIONS, LOGGER, METRICS_REGISTRY, LifecycleService],
          useFactory: (
            producer: EventProducer,
            service: ServiceOptions,
            logger: Logger,
            registry: Registry,
            lifecycle: LifecycleService,
          ) => {
            const writer = new AuditWriter(
              producer,
              { source: `/tessera/${service.name}`, observer: service.name, ...options },
              logger,
              registry,
            );
            lifecycle.register({
              name: 'audit-writer',
              stage: AUDIT_DRAIN_STAGE,
              drain: () => writer.close(),
            });
            return writer;
          },
        },
      ],
      exports: [AuditWriter],
    };
  }
}
