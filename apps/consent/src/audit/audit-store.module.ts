import { Module } from '@nestjs/common';
import { ConsumerGroups } from '@tessera/contracts';
import { AuditModule } from '@tessera/platform-audit';
import { loadConfig } from '@tessera/platform-config';
import { consentConfig } from '../consent.config';
import { AuditAppendHandler } from './audit-append.handler';
import { AuditEventController } from './audit-event.controller';
import { AuditQueryService } from './audit-query.service';
import { AUDIT_STORE_CONSUMER_OPTIONS, AuditStoreConsumer } from './audit-store.consumer';
import type { AuditStoreConsumerOptions } from './audit-store.consumer';

/**
 * The audit store of the consent service: consumer group `consent.audit` (hie.audit → the
 * hash-chained, append-only audit_events) and the FHIR AuditEvent search. Needs PlatformModule
 * and AuthModule in the app. CONSENT_GROUP_SUFFIX gives the group a suffix, as for the other
 * consent groups (`consent.audit.<suffix>`: tests, replays).
 */
@Module({
  // Refused calls (401/403) of the consent service become security-alert records too.
  imports: [AuditModule.forRoot({}, { auditRejections: true })],
  controllers: [AuditEventController],
  providers: [
    AuditAppendHandler,
    AuditQueryService,
    {
      provide: AUDIT_STORE_CONSUMER_OPTIONS,
      useFactory: (): AuditStoreConsumerOptions => {
        const suffix = loadConfig(consentConfig).CONSENT_GROUP_SUFFIX;
        const base = ConsumerGroups.consentAudit.id;
        return { groupId: suffix === undefined ? base : `${base}.${suffix}` };
      },
    },
    AuditStoreConsumer,
  ],
  exports: [AuditQueryService],
})
export class AuditStoreModule {}
