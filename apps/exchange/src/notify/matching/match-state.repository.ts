import { Injectable } from '@nestjs/common';
import type { Resource } from '@medplum/fhirtypes';
import type { EntityManager } from 'typeorm';
import type { EncounterSnapshot } from '@tessera/subscriptions';
import type { ClinicalEvent } from './clinical-event.mapper';
import { returnedRows } from '../sql-result';

type Queryable = Pick<EntityManager, 'query'>;

export interface EncounterState extends EncounterSnapshot {
  readonly openedAt: Date | null;
  readonly closedAt: Date | null;
}

export interface OpenVisit {
  readonly encounterKey: string;
  readonly institutionId: string;
  readonly system: string;
  readonly value: string;
  readonly classCode: string;
  readonly openedAt: Date;
  readonly resource: Resource;
}

/**
 * What the matcher remembers between events: the last seen state of each encounter (a topic is a
 * change of it), the documents and results already announced, and clinical events that wait for
 * their source record's first link.
 */
@Injectable()
export class MatchStateRepository {
  async encounter(tx: Queryable, key: string): Promise<EncounterState | undefined> {
    const rows = await tx.query<
      {
        status: string;
        class_code: string;
        location_key: string | null;
        opened_at: Date | null;
        closed_at: Date | null;
      }[]
    >(
      `SELECT status, class_code, location_key, opened_at, closed_at FROM notify_encounters
        WHERE encounter_key = $1 FOR UPDATE`,
      [key],
    );
    const row = rows[0];
    if (row === undefined) return undefined;
    return {
      status: row.status,
      classCode: row.class_code,
      ...(row.location_key === null ? {} : { locationKey: row.location_key }),
      openedAt: row.opened_at,
      closedAt: row.closed_at,
    };
  }

  async saveEncounter(
    tx: Queryable,
    key: string,
    event: Pick<ClinicalEvent, 'institutionId' | 'system' | 'value'>,
    snapshot: EncounterSnapshot,
    resource: Resource,
    open: { readonly openedAt: Date | null; readonly closedAt: Date | null },
  ): Promise<void> {
    await tx.query(
      `INSERT INTO notify_encounters (encounter_key, institution_id, system, value, status, class_code,
         location_key, opened_at, closed_at, resource, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, now())
       ON CONFLICT (encounter_key) DO UPDATE SET status = EXCLUDED.status, class_code = EXCLUDED.class_code,
         location_key = EXCLUDED.location_key, opened_at = EXCLUDED.opened_at, closed_at = EXCLUDED.closed_at,
         resource = EXCLUDED.resource, system = EXCLUDED.system, value = EXCLUDED.value, updated_at = now()`,
      [
        key,
        event.institutionId,
        event.system,
        event.value,
        snapshot.status,
        snapshot.classCode,
        snapshot.locationKey ?? null,
        open.openedAt,
        open.closedAt,
        JSON.stringify(resource),
      ],
    );
  }

  /** True the first time an item key is seen ("new document", "new result"). */
  async firstSight(tx: Queryable, itemKey: string): Promise<boolean> {
    const rows = await tx.query<unknown[]>(
      'INSERT INTO notify_seen_items (item_key) VALUES ($1) ON CONFLICT DO NOTHING RETURNING item_key',
      [itemKey],
    );
    return rows.length === 1;
  }

  async hold(tx: Queryable, event: ClinicalEvent): Promise<void> {
    await tx.query(
      `INSERT INTO notify_waiting_events (event_id, system, value, event_type, payload, event_time)
       VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (event_id) DO NOTHING`,
      [event.eventId, event.system, event.value, event.kind, JSON.stringify(event), event.eventTime],
    );
  }

  /**
   * The events that waited for this source record, in the order they arrived (a sequence, not a
   * time: events of one consumer transaction share its timestamp), removed from the waiting list.
   */
  async release(tx: Queryable, system: string, value: string): Promise<ClinicalEvent[]> {
    const rows = returnedRows<{ payload: ClinicalEvent; seq: string }>(
      await tx.query(
        `DELETE FROM notify_waiting_events WHERE system = $1 AND value = $2 RETURNING payload, seq`,
        [system, value],
      ),
    );
    return rows.sort((a, b) => (BigInt(a.seq) < BigInt(b.seq) ? -1 : 1)).map((r) => r.payload);
  }

  /** Visits opened before `openedBefore` with one of `classCodes` and never closed (oldest first). */
  async overdueVisits(
    tx: Queryable,
    classCodes: readonly string[],
    openedBefore: Date,
    limit: number,
  ): Promise<OpenVisit[]> {
    const rows = await tx.query<
      {
        encounter_key: string;
        institution_id: string;
        system: string;
        value: string;
        class_code: string;
        opened_at: Date;
        resource: Resource;
      }[]
    >(
      `SELECT encounter_key, institution_id, system, value, class_code, opened_at, resource
         FROM notify_encounters
        WHERE closed_at IS NULL AND opened_at IS NOT NULL AND opened_at < $1 AND class_code = ANY($2)
        ORDER BY opened_at LIMIT $3 FOR UPDATE SKIP LOCKED`,
      [openedBefore, classCodes, limit],
    );
    return rows.map((r) => ({
      encounterKey: r.encounter_key,
      institutionId: r.institution_id,
      system: r.system,
      value: r.value,
      classCode: r.class_code,
      openedAt: r.opened_at,
      resource: r.resource,
    }));
  }

  async closeByRule(tx: Queryable, key: string): Promise<void> {
    await tx.query(
      'UPDATE notify_encounters SET closed_at = now(), closed_by_rule = true, updated_at = now() WHERE encounter_key = $1',
      [key],
    );
  }
}
