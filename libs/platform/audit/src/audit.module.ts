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
import { AUTH_REJECTION_LISTENER } from '@tessera/platform-auth';
import type { AuthRejection } from '@tessera/platform-auth';
import { AuditWriter } from './audit-writer';
import { rejectionAuditRecord } from './rejection-audit';
import type { AuditWriterOptions } from './audit-writer';

/** Drains after the consumers (10) and the outbox relay (20), before producers are closed. */
const AUDIT_DRAIN_STAGE = 25;

/**
 * Provides `AuditWriter` on the platform's EventProducer (PlatformModule must be imported).
 * `source` and `observer` default to the service's name.
 */
@Module({})
export class AuditModule {
  /**
   * `auditRejections`: also bind AUTH_REJECTION_LISTENER so every 401/403 of the auth guard is a
   * security-alert record (services without their own listener; the exchange has a richer one).
   */
  static forRoot(options: Partial<AuditWriterOptions> = {}, { auditRejections = false } = {}): DynamicModule {
    const rejectionListener = {
      provide: AUTH_REJECTION_LISTENER,
      inject: [AuditWriter],
      useFactory: (writer: AuditWriter) => (rejection: AuthRejection) => writer.recordDetached(rejectionAuditRecord(rejection)),
    };
    return {
      module: AuditModule,
      providers: [
        ...(auditRejections ? [rejectionListener] : []),
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
