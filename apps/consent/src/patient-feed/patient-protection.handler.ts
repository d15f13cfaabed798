import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { isAuthenticatedSender } from '@tessera/contracts';
import type { Patient, SenderAuthentication } from '@tessera/contracts';
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
  /** How the gateway authenticated the sender (absent = 'none'). */
  readonly senderAuthentication?: SenderAuthentication | undefined;
}

/** What PD1-12 asks of the feed-managed directive of a source record. */
export type ProtectionAction = 'activate' | 'deactivate' | 'none';

/**
 * PD1-12 (protection indicator, mapped to a Patient extension by libs/v2-fhir): `Y` (true) → an
 * active opt-out anchored on the source record; `N` or the explicit null `""` (false) → that
 * directive inactive. A message without PD1 or with PD1-12 empty carries no extension: in HL7 v2
 * (v2.5.1 §2.5.3 "null values") an empty field means "no information, no change", so it changes
 * nothing. `mayWithdraw` is false when the message is less trusted than the record (an
 * unauthenticated sender on a record that arrived authenticated): it may add an opt-out, never lift
 * one. Only HL7 v2 feeds carry PD1: a FHIR feed's Patient leaves the feed-managed directive alone.
 */
export function protectionAction(
  channel: PatientFromFeed['channel'],
  indicator: boolean | undefined,
  current: ConsentDirective['status'] | undefined,
  mayWithdraw = true,
): ProtectionAction {
  if (channel !== 'hl7v2' || indicator === undefined) return 'none';
  if (indicator) return current === 'active' ? 'none' : 'activate';
  return current === 'active' && mayWithdraw ? 'deactivate' : 'none';
}

/**
 * hie.patient (PatientUpserted) for the consent service: records which institution holds the
 * source record and whether it arrived authenticated (consent_links), and applies PD1-12. A message
 * from an institution other than the record's (or the directive's recorder) changes nothing.
 * Returns the enterprise ids whose policy version was raised.
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
    const authenticated = isAuthenticatedSender(input.senderAuthentication);
    const { before, accepted } = await this.links.writeInstitution(
      tx,
      system,
      value,
      input.institutionId,
      authenticated,
    );
    if (!accepted) return [];
    const eid = matchedEnterpriseId(before);
    const bumped = new Set<string>();

    // The record now earns holder powers: the person's holding institutions changed.
    const wasHolding = before?.institutionId === input.institutionId && before.authenticated;
    if (eid !== null && authenticated && !wasHolding && (await this.versions.known(tx, [eid])).length > 0) {
      for (const c of await this.changes.record(tx, [eid], 'link')) bumped.add(c.enterpriseId);
    }

    const stored = await this.directives.findHl7v2(tx, system, value);
    if (stored !== undefined && stored.owner !== input.institutionId) return [...bumped];
    const mayWithdraw = authenticated || !(before?.authenticated ?? false);
    const action = protectionAction(
      input.channel,
      protectionIndicatorOf(input.patient),
      stored?.directive.status,
      mayWithdraw,
    );
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
            recordedAt: now,
          };
    const resource = toFhirConsent(directive);
    const revision = { revisedBy: `feed:${input.institutionId}` };
    if (stored === undefined)
      await this.directives.insert(tx, directive, resource, input.institutionId, revision);
    else await this.directives.update(tx, directive, resource, revision);
    if (eid !== null) {
      for (const c of await this.changes.record(tx, [eid], 'directive', directive.id))
        bumped.add(c.enterpriseId);
    }
    return [...bumped];
  }
}
