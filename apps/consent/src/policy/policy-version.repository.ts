import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';

export interface PolicyVersion {
  readonly enterpriseId: string;
  readonly version: number;
}

/**
 * `policy_versions`: one monotonic version per enterprise id, raised in the transaction of every
 * change that affects what the person's policy evaluates to (the exchange's cache guard).
 */
@Injectable()
export class PolicyVersionRepository {
  /** Raises the version of each enterprise id by one (ids locked in sorted order: no deadlocks). */
  async bump(tx: EntityManager, enterpriseIds: Iterable<string>): Promise<PolicyVersion[]> {
    const out: PolicyVersion[] = [];
    for (const enterpriseId of [...new Set(enterpriseIds)].sort()) {
      const rows = await tx.query<{ version: string }[]>(
        `INSERT INTO policy_versions (enterprise_id, version) VALUES ($1, 1)
         ON CONFLICT (enterprise_id) DO UPDATE SET version = policy_versions.version + 1, updated_at = now()
         RETURNING version`,
        [enterpriseId],
      );
      out.push({ enterpriseId, version: Number(rows[0]?.version) });
    }
    return out;
  }

  /** The current version (0 when the person's policy never changed). */
  async current(q: Pick<EntityManager, 'query'>, enterpriseId: string): Promise<number> {
    const rows = await q.query<{ version: string }[]>(`SELECT version FROM policy_versions WHERE enterprise_id = $1`, [
      enterpriseId,
    ]);
    return rows[0] === undefined ? 0 : Number(rows[0].version);
  }

  /** Which of `enterpriseIds` have a policy version row (some consent input changed for them once). */
  async known(tx: EntityManager, enterpriseIds: readonly string[]): Promise<string[]> {
    if (enterpriseIds.length === 0) return [];
    const rows = await tx.query<{ enterprise_id: string }[]>(
      `SELECT enterprise_id FROM policy_versions WHERE enterprise_id = ANY($1::text[])`,
      [enterpriseIds],
    );
    return rows.map((r) => r.enterprise_id);
  }
}
