import { Module } from '@nestjs/common';
import { loadConfig } from '@tessera/platform-config';
import { Audiences, AuthModule } from '@tessera/platform-auth';
import { AuditModule } from '@tessera/platform-audit';
import { PlatformModule } from '@tessera/platform-service';
import type { ServiceOptions } from '@tessera/platform-service';
import { DOCUMENT_CONTENT_STORE } from './content/document-content.store';
import { PostgresDocumentContentStore } from './content/postgres-document-content.store';
import { IndexResourceHandler } from './indexing/index-resource.handler';
import { ItemLabeler } from './indexing/item-labeler';
import {
  DEFAULT_REGISTRY_CONSUMER_OPTIONS,
  REGISTRY_CONSUMER_OPTIONS,
  RegistryConsumer,
} from './indexing/registry.consumer';
import { LinkChangedHandler } from './links/link-changed.handler';
import { migrations } from './migrations';
import { RegistryQueryService } from './query/registry-query.service';
import { RegistrySearchController } from './query/registry-search.controller';
import { REGISTRY_SETTINGS, registryConfig } from './registry.config';

/** Encounter and document index per enterprise id, document content, referrals. */
export const serviceOptions: ServiceOptions = {
  name: 'document-registry',
  defaultHttpPort: 8084,
  defaultDatabase: 'tessera_registry',
  entities: [],
  migrations,
};

@Module({
  // Every route needs the exchange's service token except /health and /metrics (AuthGuard).
  imports: [
    PlatformModule.forRoot(serviceOptions),
    AuthModule.forRoot({ audience: Audiences.internal }),
    // Refused calls (401/403) become security-alert audit records.
    AuditModule.forRoot({}, { auditRejections: true }),
  ],
  controllers: [RegistrySearchController],
  providers: [
    { provide: REGISTRY_SETTINGS, useFactory: () => loadConfig(registryConfig) },
    ItemLabeler,
    RegistryQueryService,
    { provide: DOCUMENT_CONTENT_STORE, useClass: PostgresDocumentContentStore },
    IndexResourceHandler,
    LinkChangedHandler,
    { provide: REGISTRY_CONSUMER_OPTIONS, useValue: DEFAULT_REGISTRY_CONSUMER_OPTIONS },
    RegistryConsumer,
  ],
})
export class AppModule {}
