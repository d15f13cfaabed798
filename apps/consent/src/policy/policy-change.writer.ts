import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { ConsentChanged } from '@tessera/contracts';
import { OutboxWriter } from '@tessera/platform-outbox';
import { PolicyVersionRepository } from './policy-version.repository';
import type { PolicyVersion } from './policy-version.repository';

export const CONSENT_SOURCE = '/tessera/consent';
export type ConsentChangeReason = 'directive' | 'break-glass' | 'link';

/**
 * A change to what some persons' policies evaluate to: a new policy version per enterprise id and a
 * ConsentChanged event (keyed by enterprise id) through the outbox, both in the caller's transaction.
 */
@Injectable()
export class PolicyChangeWriter {
  constructor(
    private readonly versions: PolicyVersionRepository,
    private readonly outbox: OutboxWriter,
  ) {}

  async record(
    tx: EntityManager,
    enterpriseIds: Iterable<string>,
    reason: ConsentChangeReason,
    consentId?: string,
  ): Promise<PolicyVersion[]> {
    const changes = await this.versions.bump(tx, enterpriseIds);
    const changedAt = new Date().toISOString();
    for (const change of changes) {
      await this.outbox.enqueue(tx, ConsentChanged, {
        key: change.enterpriseId,
        source: CONSENT_SOURCE,
        subject: change.enterpriseId,
        data: {
          enterpriseId: change.enterpriseId,
          reason,
          ...(consentId === undefined ? {} : { consentId }),
          policyVersion: change.version,
          changedAt,
        },
      });
    }
    return changes;
  }
}
