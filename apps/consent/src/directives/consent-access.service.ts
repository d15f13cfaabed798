import { HttpStatus, Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { ConsentAnchor } from '@tessera/consent-policy';
import { OperationOutcomeException } from '@tessera/platform-service';
import type { ConsentCaller } from '../http/consent-caller';
import { ConsentLinkRepository, matchedEnterpriseId } from '../links/consent-link.repository';

type Queryable = Pick<EntityManager, 'query'>;

/** Recording consent needs an authenticated holding; reading also the institution's own record. */
export type AccessPurpose = 'record' | 'read';

/**
 * Which person a directive's anchor concerns and whether a caller may reach it: an institution may
 * record or look up consent only for a patient it holds (consent_links, README "Holding a record").
 */
@Injectable()
export class ConsentAccessService {
  constructor(private readonly links: ConsentLinkRepository) {}

  /** The enterprise id the anchor belongs to now (a source record: its MATCH link, if any). */
  async enterpriseIdOf(q: Queryable, anchor: ConsentAnchor): Promise<string | null> {
    if (anchor.kind === 'enterprise') return anchor.enterpriseId;
    return matchedEnterpriseId(await this.links.find(q, anchor.system, anchor.value));
  }

  /**
   * Same, for a transaction that writes a directive on the anchor: a source record's link row is
   * locked until commit, so a concurrent link move either waits and sees the directive (and raises
   * both persons' versions) or commits first and this transaction raises the new person's version.
   */
  async enterpriseIdForWrite(tx: EntityManager, anchor: ConsentAnchor): Promise<string | null> {
    if (anchor.kind === 'enterprise') return anchor.enterpriseId;
    return matchedEnterpriseId(await this.links.lockSource(tx, anchor.system, anchor.value));
  }

  /**
   * Whether the institution holds the patient of the anchor: a record of it MATCH-linked to the
   * same person that arrived authenticated (policy.holdingInstitutions). A source anchor must be the
   * institution's own record (`ownSource`); for `read` it counts however it arrived (the institution
   * may look at what hangs on its own record); recording consent needs an authenticated holding.
   */
  async holds(
    q: Queryable,
    institutionId: string,
    anchor: ConsentAnchor,
    purpose: AccessPurpose,
  ): Promise<boolean> {
    if (anchor.kind === 'source') {
      const row = await this.links.find(q, anchor.system, anchor.value);
      if (row?.institutionId !== institutionId) return false;
      if (purpose === 'read' || row.authenticated) return true;
      const eid = matchedEnterpriseId(row);
      return eid !== null && (await this.links.holdingInstitutions(q, eid)).includes(institutionId);
    }
    return (await this.links.holdingInstitutions(q, anchor.enterpriseId)).includes(institutionId);
  }

  /**
   * 403 unless the caller is regional or its institution holds the patient. An institution names a
   * patient by enterprise id or by one of its own source records: another institution's record
   * identifier is refused whether or not it exists, so the answer never confirms whose MRN it is.
   */
  async assertMayAccess(
    q: Queryable,
    caller: ConsentCaller,
    anchor: ConsentAnchor,
    purpose: AccessPurpose,
  ): Promise<void> {
    if (caller.kind === 'regional') return;
    if (anchor.kind === 'source') {
      const row = await this.links.find(q, anchor.system, anchor.value);
      if (row?.institutionId !== caller.institutionId) {
        throw new OperationOutcomeException(HttpStatus.FORBIDDEN, [
          {
            code: 'forbidden',
            diagnostics:
              "Consent.patient names a source record the requesting institution did not send. Name the patient by enterprise id (Patient/<id>) or by the institution's own identifier (system|value of a record it sent).",
          },
        ]);
      }
    }
    if (await this.holds(q, caller.institutionId, anchor, purpose)) return;
    throw new OperationOutcomeException(HttpStatus.FORBIDDEN, [
      {
        code: 'forbidden',
        diagnostics:
          'The requesting institution holds no record of this patient that arrived from an authenticated sender, so it may not record or read their consent. Send the patient to the exchange over an authenticated feed first (ADT/Patient).',
      },
    ]);
  }
}
