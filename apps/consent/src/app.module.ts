import { Module } from '@nestjs/common';
import { Audiences, AuthModule } from '@tessera/platform-auth';
import { PlatformModule } from '@tessera/platform-service';
import type { ServiceOptions } from '@tessera/platform-service';
import { AuditStoreModule } from './audit/audit-store.module';
import { ConsentModule } from './consent.module';
import { migrations } from './migrations';

/** Consent directives, decisions and break-the-glass; the audit store. */
export const serviceOptions: ServiceOptions = {
  name: 'consent',
  defaultHttpPort: 8083,
  defaultDatabase: 'tessera_consent',
  entities: [],
  migrations,
};

@Module({
  imports: [
    PlatformModule.forRoot(serviceOptions),
    // Every route needs a token except /health and /metrics: operators (tessera:operator) and the
    // exchange's service token (tessera:internal).
    AuthModule.forRoot({ audience: [Audiences.operator, Audiences.internal] }),
    ConsentModule,
    AuditStoreModule,
  ],
})
export class AppModule {}
