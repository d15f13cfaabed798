import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { BreakGlassGrant } from '@tessera/consent-policy';

export interface GrantWrite {
  readonly id: string;
  readonly enterpriseId: string;
  readonly institutionId: string;
  readonly clientId: string;
  readonly user: string | null;
  readonly reason: string;
  readonly grantedAt: Date;
  readonly expiresAt: Date;
}

export type ReviewStatus = 'open' | 'closed';
export type ReviewDecision = 'appropriate' | 'inappropriate';

/** A privacy review as operators see it (the reason is the clinician's text: no patient identifiers asked for). */
export interface PrivacyReviewView {
  readonly id: string;
  readonly status: ReviewStatus;
  readonly decision: ReviewDecision | null;
  readonly decidedBy: string | null;
  readonly decidedAt: string | null;
  readonly note: string | null;
  readonly version: number;
  readonly openedAt: string;
  readonly grant: {
    readonly id: string;
    readonly enterpriseId: string;
    readonly institutionId: string;
    readonly clientId: string;
    readonly user: string | null;
    readonly reason: string;
    readonly grantedAt: string;
    readonly expiresAt: string;
  };
}

interface ReviewRow {
  id: string;
  status: ReviewStatus;
  decision: ReviewDecision | null;
  decided_by: string | null;
  decided_at: Date | null;
  note: string | null;
  version: number;
  opened_at: Date;
  grant_id: string;
  enterprise_id: string;
  institution_id: string;
  client_id: string;
  user_id: string | null;
  reason: string;
  granted_at: Date;
  expires_at: Date;
}

type Queryable = Pick<EntityManager, 'query'>;

const REVIEW_SELECT = `
  SELECT r.id, r.status, r.decision, r.decided_by, r.decided_at, r.note, r.version, r.opened_at,
         g.id AS grant_id, g.enterprise_id, g.institution_id, g.client_id, g.user_id, g.reason, g.granted_at, g.expires_at
    FROM privacy_reviews r JOIN break_glass_grants g ON g.id = r.grant_id`;

function toView(r: ReviewRow): PrivacyReviewView {
  return {
    id: r.id,
    status: r.status,
    decision: r.decision,
    decidedBy: r.decided_by,
    decidedAt: r.decided_at === null ? null : r.decided_at.toISOString(),
    note: r.note,
    version: r.version,
    openedAt: r.opened_at.toISOString(),
    grant: {
      id: r.grant_id,
      enterpriseId: r.enterprise_id,
      institutionId: r.institution_id,
      clientId: r.client_id,
      user: r.user_id,
      reason: r.reason,
      grantedAt: r.granted_at.toISOString(),
      expiresAt: r.expires_at.toISOString(),
    },
  };
}

/** `break_glass_grants` and their `privacy_reviews`. */
@Injectable()
export class BreakGlassRepository {
  async insertGrant(tx: EntityManager, g: GrantWrite, reviewId: string): Promise<void> {
    await tx.query(
      `INSERT INTO break_glass_grants (id, enterprise_id, institution_id, client_id, user_id, reason, granted_at, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [g.id, g.enterpriseId, g.institutionId, g.clientId, g.user, g.reason, g.grantedAt, g.expiresAt],
    );
    await tx.query(`INSERT INTO privacy_reviews (id, grant_id, status, opened_at) VALUES ($1, $2, 'open', $3)`, [
      reviewId,
      g.id,
      g.grantedAt,
    ]);
  }

  /** Grants of the person not yet expired at `now`. */
  async activeGrants(q: Queryable, enterpriseId: string, now: Date): Promise<BreakGlassGrant[]> {
    const rows = await q.query<{ id: string; institution_id: string; reason: string; granted_at: Date; expires_at: Date }[]>(
      `SELECT id, institution_id, reason, granted_at, expires_at FROM break_glass_grants
        WHERE enterprise_id = $1 AND expires_at > $2 ORDER BY granted_at, id`,
      [enterpriseId, now],
    );
    return rows.map((r) => ({
      id: r.id,
      institutionId: r.institution_id,
      reason: r.reason,
      grantedAt: r.granted_at.toISOString(),
      expiresAt: r.expires_at.toISOString(),
    }));
  }

  async reviews(q: Queryable, status: ReviewStatus | undefined, limit: number): Promise<PrivacyReviewView[]> {
    const rows = await q.query<ReviewRow[]>(
      `${REVIEW_SELECT} WHERE ($1::text IS NULL OR r.status = $1) ORDER BY r.opened_at, r.id LIMIT $2`,
      [status ?? null, limit],
    );
    return rows.map(toView);
  }

  async review(q: Queryable, id: string, forUpdate = false): Promise<PrivacyReviewView | undefined> {
    const rows = await q.query<ReviewRow[]>(`${REVIEW_SELECT} WHERE r.id = $1${forUpdate ? ' FOR UPDATE OF r' : ''}`, [id]);
    return rows[0] === undefined ? undefined : toView(rows[0]);
  }

  async closeReview(
    tx: EntityManager,
    id: string,
    decision: ReviewDecision,
    decidedBy: string,
    note: string | null,
  ): Promise<void> {
    await tx.query(
      `UPDATE privacy_reviews SET status = 'closed', decision = $2, decided_by = $3, decided_at = now(), note = $4,
              version = version + 1
        WHERE id = $1`,
      [id, decision, decidedBy, note],
    );
  }
}
