import { Module } from '@nestjs/common';
import { Audiences, AuthModule } from '@tessera/platform-auth';
import { AuditModule } from '@tessera/platform-audit';
import { loadConfig } from '@tessera/platform-config';
import { PlatformModule } from '@tessera/platform-service';
import type { ServiceOptions } from '@tessera/platform-service';
import { IdentityQueryService } from './identity/identity-query.service';
import { IdentityRepository } from './identity/identity.repository';
import { LinksController } from './links/links.controller';
import { LinkWriter } from './links/link-writer.service';
import { DEFAULT_MATCH_CONSUMER_OPTIONS, MATCH_CONSUMER_OPTIONS, MatchRecordConsumer } from './matching/match-record.consumer';
import { MatchRecordHandler } from './matching/match-record.handler';
import { MATCHING_PROFILE, matchingProfileOf } from './matching/rule-sets';
import { EnterpriseMergeHandler } from './merge/enterprise-merge.handler';
import { EnterpriseMergeRepository } from './merge/enterprise-merge.repository';
import { MergeController } from './merge/merge.controller';
import { migrations } from './migrations';
import { mpiConfig } from './mpi.config';
import { OperatorLinkHandler } from './operator/operator-link.handler';
import { OperatorController } from './operator/operator.controller';
import { PatientMatchHandler } from './pdq/patient-match.handler';
import { PdqController } from './pdq/pdq.controller';
import { PixController } from './pix/pix.controller';
import { RematchJobRepository } from './rematch/rematch-job.repository';
import { RematchJobRunner } from './rematch/rematch-job.runner';
import { RematchController } from './rematch/rematch.controller';
import { ReviewTaskDetailHandler } from './review/review-task-detail.handler';

/** Master patient index: source records, enterprise ids, links, review queue, PIXm/PDQm. */
export const serviceOptions: ServiceOptions = {
  name: 'mpi',
  defaultHttpPort: 8082,
  defaultDatabase: 'tessera_mpi',
  entities: [],
  migrations,
};

@Module({
  imports: [
    PlatformModule.forRoot(serviceOptions),
    // PIXm/PDQm/$match: the exchange's service token (tessera:internal); operator routes: role mpi.review (tessera:operator).
    AuthModule.forRoot({ audience: [Audiences.operator, Audiences.internal] }),
    // Refused calls (401/403) become security-alert audit records.
    AuditModule.forRoot({}, { auditRejections: true }),
  ],
  // PixController before PdqController: `Patient/$ihe-pix` is matched before the search route.
  controllers: [PixController, PdqController, LinksController, OperatorController, MergeController, RematchController],
  providers: [
    IdentityRepository,
    IdentityQueryService,
    LinkWriter,
    OperatorLinkHandler,
    EnterpriseMergeRepository,
    EnterpriseMergeHandler,
    PatientMatchHandler,
    ReviewTaskDetailHandler,
    RematchJobRepository,
    RematchJobRunner,
    // Region and rule set (MPI_* settings), validated at boot: a bad rule-set file stops the process.
    { provide: MATCHING_PROFILE, useFactory: () => matchingProfileOf(loadConfig(mpiConfig)) },
    MatchRecordHandler,
    { provide: MATCH_CONSUMER_OPTIONS, useValue: DEFAULT_MATCH_CONSUMER_OPTIONS },
    MatchRecordConsumer,
  ],
})
export class AppModule {}
