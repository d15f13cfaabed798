import { Module } from '@nestjs/common';
import { AuditModule } from '@tessera/platform-audit';
import { loadConfig } from '@tessera/platform-config';
import { BreakGlassController } from './break-glass/break-glass.controller';
import { BreakGlassHandler } from './break-glass/break-glass.handler';
import { BreakGlassRepository } from './break-glass/break-glass.repository';
import { loadRegionPolicy, REGION_POLICY } from './break-glass/region-policy.provider';
import { CONSENT_SETTINGS, consentConfig } from './consent.config';
import type { ConsentSettings } from './consent.config';
import { ConsentAccessService } from './directives/consent-access.service';
import { ConsentDirectiveHandler } from './directives/consent-directive.handler';
import { ConsentController } from './directives/consent.controller';
import { ConsentReviewController } from './directives/consent-review.controller';
import { ConsentReviewHandler } from './directives/consent-review.handler';
import { DirectiveRepository } from './directives/directive.repository';
import { ConsentLinkRepository } from './links/consent-link.repository';
import { CONSENT_CONSUMER_OPTIONS, ConsentLinksConsumer } from './links/consent-links.consumer';
import type { ConsentConsumerOptions } from './links/consent-links.consumer';
import { LinkChangedHandler } from './links/link-changed.handler';
import { ConsentPatientConsumer } from './patient-feed/consent-patient.consumer';
import { PatientProtectionHandler } from './patient-feed/patient-protection.handler';
import { InternalPolicyController } from './policy/internal-policy.controller';
import { PatientPolicyService } from './policy/patient-policy.service';
import { PolicyCachePublisher } from './policy/policy-cache.publisher';
import { PolicyChangeWriter } from './policy/policy-change.writer';
import { PolicyVersionRepository } from './policy/policy-version.repository';
import { PatternWatchConsumer } from './watch/pattern-watch.consumer';
import { PatternWatchHandler } from './watch/pattern-watch.handler';
import { PrivacyAlertController } from './watch/privacy-alert.controller';
import { PrivacyAlertHandler } from './watch/privacy-alert.handler';
import { WatchRepository } from './watch/watch.repository';

/**
 * Consent directives (FHIR Consent API) and the privacy review of permits institutions record, the policy per person for the exchange, break-the-glass
 * and privacy reviews, the consumers of hie.mpi.link and hie.patient, and the privacy officer's
 * watch (hie.mpi.link + hie.audit → privacy alerts).
 */
@Module({
  // Privacy officers' overrides and refused cross-institution attempts are audited (hie.audit).
  imports: [AuditModule.forRoot()],
  controllers: [
    ConsentController,
    ConsentReviewController,
    InternalPolicyController,
    BreakGlassController,
    PrivacyAlertController,
  ],
  providers: [
    { provide: CONSENT_SETTINGS, useFactory: () => loadConfig(consentConfig) },
    {
      provide: REGION_POLICY,
      inject: [CONSENT_SETTINGS],
      useFactory: (settings: ConsentSettings) => loadRegionPolicy(settings),
    },
    {
      provide: CONSENT_CONSUMER_OPTIONS,
      inject: [CONSENT_SETTINGS],
      useFactory: (settings: ConsentSettings): ConsentConsumerOptions => ({
        groupSuffix: settings.CONSENT_GROUP_SUFFIX,
      }),
    },
    PolicyVersionRepository,
    PolicyChangeWriter,
    PolicyCachePublisher,
    PatientPolicyService,
    ConsentLinkRepository,
    DirectiveRepository,
    ConsentAccessService,
    ConsentDirectiveHandler,
    ConsentReviewHandler,
    BreakGlassRepository,
    BreakGlassHandler,
    LinkChangedHandler,
    ConsentLinksConsumer,
    PatientProtectionHandler,
    ConsentPatientConsumer,
    WatchRepository,
    PatternWatchHandler,
    PatternWatchConsumer,
    PrivacyAlertHandler,
  ],
})
export class ConsentModule {}
