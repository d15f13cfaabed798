import { Module } from '@nestjs/common';
import { PlatformModule } from '@tessera/platform-service';
import type { ServiceOptions } from '@tessera/platform-service';
import { migrations } from './migrations';

/** Encounter and document index per enterprise id, document content, referrals. */
export const serviceOptions: ServiceOptions = {
  name: 'document-registry',
  defaultHttpPort: 8084,
  defaultDatabase: 'tessera_registry',
  entities: [],
  migrations,
};

@Module({ imports: [PlatformModule.forRoot(serviceOptions)] })
export class AppModule {}
