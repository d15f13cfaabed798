import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';

export type LinkState = 'MATCH' | 'POSSIBLE_MATCH' | 'NO_MATCH';
export type LinkOrigin = 'AUTO' | 'MANUAL';

export interface ConsentLinkRow {
  readonly system: string;
  readonly value: string;
  readonly enterpriseId: string | null;
  readonly institutionId: string | null;
  /** Whether a message about this record ever came from an authenticated sender (earned once, kept). */
  readonly authenticated: boolean;
  readonly state: LinkState | null;
  readonly origin: LinkOrigin | null;
  readonly decidedAt: string | null;
  readonly eventId: string | null;
}

export interface LinkDecisionWrite {
  readonly enterpriseId: string | null;
  readonly state: LinkState;
  readonly origin: LinkOrigin;
  readonly decidedAt: string;
  readonly eventId: string;
}

interface DbRow {
  system: string;
  value: string;
  enterprise_id: string | null;
  institution_id: string | null;
  authenticated: boolean;
  state: LinkState | null;
  origin: LinkOrigin | null;
  decided_at: Date | null;
  event_id: string | null;
}

type Queryable = Pick<EntityManager, 'query'>;

function toRow(r: DbRow): ConsentLinkRow {
  return {
    system: r.system,
    value: r.value,
    enterpriseId: r.enterprise_id,
    institutionId: r.institution_id,
    authenticated: r.authenticated,
    state: r.state,
    origin: r.origin,
    decidedAt: r.decided_at === null ? null : r.decided_at.toISOString(),
    eventId: r.event_id,
  };
}

/** What writeInstitution found and whether the message was the record's institution's. */
export interface InstitutionWrite {
  readonly before: ConsentLinkRow | undefined;
  readonly accepted: boolean;
}

/** The enterprise id a source record is MATCH-linked to (null when not linked or only possibly). */
export function matchedEnterpriseId(
  row: Pick<ConsentLinkRow, 'state' | 'enterpriseId'> | undefined,
): string | null {
  return row?.state === 'MATCH' ? row.enterpriseId : null;
}

/**
 * `consent_links`: the consent service's projection of MPI link decisions (hie.mpi.link, newest
 * decision per source record) plus the institution that holds each source record (hie.patient).
 */
@Injectable()
export class ConsentLinkRepository {
  async find(
    q: Queryable,
    system: string,
    value: string,
    forUpdate = false,
  ): Promise<ConsentLinkRow | undefined> {
    const rows = await q.query<DbRow[]>(
      `SELECT * FROM consent_links WHERE system = $1 AND value = $2${forUpdate ? ' FOR UPDATE' : ''}`,
      [system, value],
    );
    return rows[0] === undefined ? undefined : toRow(rows[0]);
  }

  /**
   * Locks the source record's row (creating an empty one if needed) so that a directive written on
   * the record and a link decision moving it are serialized: whichever commits second sees the other.
   */
  async lockSource(tx: EntityManager, system: string, value: string): Promise<ConsentLinkRow> {
    await tx.query(
      `INSERT INTO consent_links (system, value) VALUES ($1, $2) ON CONFLICT (system, value) DO NOTHING`,
      [system, value],
    );
    const row = await this.find(tx, system, value, true);
    if (row === undefined) throw new Error('consent_links row vanished under its lock');
    return row;
  }

  async writeDecision(tx: EntityManager, system: string, value: string, d: LinkDecisionWrite): Promise<void> {
    await tx.query(
      `INSERT INTO consent_links (system, value, enterprise_id, state, origin, decided_at, event_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (system, value) DO UPDATE SET
         enterprise_id = EXCLUDED.enterprise_id, state = EXCLUDED.state, origin = EXCLUDED.origin,
         decided_at = EXCLUDED.decided_at, event_id = EXCLUDED.event_id, updated_at = now()`,
      [system, value, d.enterpriseId, d.state, d.origin, d.decidedAt, d.eventId],
    );
  }

  /**
   * Records which institution sends this source record and whether it was authenticated. The
   * record's institution is the first that sent it; another institution's message about the same
   * record does not take it over — unless the record so far came only from unauthenticated senders
   * and this one is authenticated (a believed MSH-4 gives way to a verified sender). `authenticated`
   * is earned once and kept. `accepted` is false when the message was another institution's.
   */
  async writeInstitution(
    tx: EntityManager,
    system: string,
    value: string,
    institutionId: string,
    authenticated: boolean,
  ): Promise<InstitutionWrite> {
    const before = await this.find(tx, system, value, true);
    const held = before?.institutionId ?? null;
    const heldAuthenticated = before?.authenticated ?? false;
    const takesOver = held === null || (held !== institutionId && !heldAuthenticated && authenticated);
    if (held !== institutionId && !takesOver) return { before, accepted: false };
    const earned = authenticated || (held === institutionId && heldAuthenticated);
    if (held === institutionId && earned === heldAuthenticated) return { before, accepted: true };
    await tx.query(
      `INSERT INTO consent_links (system, value, institution_id, authenticated) VALUES ($1, $2, $3, $4)
       ON CONFLICT (system, value) DO UPDATE SET institution_id = EXCLUDED.institution_id,
         authenticated = EXCLUDED.authenticated, updated_at = now()`,
      [system, value, institutionId, earned],
    );
    return { before, accepted: true };
  }

  /** Source records currently MATCH-linked to the person. */
  async linkedRecords(q: Queryable, enterpriseId: string): Promise<ConsentLinkRow[]> {
    const rows = await q.query<DbRow[]>(
      `SELECT * FROM consent_links WHERE enterprise_id = $1 AND state = 'MATCH' ORDER BY system, value`,
      [enterpriseId],
    );
    return rows.map(toRow);
  }

  /**
   * Institutions holding the person: a source record MATCH-linked to them that arrived from an
   * authenticated sender (README "Holding a record"). A record from an unauthenticated sender
   * earns no holder powers.
   */
  async holdingInstitutions(q: Queryable, enterpriseId: string): Promise<string[]> {
    const rows = await q.query<{ institution_id: string }[]>(
      `SELECT DISTINCT institution_id FROM consent_links
        WHERE enterprise_id = $1 AND state = 'MATCH' AND institution_id IS NOT NULL AND authenticated
        ORDER BY institution_id`,
      [enterpriseId],
    );
    return rows.map((r) => r.institution_id);
  }
}
