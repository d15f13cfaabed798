import { Module } from '@nestjs/common';
import { Audiences, AuthModule } from '@tessera/platform-auth';
import { AuditModule } from '@tessera/platform-audit';
import { PlatformModule } from '@tessera/platform-service';
import type { ServiceOptions } from '@tessera/platform-service';
import { Hl7BatchController } from './batch/hl7-batch.controller';
import { Hl7BatchHandler } from './batch/hl7-batch.handler';
import { FhirBodyReader } from './fhir/fhir-body.reader';
import { FhirIngestHandler } from './fhir/fhir-ingest.handler';
import { FhirController } from './fhir/fhir.controller';
import { LedgerController } from './ledger/ledger.controller';
import { LedgerQueryService } from './ledger/ledger-query.service';
import { LedgerReplayService } from './ledger/ledger-replay.service';
import { LedgerRetentionService } from './ledger/ledger-retention.service';
import { GATEWAY_SETTINGS, loadGatewaySettings } from './gateway.config';
import { IngestHandler } from './ingest/ingest.handler';
import { InstitutionFacilityOrmEntity, InstitutionOrmEntity } from './institutions/institution.orm-entity';
import { InstitutionRegistry } from './institutions/institution.registry';
import { InstitutionsController } from './institutions/institutions.controller';
import { InstitutionTypeormRepository } from './institutions/institution.typeorm-repository';
import { LedgerWriterService } from './ledger/ledger-writer.service';
import { MapMessageHandler } from './mapping/map-message.handler';
import {
  DEFAULT_MAPPER_CONSUMER_OPTIONS,
  MAPPER_CONSUMER_OPTIONS,
  MapperConsumer,
} from './mapping/mapper.consumer';
import { migrations } from './migrations';
import { MllpListener } from './mllp/mllp.listener';

/** HL7v2/FHIR adapter: MLLP listeners, message ledger, ACKs, v2→FHIR mapping, FHIR ingest. */
export const serviceOptions: ServiceOptions = {
  name: 'interop-gateway',
  defaultHttpPort: 8081,
  defaultDatabase: 'tessera_gateway',
  entities: [InstitutionOrmEntity, InstitutionFacilityOrmEntity],
  migrations,
};

@Module({
  imports: [
    PlatformModule.forRoot(serviceOptions),
    // Operators (ledger, admin) and institutions (FHIR and HL7 batch uploads) call the gateway.
    AuthModule.forRoot({ audience: [Audiences.operator, Audiences.exchange] }),
    // Refused calls (401/403) become security-alert audit records.
    AuditModule.forRoot({}, { auditRejections: true }),
  ],
  controllers: [InstitutionsController, LedgerController, FhirController, Hl7BatchController],
  providers: [
    { provide: GATEWAY_SETTINGS, useFactory: () => loadGatewaySettings() },
    InstitutionTypeormRepository,
    InstitutionRegistry,
    LedgerWriterService,
    IngestHandler,
    Hl7BatchHandler,
    MllpListener,
    MapMessageHandler,
    { provide: MAPPER_CONSUMER_OPTIONS, useValue: DEFAULT_MAPPER_CONSUMER_OPTIONS },
    MapperConsumer,
    LedgerQueryService,
    LedgerReplayService,
    LedgerRetentionService,
    FhirBodyReader,
    FhirIngestHandler,
  ],
})
export class AppModule {}
