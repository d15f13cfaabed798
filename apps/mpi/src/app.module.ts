import { Module } from '@nestjs/common';
import { PlatformModule } from '@tessera/platform-service';
import type { ServiceOptions } from '@tessera/platform-service';
import { migrations } from './migrations';

/** Master patient index: source records, enterprise ids, links, review queue, PIXm/PDQm. */
export const serviceOptions: ServiceOptions = {
  name: 'mpi',
  defaultHttpPort: 8082,
  defaultDatabase: 'tessera_mpi',
  entities: [],
  migrations,
};

@Module({ imports: [PlatformModule.forRoot(serviceOptions)] })
export class AppModule {}
