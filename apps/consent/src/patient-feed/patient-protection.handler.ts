import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { Patient } from '@tessera/contracts';
import { toFhirConsent } from '@tessera/consent-policy';
import type { ConsentDirective } from '@tessera/consent-policy';
import { protectionIndicatorOf } from '@tessera/v2-fhir';
import { DirectiveRepository } from '../directives/directive.repository';
import { ConsentLinkRepository, matchedEnterpriseId } from '../links/consent-link.repository';
import { PolicyChangeWriter } from '../policy/policy-change.writer';
import { PolicyVersionRepository } from '../policy/policy-version.repository';

export interface PatientFromFeed {
  readonly institutionId: string;
  readonly patientSystem: string;
  readonly localPatientId: string;
  readonly channel: 'hl7v2' | 'fhir';
  readonly patient: Patient;
}

/** What PD1-12 asks of the feed-managed directive of a source record. */
export type ProtectionAction = 'activate' | 'deactivate' | 'none';

/**
 * PD1-12 `Y` → an active opt-out anchored on the source record; `N`, or no indicator after a `Y`,
 * → that directive inactive (design "Consent service API", HL7v2). Only HL7 v2 feeds carry PD1:
 * a FHIR feed's Patient leaves the feed-managed directive alone.
 */
export function protectionAction(
  channel: PatientFromFeed['channel'],
  indicator: boolean | undefined,
  current: ConsentDirective['status'] | undefined,
): ProtectionAction {
  if (channel !== 'hl7v2') return 'none';
  if (indicator === true) return current === 'active' ? 'none' : 'activate';
  return current === 'active' ? 'deactivate' : 'none';
}

/**
 * hie.patient (PatientUpserted) for the consent service: records which institution holds the
 * source record (consent_links.institution_id) and applies PD1-12. Returns the enterprise ids whose
 * policy version was raised.
 */
@Injectable()
export class PatientProtectionHandler {
  constructor(
    private readonly links: ConsentLinkRepository,
    private readonly directives: DirectiveRepository,
    private readonly versions: PolicyVersionRepository,
    private readonly changes: PolicyChangeWriter,
  ) {}

  async apply(input: PatientFromFeed, tx: EntityManager): Promise<string[]> {
    const { patientSystem: system, localPatientId: value } = input;
    const before = await this.links.writeInstitution(tx, system, value, input.institutionId);
    const eid = matchedEnterpriseId(before);
    const bumped = new Set<string>();

    // A linked record's holder became known: the person's holding institutions changed.
    if (eid !== null && before?.institutionId !== input.institutionId && (await this.versions.known(tx, [eid])).length > 0) {
      for (const c of await this.changes.record(tx, [eid], 'link')) bumped.add(c.enterpriseId);
    }

    const stored = await this.directives.findHl7v2(tx, system, value);
    const action = protectionAction(input.channel, protectionIndicatorOf(input.patient), stored?.directive.status);
    if (action === 'none') return [...bumped];

    const now = new Date().toISOString();
    const directive: ConsentDirective =
      stored === undefined
        ? {
            id: randomUUID(),
            version: 1,
            status: 'active',
            anchor: { kind: 'source', system, value },
            base: 'deny',
            provisions: [],
            recordedBy: input.institutionId,
            recordedAt: now,
            source: 'hl7v2',
          }
        : {
            ...stored.directive,
            version: stored.directive.version + 1,
            status: action === 'activate' ? 'active' : 'inactive',
            recordedBy: input.institutionId,
            recordedAt: now,
          };
    const resource = toFhirConsent(directive);
    if (stored === undefined) await this.directives.insert(tx, directive, resource);
    else await this.directives.update(tx, directive, resource);
    if (eid !== null) {
      for (const c of await this.changes.record(tx, [eid], 'directive', directive.id)) bumped.add(c.enterpriseId);
    }
    return [...bumped];
  }
}
