import { HttpStatus, Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { ConsentAnchor } from '@tessera/consent-policy';
import { OperationOutcomeException } from '@tessera/platform-service';
import type { ConsentCaller } from '../http/consent-caller';
import { ConsentLinkRepository, matchedEnterpriseId } from '../links/consent-link.repository';

type Queryable = Pick<EntityManager, 'query'>;

/**
 * Which person a directive's anchor concerns and whether a caller may see it: an institution may
 * record or read consent only for a patient it holds a source record of (consent_links).
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

  async holds(q: Queryable, institutionId: string, anchor: ConsentAnchor): Promise<boolean> {
    if (anchor.kind === 'source') {
      const row = await this.links.find(q, anchor.system, anchor.value);
      if (row?.institutionId === institutionId) return true;
      const eid = matchedEnterpriseId(row);
      return eid !== null && (await this.links.holdingInstitutions(q, eid)).includes(institutionId);
    }
    return (await this.links.holdingInstitutions(q, anchor.enterpriseId)).includes(institutionId);
  }

  /** 403 unless the caller is regional or its institution holds the patient. */
  async assertMayAccess(q: Queryable, caller: ConsentCaller, anchor: ConsentAnchor): Promise<void> {
    if (caller.kind === 'regional') return;
    if (await this.holds(q, caller.institutionId, anchor)) return;
    throw new OperationOutcomeException(HttpStatus.FORBIDDEN, [
      {
        code: 'forbidden',
        diagnostics:
          'The requesting institution holds no record of this patient, so it may not record or read their consent. Send the patient to the exchange first (ADT/Patient feed).',
      },
    ]);
  }
}
