import { Module } from '@nestjs/common';
import { PlatformModule } from '@tessera/platform-service';
import type { ServiceOptions } from '@tessera/platform-service';
import { migrations } from './migrations';

/**
 * The exchange API: the one FHIR R4 base URL institutions use. It authenticates them (SMART
 * Backend Services token endpoint), asks the consent policy, pushes the resulting visibility down
 * to the MPI and the registry, re-checks every item, and audits every request.
 */
export const serviceOptions: ServiceOptions = {
  name: 'exchange',
  defaultHttpPort: 8080,
  defaultDatabase: 'tessera_exchange',
  entities: [],
  migrations,
};

@Module({ imports: [PlatformModule.forRoot(serviceOptions)] })
export class AppModule {}
