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
  /** When the source message was created (MSH-7, else the gateway's receipt); absent = unknown. */
  readonly messageTime?: string | undefined;
}

/** What PD1-12 asks of the feed-managed directive of a source record. */
export type ProtectionAction = 'activate' | 'deactivate' | 'none';

export interface ProtectionInput {
  readonly channel: PatientFromFeed['channel'];
  /** The PD1-12 extension: true (Y), false (N or ""), undefined (no PD1 / empty PD1-12). */
  readonly indicator: boolean | undefined;
  /** Status of the feed-managed directive of the record; undefined when there is none. */
  readonly current: ConsentDirective['status'] | undefined;
  /**
   * False when the message is less trusted than the record: its sender was not authenticated and
   * the record arrived authenticated. Default true.
   */
  readonly trusted?: boolean;
  /** When the message was created (MSH-7, else when the gateway received it); undefined: unknown. */
  readonly messageTime?: string | undefined;
  /** The newest message time the directive reflects; undefined: none recorded. */
  readonly lastMessageTime?: string | undefined;
}

/** Compares two ISO instants: negative, zero or positive; undefined when either is unknown. */
function compareInstants(a: string | undefined, b: string | undefined): number | undefined {
  if (a === undefined || b === undefined) return undefined;
  const left = Date.parse(a);
  const right = Date.parse(b);
  return Number.isNaN(left) || Number.isNaN(right) ? undefined : left - right;
}

/**
 * PD1-12 (protection indicator, mapped to a Patient extension by libs/v2-fhir): `Y` (true) → an
 * active opt-out anchored on the source record; `N` or the explicit null `""` (false) → that
 * directive inactive. A message without PD1 or with PD1-12 empty carries no extension: in HL7 v2
 * (v2.5.1 §2.5.3 "null values") an empty field means "no information, no change", so it changes
 * nothing. A message less trusted than the record (an unauthenticated sender on a record that
 * arrived authenticated) changes nothing. Only HL7 v2 feeds carry PD1: a FHIR feed's Patient leaves
 * the feed-managed directive alone.
 *
 * Message order: a message older than the newest one the directive reflects (a replay from the
 * ledger, or a late retransmission) changes nothing. When the order cannot be told (equal times, or
 * the message's time unknown while the directive's is known) the message may add or restore an
 * opt-out but never lifts one. A directive with no recorded time (kept from before times were
 * recorded) is changed as any message says.
 */
export function protectionAction(input: ProtectionInput): ProtectionAction {
  const { channel, indicator, current, trusted = true } = input;
  if (channel !== 'hl7v2' || indicator === undefined || !trusted) return 'none';
  const order =
    input.lastMessageTime === undefined ? 1 : compareInstants(input.messageTime, input.lastMessageTime);
  if (order !== undefined && order < 0) return 'none';
  if (indicator) return current === 'active' ? 'none' : 'activate';
  const newer = order !== undefined && order > 0;
  return current === 'active' && newer ? 'deactivate' : 'none';
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
    // Less trusted than the record: an unauthenticated sender on a record that arrived authenticated.
    const trusted = authenticated || !(before?.authenticated ?? false);
    const indicator = protectionIndicatorOf(input.patient);
    const action = protectionAction({
      channel: input.channel,
      indicator,
      current: stored?.directive.status,
      trusted,
      messageTime: input.messageTime,
      lastMessageTime: stored?.feedMessageTime,
    });
    // The directive reflects the newest message that stated PD1-12, even one that changed nothing
    // (a Y confirming an active opt-out): an older N replayed later must not lift it.
    const stated = trusted && input.channel === 'hl7v2' && indicator !== undefined;
    if (action === 'none' && stated && stored !== undefined && input.messageTime !== undefined)
      await this.directives.recordFeedMessageTime(tx, stored.directive.id, input.messageTime);
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
    if (input.messageTime !== undefined)
      await this.directives.recordFeedMessageTime(tx, directive.id, input.messageTime);
    if (eid !== null) {
      for (const c of await this.changes.record(tx, [eid], 'directive', directive.id))
        bumped.add(c.enterpriseId);
    }
    return [...bumped];
  }
}
