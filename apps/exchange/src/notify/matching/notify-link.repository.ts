import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { linkDecisionSupersedes } from '@tessera/contracts';

type Queryable = Pick<EntityManager, 'query'>;

export interface LinkDecision {
  readonly system: string;
  readonly value: string;
  readonly enterpriseId: string | null;
  readonly state: 'MATCH' | 'POSSIBLE_MATCH' | 'NO_MATCH';
  readonly decidedAt: string;
  readonly eventId: string;
}

/**
 * The notifier's projection of hie.mpi.link: where each source record resolves now. Only a MATCH
 * makes a record part of a person (a possible match is not the person until an operator says so,
 * as on the query path).
 */
@Injectable()
export class NotifyLinkRepository {
  /**
   * Serializes the work on one source record across the consumer's concurrent partitions: a
   * clinical event that finds no link (and waits) and the link decision that releases waiting
   * events must not pass each other, or the event would wait for a link that already came.
   */
  async lockRecord(tx: Queryable, system: string, value: string): Promise<void> {
    await tx.query("SELECT pg_advisory_xact_lock(hashtext('notify-record'), hashtext($1 || '|' || $2))", [
      system,
      value,
    ]);
  }

  /** Applies a decision when it is the newest for its record; returns the enterprise ids it left and joined. */
  async apply(
    tx: Queryable,
    d: LinkDecision,
  ): Promise<{ applied: boolean; before: string | null; after: string | null }> {
    const rows = await tx.query<
      { enterprise_id: string | null; state: string; decided_at: Date; event_id: string }[]
    >(
      `SELECT enterprise_id, state, decided_at, event_id FROM notify_links
        WHERE system = $1 AND value = $2 FOR UPDATE`,
      [d.system, d.value],
    );
    const current = rows[0];
    const currentOrder =
      current === undefined
        ? undefined
        : { decidedAt: current.decided_at.toISOString(), eventId: current.event_id };
    const before = current === undefined || current.state !== 'MATCH' ? null : current.enterprise_id;
    if (!linkDecisionSupersedes({ decidedAt: d.decidedAt, eventId: d.eventId }, currentOrder))
      return { applied: false, before, after: before };
    await tx.query(
      `INSERT INTO notify_links (system, value, enterprise_id, state, decided_at, event_id)
       VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (system, value) DO UPDATE SET enterprise_id = EXCLUDED.enterprise_id,
         state = EXCLUDED.state, decided_at = EXCLUDED.decided_at, event_id = EXCLUDED.event_id`,
      [d.system, d.value, d.enterpriseId, d.state, d.decidedAt, d.eventId],
    );
    return { applied: true, before, after: d.state === 'MATCH' ? d.enterpriseId : null };
  }

  /** The person a source record is part of now (null: not linked yet, or only a possible match). */
  async personOf(tx: Queryable, system: string, value: string): Promise<string | null | undefined> {
    const rows = await tx.query<{ enterprise_id: string | null; state: string }[]>(
      'SELECT enterprise_id, state FROM notify_links WHERE system = $1 AND value = $2',
      [system, value],
    );
    const row = rows[0];
    if (row === undefined) return undefined;
    return row.state === 'MATCH' ? row.enterprise_id : null;
  }

  /** Every identifier of the person (its source records), for PID-3 and roster joins. */
  async identifiersOf(tx: Queryable, enterpriseId: string): Promise<{ system: string; value: string }[]> {
    return await tx.query<{ system: string; value: string }[]>(
      "SELECT system, value FROM notify_links WHERE enterprise_id = $1 AND state = 'MATCH' ORDER BY system, value",
      [enterpriseId],
    );
  }
}
