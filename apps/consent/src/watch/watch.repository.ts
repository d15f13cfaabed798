import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';

type Queryable = Pick<EntityManager, 'query'>;

export interface Registration {
  readonly registeredAt: Date;
  readonly otherHolders: readonly string[];
}

export type AlertStatus = 'open' | 'closed';
export type AlertDecision = 'appropriate' | 'inappropriate';

export interface PrivacyAlertWrite {
  readonly id: string;
  readonly institutionId: string;
  readonly windowStart: Date;
  readonly windowEnd: Date;
  readonly personCount: number;
  readonly threshold: number;
  readonly reason: string;
}

/** A privacy alert as the privacy officer sees it: an institution id and counts, no patient data. */
export interface PrivacyAlertView {
  readonly id: string;
  readonly kind: 'registered-then-queried';
  readonly status: AlertStatus;
  readonly institutionId: string;
  readonly windowStart: string;
  readonly windowEnd: string;
  readonly personCount: number;
  readonly threshold: number;
  readonly reason: string;
  readonly decision: AlertDecision | null;
  readonly decidedBy: string | null;
  readonly decidedAt: string | null;
  readonly note: string | null;
  readonly version: number;
  readonly openedAt: string;
}

interface AlertRow {
  id: string;
  kind: 'registered-then-queried';
  status: AlertStatus;
  institution_id: string;
  window_start: Date;
  window_end: Date;
  person_count: number;
  threshold: number;
  reason: string;
  decision: AlertDecision | null;
  decided_by: string | null;
  decided_at: Date | null;
  note: string | null;
  version: number;
  opened_at: Date;
}

function toView(r: AlertRow): PrivacyAlertView {
  return {
    id: r.id,
    kind: r.kind,
    status: r.status,
    institutionId: r.institution_id,
    windowStart: r.window_start.toISOString(),
    windowEnd: r.window_end.toISOString(),
    personCount: r.person_count,
    threshold: r.threshold,
    reason: r.reason,
    decision: r.decision,
    decidedBy: r.decided_by,
    decidedAt: r.decided_at === null ? null : r.decided_at.toISOString(),
    note: r.note,
    version: r.version,
    openedAt: r.opened_at.toISOString(),
  };
}

/**
 * The watch's facts (`watch_registrations`, `watch_hits`) and the privacy officer's alerts
 * (`privacy_alerts`). Which institution holds which record is read from `consent_links`.
 */
@Injectable()
export class WatchRepository {
  /** Institutions holding another record MATCH-linked to the person (any sender). */
  async holdersOtherThan(
    q: Queryable,
    enterpriseId: string,
    system: string,
    value: string,
  ): Promise<string[]> {
    const rows = await q.query<{ institution_id: string }[]>(
      `SELECT DISTINCT institution_id FROM consent_links
        WHERE enterprise_id = $1 AND state = 'MATCH' AND institution_id IS NOT NULL AND NOT (system = $2 AND value = $3)
        ORDER BY institution_id`,
      [enterpriseId, system, value],
    );
    return rows.map((r) => r.institution_id);
  }

  async insertRegistration(
    tx: EntityManager,
    system: string,
    value: string,
    enterpriseId: string,
    registeredAt: Date,
    otherHolders: readonly string[],
  ): Promise<void> {
    await tx.query(
      `INSERT INTO watch_registrations (system, value, enterprise_id, registered_at, other_holders)
       VALUES ($1, $2, $3, $4, $5::text[]) ON CONFLICT (system, value, enterprise_id) DO NOTHING`,
      [system, value, enterpriseId, registeredAt, otherHolders],
    );
  }

  /** Registrations of the person through records of the institution (consent_links.institution_id). */
  async registrationsBy(q: Queryable, institutionId: string, enterpriseId: string): Promise<Registration[]> {
    const rows = await q.query<{ registered_at: Date; other_holders: string[] }[]>(
      `SELECT w.registered_at, w.other_holders
         FROM watch_registrations w
         JOIN consent_links l ON l.system = w.system AND l.value = w.value
        WHERE w.enterprise_id = $1 AND l.institution_id = $2
        ORDER BY w.registered_at`,
      [enterpriseId, institutionId],
    );
    return rows.map((r) => ({ registeredAt: r.registered_at, otherHolders: r.other_holders }));
  }

  /** Serializes the count-and-alert step of one institution across partitions. */
  async lockInstitution(tx: EntityManager, institutionId: string): Promise<void> {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtext('consent.watch:' || $1))`, [institutionId]);
  }

  /** True when this (institution, person) was not counted before. */
  async insertHit(
    tx: EntityManager,
    institutionId: string,
    enterpriseId: string,
    registeredAt: Date,
    queriedAt: Date,
  ): Promise<boolean> {
    const rows = await tx.query<unknown[]>(
      `INSERT INTO watch_hits (institution_id, enterprise_id, registered_at, queried_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (institution_id, enterprise_id) DO NOTHING RETURNING 1`,
      [institutionId, enterpriseId, registeredAt, queriedAt],
    );
    return rows.length > 0;
  }

  async hitsInWindow(q: Queryable, institutionId: string, start: Date, end: Date): Promise<number> {
    const rows = await q.query<{ n: string }[]>(
      `SELECT count(*)::text AS n FROM watch_hits WHERE institution_id = $1 AND queried_at > $2 AND queried_at <= $3`,
      [institutionId, start, end],
    );
    return Number(rows[0]?.n ?? 0);
  }

  /** The end of the window of the institution's newest alert (null: never alerted). */
  async lastAlertEnd(q: Queryable, institutionId: string): Promise<Date | null> {
    const rows = await q.query<{ window_end: Date | null }[]>(
      `SELECT max(window_end) AS window_end FROM privacy_alerts WHERE institution_id = $1`,
      [institutionId],
    );
    return rows[0]?.window_end ?? null;
  }

  async insertAlert(tx: EntityManager, a: PrivacyAlertWrite): Promise<void> {
    await tx.query(
      `INSERT INTO privacy_alerts (id, kind, institution_id, window_start, window_end, person_count, threshold, reason, status)
       VALUES ($1, 'registered-then-queried', $2, $3, $4, $5, $6, $7, 'open')`,
      [a.id, a.institutionId, a.windowStart, a.windowEnd, a.personCount, a.threshold, a.reason],
    );
  }

  async alerts(q: Queryable, status: AlertStatus | undefined, limit: number): Promise<PrivacyAlertView[]> {
    const rows = await q.query<AlertRow[]>(
      `SELECT * FROM privacy_alerts WHERE ($1::text IS NULL OR status = $1) ORDER BY opened_at, id LIMIT $2`,
      [status ?? null, limit],
    );
    return rows.map(toView);
  }

  async alert(q: Queryable, id: string, forUpdate = false): Promise<PrivacyAlertView | undefined> {
    const rows = await q.query<AlertRow[]>(
      `SELECT * FROM privacy_alerts WHERE id = $1${forUpdate ? ' FOR UPDATE' : ''}`,
      [id],
    );
    return rows[0] === undefined ? undefined : toView(rows[0]);
  }

  async closeAlert(
    tx: EntityManager,
    id: string,
    decision: AlertDecision,
    decidedBy: string,
    note: string | null,
  ): Promise<void> {
    await tx.query(
      `UPDATE privacy_alerts SET status = 'closed', decision = $2, decided_by = $3, decided_at = now(), note = $4, version = version + 1
        WHERE id = $1`,
      [id, decision, decidedBy, note],
    );
  }
}
