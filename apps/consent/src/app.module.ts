import { Module } from '@nestjs/common';
import { PlatformModule } from '@tessera/platform-service';
import type { ServiceOptions } from '@tessera/platform-service';
import { migrations } from './migrations';

/** Consent directives, decisions and break-the-glass; the audit store. */
export const serviceOptions: ServiceOptions = {
  name: 'consent',
  defaultHttpPort: 8083,
  defaultDatabase: 'tessera_consent',
  entities: [],
  migrations,
};

@Module({ imports: [PlatformModule.forRoot(serviceOptions)] })
export class AppModule {}
