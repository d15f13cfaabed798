import { Module } from '@nestjs/common';
import { AuditModule } from '@tessera/platform-audit';
import { AuditAppendHandler } from './audit-append.handler';
import { AuditEventController } from './audit-event.controller';
import { AuditQueryService } from './audit-query.service';
import {
  AUDIT_STORE_CONSUMER_OPTIONS,
  AuditStoreConsumer,
  DEFAULT_AUDIT_STORE_CONSUMER_OPTIONS,
} from './audit-store.consumer';

/**
 * The audit store of the consent service: consumer group `consent.audit` (hie.audit → the
 * hash-chained, append-only audit_events) and the FHIR AuditEvent search. Needs PlatformModule
 * and AuthModule in the app.
 */
@Module({
  imports: [AuditModule.forRoot()],
  controllers: [AuditEventController],
  providers: [
    AuditAppendHandler,
    AuditQueryService,
    { provide: AUDIT_STORE_CONSUMER_OPTIONS, useValue: DEFAULT_AUDIT_STORE_CONSUMER_OPTIONS },
    AuditStoreConsumer,
  ],
  exports: [AuditQueryService],
})
export class AuditStoreModule {}
