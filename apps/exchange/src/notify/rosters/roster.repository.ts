import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { RosterMember } from '@tessera/subscriptions';
import { returnedRows } from '../sql-result';

type Queryable = Pick<EntityManager, 'query'>;

export interface RosterRow {
  readonly id: string;
  readonly ownerInstitution: string;
  readonly name: string | null;
  readonly version: number;
}

export interface RosterMemberView extends RosterMember {
  /** Whether the identifier resolves to a person now (a MATCH link in the notifier's projection). */
  readonly resolved: boolean;
}

const BATCH = 5_000;

/**
 * Rosters (FHIR Group of patient identifiers) owned by an institution. Members are identifiers as
 * the institution knows them; the person behind each is found at match time through the link
 * projection, so a member follows links, merges and unmerges, and one who is not known yet starts
 * being notified as soon as the person arrives.
 */
@Injectable()
export class RosterRepository {
  async create(tx: Queryable, id: string, ownerInstitution: string, name: string | undefined): Promise<void> {
    await tx.query('INSERT INTO notify_rosters (id, owner_institution, name) VALUES ($1, $2, $3)', [
      id,
      ownerInstitution,
      name ?? null,
    ]);
  }

  async find(tx: Queryable, id: string, forUpdate = false): Promise<RosterRow | undefined> {
    const rows = await tx.query<
      { id: string; owner_institution: string; name: string | null; version: number }[]
    >(
      `SELECT id, owner_institution, name, version FROM notify_rosters WHERE id = $1 ${forUpdate ? 'FOR UPDATE' : ''}`,
      [id],
    );
    const r = rows[0];
    return r === undefined
      ? undefined
      : { id: r.id, ownerInstitution: r.owner_institution, name: r.name, version: r.version };
  }

  async listOwned(tx: Queryable, ownerInstitution: string): Promise<RosterRow[]> {
    const rows = await tx.query<
      { id: string; owner_institution: string; name: string | null; version: number }[]
    >(
      'SELECT id, owner_institution, name, version FROM notify_rosters WHERE owner_institution = $1 ORDER BY created_at, id LIMIT 500',
      [ownerInstitution],
    );
    return rows.map((r) => ({
      id: r.id,
      ownerInstitution: r.owner_institution,
      name: r.name,
      version: r.version,
    }));
  }

  async bump(tx: Queryable, id: string, name?: string | null): Promise<number> {
    const rows = returnedRows<{ version: number }>(
      await tx.query(
        `UPDATE notify_rosters SET version = version + 1, updated_at = now(), name = CASE WHEN $2::boolean THEN $3 ELSE name END
        WHERE id = $1 RETURNING version`,
        [id, name !== undefined, name ?? null],
      ),
    );
    return rows[0]?.version ?? 0;
  }

  /** Adds members (batched unnest inserts); returns how many were new. */
  async add(tx: Queryable, id: string, members: readonly RosterMember[]): Promise<number> {
    let added = 0;
    for (let i = 0; i < members.length; i += BATCH) {
      const chunk = members.slice(i, i + BATCH);
      const rows = await tx.query<unknown[]>(
        `INSERT INTO notify_roster_members (roster_id, system, value)
         SELECT $1, * FROM unnest($2::text[], $3::text[]) ON CONFLICT DO NOTHING RETURNING 1`,
        [id, chunk.map((m) => m.system), chunk.map((m) => m.value)],
      );
      added += rows.length;
    }
    return added;
  }

  async remove(tx: Queryable, id: string, members: readonly RosterMember[]): Promise<number> {
    let removed = 0;
    for (let i = 0; i < members.length; i += BATCH) {
      const chunk = members.slice(i, i + BATCH);
      const rows = returnedRows(
        await tx.query(
          `DELETE FROM notify_roster_members m USING unnest($2::text[], $3::text[]) AS x(system, value)
          WHERE m.roster_id = $1 AND m.system = x.system AND m.value = x.value RETURNING 1`,
          [id, chunk.map((m) => m.system), chunk.map((m) => m.value)],
        ),
      );
      removed += rows.length;
    }
    return removed;
  }

  async clear(tx: Queryable, id: string): Promise<void> {
    await tx.query('DELETE FROM notify_roster_members WHERE roster_id = $1', [id]);
  }

  /** How many members resolve to a person now, and how many do not (yet). */
  async counts(tx: Queryable, id: string): Promise<{ total: number; resolved: number }> {
    const rows = await tx.query<{ total: string; resolved: string }[]>(
      `SELECT count(*) AS total,
              count(*) FILTER (WHERE l.state = 'MATCH' AND l.enterprise_id IS NOT NULL) AS resolved
         FROM notify_roster_members m LEFT JOIN notify_links l ON l.system = m.system AND l.value = m.value
        WHERE m.roster_id = $1`,
      [id],
    );
    return { total: Number(rows[0]?.total ?? 0), resolved: Number(rows[0]?.resolved ?? 0) };
  }

  /** One page of members with whether each resolves now. */
  async members(tx: Queryable, id: string, offset: number, limit: number): Promise<RosterMemberView[]> {
    const rows = await tx.query<{ system: string; value: string; resolved: boolean | null }[]>(
      `SELECT m.system, m.value, (l.state = 'MATCH' AND l.enterprise_id IS NOT NULL) AS resolved
         FROM notify_roster_members m LEFT JOIN notify_links l ON l.system = m.system AND l.value = m.value
        WHERE m.roster_id = $1 ORDER BY m.system, m.value OFFSET $2 LIMIT $3`,
      [id, offset, limit],
    );
    return rows.map((r) => ({ system: r.system, value: r.value, resolved: r.resolved === true }));
  }

  /**
   * Rosters that contain the person: a member is one of the person's source records (through the
   * link projection), or the very record the event is about (even before its first link).
   */
  async rostersContaining(
    tx: Queryable,
    enterpriseId: string,
    system: string,
    value: string,
  ): Promise<string[]> {
    const rows = await tx.query<{ roster_id: string }[]>(
      // Two index lookups (links by person, members by identifier), not an OR that scans every member.
      `SELECT m.roster_id FROM notify_links l
         JOIN notify_roster_members m ON m.system = l.system AND m.value = l.value
        WHERE l.enterprise_id = $1 AND l.state = 'MATCH'
       UNION
       SELECT m.roster_id FROM notify_roster_members m WHERE m.system = $2 AND m.value = $3`,
      [enterpriseId, system, value],
    );
    return rows.map((r) => r.roster_id);
  }
}
