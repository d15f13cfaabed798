import { Injectable } from '@nestjs/common';
import type { Coding, Resource } from '@medplum/fhirtypes';
import type { EntityManager } from 'typeorm';
import { returnedRows } from '../sql-result';

type Queryable = Pick<EntityManager, 'query'>;

export type NotificationStatus = 'pending' | 'delivered' | 'parked' | 'suppressed';

export interface NewNotification {
  /** Idempotency key: the same source event, item and topic for one subscription is one notification. */
  readonly id: string;
  readonly subscriptionId: string;
  readonly destinationId: string;
  readonly kind: 'handshake' | 'event-notification';
  readonly enterpriseId: string | null;
  readonly topic: string | null;
  readonly focusType: string | null;
  readonly focusId: string | null;
  readonly trigger: string | null;
  readonly sourceInstitution: string | null;
  readonly sourceEventId: string | null;
  readonly snapshot: Resource | null;
  readonly labels: readonly Coding[];
  readonly closedByRule: boolean;
  readonly eventTime: string;
  /** Coalescible topics wait this long for more of the same (ms); 0: due at once. */
  readonly coalesceMs: number;
}

export interface NotificationRow {
  readonly seq: number;
  readonly id: string;
  readonly subscriptionId: string;
  readonly destinationId: string;
  readonly kind: 'handshake' | 'event-notification';
  readonly eventNumber: number | null;
  readonly enterpriseId: string | null;
  readonly orderKey: string;
  readonly topic: string | null;
  readonly focusType: string | null;
  readonly focusId: string | null;
  readonly trigger: string | null;
  readonly sourceInstitution: string | null;
  readonly snapshot: Resource | null;
  readonly labels: readonly Coding[];
  readonly closedByRule: boolean;
  readonly status: NotificationStatus;
  readonly attempts: number;
  readonly audited: boolean;
  readonly eventTime: Date;
  readonly createdAt: Date;
  readonly deliveredAt: Date | null;
  readonly lastError: string | null;
}

interface DbRow {
  seq: string;
  id: string;
  subscription_id: string;
  destination_id: string;
  kind: 'handshake' | 'event-notification';
  event_number: string | null;
  enterprise_id: string | null;
  order_key: string;
  topic: string | null;
  focus_type: string | null;
  focus_id: string | null;
  trigger: string | null;
  source_institution: string | null;
  snapshot: Resource | null;
  labels: Coding[];
  closed_by_rule: boolean;
  status: NotificationStatus;
  attempts: number;
  audited: boolean;
  event_time: Date;
  created_at: Date;
  delivered_at: Date | null;
  last_error: string | null;
}

const COLUMNS = `seq, id, subscription_id, destination_id, kind, event_number, enterprise_id, order_key, topic,
  focus_type, focus_id, trigger, source_institution, snapshot, labels, closed_by_rule, status, attempts, audited,
  event_time, created_at, delivered_at, last_error`;

function toRow(r: DbRow): NotificationRow {
  return {
    seq: Number(r.seq),
    id: r.id,
    subscriptionId: r.subscription_id,
    destinationId: r.destination_id,
    kind: r.kind,
    eventNumber: r.event_number === null ? null : Number(r.event_number),
    enterpriseId: r.enterprise_id,
    orderKey: r.order_key,
    topic: r.topic,
    focusType: r.focus_type,
    focusId: r.focus_id,
    trigger: r.trigger,
    sourceInstitution: r.source_institution,
    snapshot: r.snapshot,
    labels: r.labels,
    closedByRule: r.closed_by_rule,
    status: r.status,
    attempts: r.attempts,
    audited: r.audited,
    eventTime: r.event_time,
    createdAt: r.created_at,
    deliveredAt: r.delivered_at,
    lastError: r.last_error,
  };
}

/** The Postgres channel a delivery worker listens on: woken when a notification becomes due. */
export const NOTIFY_CHANNEL = 'tessera_notify';

export interface DeliveryLogEntry {
  readonly notificationId: string;
  readonly subscriptionId: string;
  readonly eventNumber: number | null;
  readonly kind: string;
  readonly topic: string | null;
  readonly status: NotificationStatus;
  readonly statusReason: string | null;
  readonly attempts: number;
  readonly lastError: string | null;
  readonly createdAt: string;
  readonly deliveredAt: string | null;
  /** From the event that caused it to the subscriber's 2xx/AA, in ms. */
  readonly latencyMs: number | null;
}

/**
 * The notifications: written by the matcher in its consumer transaction (an outbox of its own),
 * delivered by the workers, kept with their outcome as the subscriber's delivery log and the
 * source of `$events`.
 */
@Injectable()
export class NotificationRepository {
  /**
   * Queues one notification. Event numbers are per subscription and have no gaps: the number is
   * taken in the same statement that inserts the row, and a redelivered event (same id) takes none.
   * A coalescible notification folds into the subscription's pending one about the same focus when
   * that one is still waiting out its window and nothing for the same patient was queued after it
   * (so folding never reorders). Returns 'queued', 'coalesced' or 'duplicate'.
   */
  async enqueue(tx: Queryable, n: NewNotification): Promise<'queued' | 'coalesced' | 'duplicate'> {
    const orderKey = n.enterpriseId ?? '';
    if (n.coalesceMs > 0 && n.focusType !== null && n.focusId !== null) {
      const folded = await tx.query<unknown>(
        `UPDATE notify_notifications p
            SET snapshot = $4, labels = $5, trigger = $6,
                source_event_ids = array_append(p.source_event_ids, $7::text)
          WHERE p.subscription_id = $1 AND p.focus_type = $2 AND p.focus_id = $3 AND p.topic = $8
            AND p.status = 'pending' AND p.attempts = 0 AND p.coalesce_until > now()
            AND NOT EXISTS (SELECT 1 FROM notify_notifications later
                             WHERE later.subscription_id = p.subscription_id AND later.order_key = p.order_key
                               AND later.seq > p.seq)
          RETURNING p.id`,
        [
          n.subscriptionId,
          n.focusType,
          n.focusId,
          JSON.stringify(n.snapshot),
          JSON.stringify(n.labels),
          n.trigger,
          n.sourceEventId ?? '',
          n.topic,
        ],
      );
      if (returnedRows(folded).length > 0) return 'coalesced';
    }
    const rows = await tx.query<unknown[]>(
      `WITH numbered AS (
         UPDATE notify_subscriptions SET events_since_start = events_since_start + 1
          WHERE id = $2 AND $5::text = 'event-notification'
            AND NOT EXISTS (SELECT 1 FROM notify_notifications WHERE id = $1)
          RETURNING events_since_start)
       INSERT INTO notify_notifications (id, subscription_id, destination_id, kind, event_number, enterprise_id,
         order_key, topic, focus_type, focus_id, trigger, source_institution, source_event_ids, snapshot, labels,
         closed_by_rule, status, not_before, coalesce_until, event_time)
       SELECT $1, $2, $3, $5, (SELECT events_since_start FROM numbered), $4, $6, $7, $8, $9, $10, $11,
              CASE WHEN $12::text IS NULL THEN '{}'::text[] ELSE ARRAY[$12::text] END, $13, $14, $15, 'pending',
              now() + make_interval(secs => $16::double precision / 1000),
              CASE WHEN $16::int > 0 THEN now() + make_interval(secs => $16::double precision / 1000) END, $17
        WHERE NOT EXISTS (SELECT 1 FROM notify_notifications WHERE id = $1)
          AND ($5::text <> 'event-notification' OR EXISTS (SELECT 1 FROM numbered))
       RETURNING seq`,
      [
        n.id,
        n.subscriptionId,
        n.destinationId,
        n.enterpriseId,
        n.kind,
        orderKey,
        n.topic,
        n.focusType,
        n.focusId,
        n.trigger,
        n.sourceInstitution,
        n.sourceEventId,
        n.snapshot === null ? null : JSON.stringify(n.snapshot),
        JSON.stringify(n.labels),
        n.closedByRule,
        n.coalesceMs,
        n.eventTime,
      ],
    );
    if (rows.length === 0) return 'duplicate';
    await tx.query(`SELECT pg_notify($1, $2)`, [NOTIFY_CHANNEL, n.destinationId]);
    return 'queued';
  }

  /**
   * The next notifications of a destination that may go now: per patient (order key) only the
   * oldest pending one, and only when it is due; for event notifications only once their
   * subscription is no longer waiting for its handshake. Oldest first.
   */
  async due(
    tx: Queryable,
    destinationId: string,
    exclude: readonly string[],
    limit: number,
  ): Promise<NotificationRow[]> {
    const rows = await tx.query<DbRow[]>(
      `SELECT ${COLUMNS} FROM (
         SELECT DISTINCT ON (n.order_key) n.*
           FROM notify_notifications n
          WHERE n.destination_id = $1 AND n.status = 'pending'
          ORDER BY n.order_key, n.seq) head
        WHERE head.not_before <= now() AND NOT (head.order_key = ANY($2))
          AND (head.kind = 'handshake' OR EXISTS (
                SELECT 1 FROM notify_subscriptions s WHERE s.id = head.subscription_id AND s.status IN ('active', 'error')))
        ORDER BY head.seq LIMIT $3`,
      [destinationId, exclude, limit],
    );
    return rows.map(toRow);
  }

  /** When the destination's next pending notification becomes due (null: nothing pending). */
  async nextDue(tx: Queryable, destinationId: string): Promise<Date | null> {
    const rows = await tx.query<{ at: Date | null }[]>(
      "SELECT min(not_before) AS at FROM notify_notifications WHERE destination_id = $1 AND status = 'pending'",
      [destinationId],
    );
    return rows[0]?.at ?? null;
  }

  async markAudited(tx: Queryable, id: string): Promise<void> {
    await tx.query('UPDATE notify_notifications SET audited = true WHERE id = $1', [id]);
  }

  async markDelivered(
    tx: Queryable,
    id: string,
    attempt: number,
    latencyMs: number,
    httpStatus: number | null,
  ): Promise<void> {
    await tx.query(
      `UPDATE notify_notifications SET status = 'delivered', attempts = $2, delivered_at = now(), last_error = NULL
        WHERE id = $1 AND status = 'pending'`,
      [id, attempt],
    );
    await this.logAttempt(tx, id, attempt, 'delivered', httpStatus, null, latencyMs);
  }

  /** A failed attempt: retried after `retryInMs`, or parked when `park`. */
  async markFailed(
    tx: Queryable,
    id: string,
    attempt: number,
    failure: { readonly error: string; readonly httpStatus: number | null; readonly latencyMs: number },
    next: { readonly park: boolean; readonly retryInMs: number; readonly countAttempt: boolean },
  ): Promise<void> {
    await tx.query(
      `UPDATE notify_notifications
          SET attempts = CASE WHEN $5 THEN $2 ELSE attempts END, last_error = $3,
              status = CASE WHEN $4 THEN 'parked' ELSE status END,
              status_reason = CASE WHEN $4 THEN 'retries exhausted' ELSE status_reason END,
              not_before = now() + make_interval(secs => $6::double precision / 1000)
        WHERE id = $1 AND status = 'pending'`,
      [id, attempt, failure.error.slice(0, 500), next.park, next.countAttempt, next.retryInMs],
    );
    await this.logAttempt(
      tx,
      id,
      attempt,
      next.park ? 'parked' : 'failed',
      failure.httpStatus,
      failure.error,
      failure.latencyMs,
    );
  }

  /** Consent no longer allows it (or the subscription ended): never sent. */
  async suppress(tx: Queryable, id: string, reason: string): Promise<void> {
    await tx.query(
      `UPDATE notify_notifications SET status = 'suppressed', status_reason = $2 WHERE id = $1 AND status = 'pending'`,
      [id, reason],
    );
  }

  /** Pushes a destination's pending notifications back (its breaker is open). */
  async postponeDestination(tx: Queryable, destinationId: string, until: Date): Promise<void> {
    await tx.query(
      `UPDATE notify_notifications SET not_before = greatest(not_before, $2)
        WHERE destination_id = $1 AND status = 'pending'`,
      [destinationId, until],
    );
  }

  private async logAttempt(
    tx: Queryable,
    id: string,
    attempt: number,
    outcome: string,
    httpStatus: number | null,
    error: string | null,
    latencyMs: number,
  ): Promise<void> {
    await tx.query(
      `INSERT INTO notify_delivery_attempts (notification_id, attempt, subscription_id, outcome, http_status, error, latency_ms)
       SELECT $1, $2, subscription_id, $3, $4, $5, $6 FROM notify_notifications WHERE id = $1
       ON CONFLICT (notification_id, attempt) DO UPDATE SET outcome = EXCLUDED.outcome, at = now()`,
      [id, attempt, outcome, httpStatus, error?.slice(0, 500) ?? null, Math.round(latencyMs)],
    );
  }

  /** `$events`: the subscription's event notifications numbered from..to (inclusive), oldest first. */
  async events(tx: Queryable, subscriptionId: string, from: number, to: number): Promise<NotificationRow[]> {
    const rows = await tx.query<DbRow[]>(
      `SELECT ${COLUMNS} FROM notify_notifications
        WHERE subscription_id = $1 AND kind = 'event-notification' AND event_number BETWEEN $2 AND $3
          AND status <> 'suppressed'
        ORDER BY event_number LIMIT 200`,
      [subscriptionId, from, to],
    );
    return rows.map(toRow);
  }

  async deliveryLog(
    tx: Queryable,
    subscriptionId: string,
    status: NotificationStatus | undefined,
    offset: number,
    limit: number,
  ): Promise<DeliveryLogEntry[]> {
    return this.log(
      tx,
      'subscription_id = $1 AND ($2::text IS NULL OR status = $2)',
      [subscriptionId, status ?? null],
      offset,
      limit,
    );
  }

  /** Operators: parked notifications (optionally of one subscription), newest first. */
  async parked(
    tx: Queryable,
    subscriptionId: string | undefined,
    limit: number,
  ): Promise<DeliveryLogEntry[]> {
    return this.log(
      tx,
      "status = 'parked' AND ($1::text IS NULL OR subscription_id = $1)",
      [subscriptionId ?? null],
      0,
      limit,
    );
  }

  private async log(
    tx: Queryable,
    where: string,
    params: readonly unknown[],
    offset: number,
    limit: number,
  ): Promise<DeliveryLogEntry[]> {
    const rows = await tx.query<
      {
        id: string;
        subscription_id: string;
        event_number: string | null;
        kind: string;
        topic: string | null;
        status: NotificationStatus;
        status_reason: string | null;
        attempts: number;
        last_error: string | null;
        created_at: Date;
        delivered_at: Date | null;
        event_time: Date;
      }[]
    >(
      `SELECT id, subscription_id, event_number, kind, topic, status, status_reason, attempts, last_error, created_at,
              delivered_at, event_time
         FROM notify_notifications WHERE ${where}
        ORDER BY seq DESC OFFSET $${params.length + 1} LIMIT $${params.length + 2}`,
      [...params, offset, limit],
    );
    return rows.map((r) => ({
      notificationId: r.id,
      subscriptionId: r.subscription_id,
      eventNumber: r.event_number === null ? null : Number(r.event_number),
      kind: r.kind,
      topic: r.topic,
      status: r.status,
      statusReason: r.status_reason,
      attempts: r.attempts,
      lastError: r.last_error,
      createdAt: r.created_at.toISOString(),
      deliveredAt: r.delivered_at?.toISOString() ?? null,
      latencyMs: r.delivered_at === null ? null : r.delivered_at.getTime() - r.event_time.getTime(),
    }));
  }

  /** Parked → pending, attempts reset, due now. Returns how many go out again. */
  async redrive(
    tx: Queryable,
    filter: { readonly id?: string; readonly subscriptionId?: string },
  ): Promise<number> {
    const rows = returnedRows<{ destination_id: string }>(
      await tx.query(
        `UPDATE notify_notifications SET status = 'pending', status_reason = 'redriven', attempts = 0, not_before = now()
        WHERE status = 'parked' AND ($1::text IS NULL OR id = $1) AND ($2::text IS NULL OR subscription_id = $2)
        RETURNING destination_id`,
        [filter.id ?? null, filter.subscriptionId ?? null],
      ),
    );
    const destinations = [...new Set(rows.map((r) => r.destination_id))];
    for (const d of destinations) await tx.query('SELECT pg_notify($1, $2)', [NOTIFY_CHANNEL, d]);
    return rows.length;
  }

  async find(tx: Queryable, id: string): Promise<NotificationRow | undefined> {
    const rows = await tx.query<DbRow[]>(`SELECT ${COLUMNS} FROM notify_notifications WHERE id = $1`, [id]);
    return rows[0] === undefined ? undefined : toRow(rows[0]);
  }
}
