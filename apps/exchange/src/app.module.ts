import { Module } from '@nestjs/common';
import { APP_FILTER, APP_INTERCEPTOR } from '@nestjs/core';
import { loadConfig } from '@tessera/platform-config';
import { AuditModule } from '@tessera/platform-audit';
import { Audiences, AUTH_REJECTION_LISTENER, AuthModule } from '@tessera/platform-auth';
import { PlatformModule } from '@tessera/platform-service';
import type { ServiceOptions } from '@tessera/platform-service';
import { ExchangeAudit } from './audit/exchange-audit.service';
import { RejectionAuditListener } from './audit/rejection-audit.listener';
import { TokenAuditListener } from './audit/token-audit.listener';
import { EXCHANGE_VERIFICATION_KEY, ExchangeAuthModule, TOKEN_AUDIT_HOOK } from './auth';
import { ExchangeRequestInterceptor } from './context/exchange-request.interceptor';
import { EXCHANGE_SETTINGS, exchangeConfig } from './exchange.config';
import type { ExchangeSettings } from './exchange.config';
import { ClinicalController } from './fhir/clinical.controller';
import { ConsentController } from './fhir/consent.controller';
import { PatientController } from './fhir/patient.controller';
import { BodyLimits } from './http/body-limits';
import { ExchangeExceptionFilter } from './http/exchange-exception.filter';
import { MetadataController } from './http/metadata.controller';
import { migrations } from './migrations';
import { NOTIFY_CONTROLLERS, NOTIFY_PROVIDERS } from './notify/notify.module';
import { AccessDecisionService } from './policy/access-decision.service';
import { ConsentCacheConsumer } from './policy/consent-cache.consumer';
import { PatientPolicyService } from './policy/patient-policy.service';
import {
  INSTITUTION_SYSTEMS,
  loadInstitutionSystems,
  loadRegionPolicy,
  REGION_POLICY,
} from './policy/region.provider';
import { MpiGateway } from './upstream/mpi.gateway';
import { SERVICE_TOKEN_SOURCE, UpstreamClient } from './upstream/upstream.client';
import type { ServiceTokenSource } from './upstream/upstream.client';
import { CONSENT_UPSTREAM, MPI_UPSTREAM, REGISTRY_UPSTREAM } from './upstream/upstream.tokens';

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

const settings = (): ExchangeSettings => loadConfig(exchangeConfig);

function upstream(name: 'mpi' | 'registry' | 'consent', pick: (s: ExchangeSettings) => string) {
  return {
    inject: [EXCHANGE_SETTINGS, SERVICE_TOKEN_SOURCE],
    useFactory: (s: ExchangeSettings, tokens: ServiceTokenSource) =>
      new UpstreamClient(name, pick(s), s.EXCHANGE_UPSTREAM_TIMEOUT_MS, tokens),
  };
}

@Module({
  imports: [
    PlatformModule.forRoot(serviceOptions),
    AuditModule.forRoot(),
    AuthModule.forRoot({
      audience: Audiences.exchange,
      extraInstitutionAudiences: [`${settings().EXCHANGE_PUBLIC_BASE_URL}/fhir`],
      verificationKey: EXCHANGE_VERIFICATION_KEY,
    }),
    ExchangeAuthModule,
  ],
  controllers: [
    MetadataController,
    PatientController,
    ClinicalController,
    ConsentController,
    ...NOTIFY_CONTROLLERS,
  ],
  providers: [
    BodyLimits,
    { provide: EXCHANGE_SETTINGS, useFactory: settings },
    {
      provide: REGION_POLICY,
      inject: [EXCHANGE_SETTINGS],
      useFactory: (s: ExchangeSettings) => loadRegionPolicy(s.EXCHANGE_REGION_POLICY_FILE),
    },
    {
      provide: INSTITUTION_SYSTEMS,
      inject: [EXCHANGE_SETTINGS],
      useFactory: (s: ExchangeSettings) => loadInstitutionSystems(s.EXCHANGE_INSTITUTIONS_FILE),
    },
    { provide: MPI_UPSTREAM, ...upstream('mpi', (s) => s.EXCHANGE_MPI_URL) },
    { provide: REGISTRY_UPSTREAM, ...upstream('registry', (s) => s.EXCHANGE_REGISTRY_URL) },
    { provide: CONSENT_UPSTREAM, ...upstream('consent', (s) => s.EXCHANGE_CONSENT_URL) },
    MpiGateway,
    PatientPolicyService,
    AccessDecisionService,
    ConsentCacheConsumer,
    ExchangeAudit,
    RejectionAuditListener,
    { provide: AUTH_REJECTION_LISTENER, useExisting: RejectionAuditListener },
    TokenAuditListener,
    { provide: TOKEN_AUDIT_HOOK, useExisting: TokenAuditListener },
    { provide: APP_FILTER, useClass: ExchangeExceptionFilter },
    { provide: APP_INTERCEPTOR, useClass: ExchangeRequestInterceptor },
    ...NOTIFY_PROVIDERS,
  ],
})
export class AppModule {}
