import { Module } from '@nestjs/common';
import { PlatformModule } from '@tessera/platform-service';
import type { ServiceOptions } from '@tessera/platform-service';
import { IdentityQueryService } from './identity/identity-query.service';
import { IdentityRepository } from './identity/identity.repository';
import { LinksController } from './links/links.controller';
import { LinkWriter } from './links/link-writer.service';
import { DEFAULT_MATCH_CONSUMER_OPTIONS, MATCH_CONSUMER_OPTIONS, MatchRecordConsumer } from './matching/match-record.consumer';
import { MatchRecordHandler } from './matching/match-record.handler';
import { migrations } from './migrations';
import { OperatorLinkHandler } from './operator/operator-link.handler';
import { OperatorController } from './operator/operator.controller';
import { PatientMatchHandler } from './pdq/patient-match.handler';
import { PdqController } from './pdq/pdq.controller';
import { PixController } from './pix/pix.controller';

/** Master patient index: source records, enterprise ids, links, review queue, PIXm/PDQm. */
export const serviceOptions: ServiceOptions = {
  name: 'mpi',
  defaultHttpPort: 8082,
  defaultDatabase: 'tessera_mpi',
  entities: [],
  migrations,
};

@Module({
  imports: [PlatformModule.forRoot(serviceOptions)],
  // PixController before PdqController: `Patient/$ihe-pix` is matched before the search route.
  controllers: [PixController, PdqController, LinksController, OperatorController],
  providers: [
    IdentityRepository,
    IdentityQueryService,
    LinkWriter,
    OperatorLinkHandler,
    PatientMatchHandler,
    MatchRecordHandler,
    { provide: MATCH_CONSUMER_OPTIONS, useValue: DEFAULT_MATCH_CONSUMER_OPTIONS },
    MatchRecordConsumer,
  ],
})
export class AppModule {}
