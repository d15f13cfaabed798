import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { supersedes } from './patient-link.policy';
import type { LinkDecision, LinkOrigin, LinkState } from './patient-link.policy';

export interface LinkChange {
  readonly patientSystem: string;
  readonly localPatientId: string;
  readonly enterpriseId: string | null;
  readonly state: LinkState;
  readonly origin: LinkOrigin;
  readonly score: number | null;
  readonly ruleSetVersion: string;
  readonly decidedAt: string;
}

interface LinkRow {
  readonly enterprise_id: string | null;
  readonly state: LinkState;
  readonly origin: LinkOrigin;
  readonly decided_at: Date;
  readonly event_id: string;
}

/**
 * Applies one MPI link decision to the `patient_links` projection if it is the newest for its
 * source record (patient-link.policy.ts). No clinical row is touched: queries join through the
 * projection, so a merge or unmerge re-keys them at once.
 */
@Injectable()
export class LinkChangedHandler {
  /** Returns whether the projection changed. */
  async apply(change: LinkChange, eventId: string, tx: EntityManager): Promise<boolean> {
    const rows = await tx.query<LinkRow[]>(
      `SELECT enterprise_id, state, origin, decided_at, event_id FROM patient_links
       WHERE patient_system = $1 AND local_patient_id = $2 FOR UPDATE`,
      [change.patientSystem, change.localPatientId],
    );
    const row = rows[0];
    const current: LinkDecision | undefined =
      row === undefined
        ? undefined
        : {
            enterpriseId: row.enterprise_id,
            state: row.state,
            origin: row.origin,
            decidedAt: row.decided_at.toISOString(),
            eventId: row.event_id,
          };
    const incoming: LinkDecision = { ...change, eventId };
    if (!supersedes(incoming, current)) return false;
    await tx.query(
      `INSERT INTO patient_links
         (patient_system, local_patient_id, enterprise_id, state, origin, score, rule_set_version, decided_at, event_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (patient_system, local_patient_id) DO UPDATE SET
         enterprise_id = EXCLUDED.enterprise_id, state = EXCLUDED.state, origin = EXCLUDED.origin,
         score = EXCLUDED.score, rule_set_version = EXCLUDED.rule_set_version,
         decided_at = EXCLUDED.decided_at, event_id = EXCLUDED.event_id, updated_at = now()`,
      [
        change.patientSystem,
        change.localPatientId,
        change.enterpriseId,
        change.state,
        change.origin,
        change.score,
        change.ruleSetVersion,
        change.decidedAt,
        eventId,
      ],
    );
    return true;
  }
}
