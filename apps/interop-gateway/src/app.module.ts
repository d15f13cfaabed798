import { Module } from '@nestjs/common';
import { PlatformModule } from '@tessera/platform-service';
import type { ServiceOptions } from '@tessera/platform-service';
import { migrations } from './migrations';

/** HL7v2/FHIR adapter: MLLP listeners, message ledger, ACKs, v2→FHIR mapping, FHIR ingest. */
export const serviceOptions: ServiceOptions = {
  name: 'interop-gateway',
  defaultHttpPort: 8081,
  defaultDatabase: 'tessera_gateway',
  entities: [],
  migrations,
};

@Module({ imports: [PlatformModule.forRoot(serviceOptions)] })
export class AppModule {}
