import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { SubscriptionRequest } from '@tessera/subscriptions';

type Queryable = Pick<EntityManager, 'query'>;

export type SubscriptionStatus = 'requested' | 'active' | 'error' | 'off';

export interface WebhookSecret {
  readonly secret: string;
  readonly createdAt: string;
  /** After this instant the secret no longer signs (set when a newer one replaces it). */
  readonly retiresAt?: string;
}

export interface SubscriptionRow {
  readonly id: string;
  readonly ownerInstitution: string;
  readonly clientId: string;
  readonly purposeOfUse: string;
  readonly topic: string;
  readonly rosterKind: 'group' | 'implicit';
  readonly rosterId: string | null;
  readonly classes: readonly string[];
  readonly institutions: readonly string[];
  readonly destinationId: string;
  readonly channelType: 'rest-hook' | 'hl7v2-mllp';
  readonly endpoint: string;
  readonly payload: string;
  readonly request: SubscriptionRequest;
  readonly channelHeaders: readonly string[];
  readonly secrets: readonly WebhookSecret[];
  readonly heartbeatSeconds: number | null;
  readonly endAt: Date | null;
  readonly status: SubscriptionStatus;
  readonly error: string | null;
  readonly eventsSinceStart: number;
  readonly version: number;
  readonly lastSentAt: Date | null;
}

interface DbRow {
  id: string;
  owner_institution: string;
  client_id: string;
  purpose_of_use: string;
  topic: string;
  roster_kind: 'group' | 'implicit';
  roster_id: string | null;
  classes: string[];
  institutions: string[];
  destination_id: string;
  channel_type: 'rest-hook' | 'hl7v2-mllp';
  endpoint: string;
  payload: string;
  request: SubscriptionRequest;
  channel_headers: string[];
  secrets: WebhookSecret[];
  heartbeat_seconds: number | null;
  end_at: Date | null;
  status: SubscriptionStatus;
  error: string | null;
  events_since_start: string;
  version: number;
  last_sent_at: Date | null;
}

const COLUMNS = `s.id, s.owner_institution, s.client_id, s.purpose_of_use, s.topic, s.roster_kind, s.roster_id,
  s.classes, s.institutions, s.destination_id, d.channel_type, d.endpoint, s.payload, s.request, s.channel_headers,
  s.secrets, s.heartbeat_seconds, s.end_at, s.status, s.error, s.events_since_start, s.version, s.last_sent_at`;
const FROM = 'notify_subscriptions s JOIN notify_destinations d ON d.id = s.destination_id';

function toRow(r: DbRow): SubscriptionRow {
  return {
    id: r.id,
    ownerInstitution: r.owner_institution,
    clientId: r.client_id,
    purposeOfUse: r.purpose_of_use,
    topic: r.topic,
    rosterKind: r.roster_kind,
    rosterId: r.roster_id,
    classes: r.classes,
    institutions: r.institutions,
    destinationId: r.destination_id,
    channelType: r.channel_type,
    endpoint: r.endpoint,
    payload: r.payload,
    request: r.request,
    channelHeaders: r.channel_headers,
    secrets: r.secrets,
    heartbeatSeconds: r.heartbeat_seconds,
    endAt: r.end_at,
    status: r.status,
    error: r.error,
    eventsSinceStart: Number(r.events_since_start),
    version: r.version,
    lastSentAt: r.last_sent_at,
  };
}

export interface NewSubscription {
  readonly id: string;
  readonly ownerInstitution: string;
  readonly clientId: string;
  readonly purposeOfUse: string;
  readonly request: SubscriptionRequest;
  readonly destinationId: string;
  readonly secret: WebhookSecret;
}

/** Subscriptions and the destinations (subscriber endpoints) they deliver to. */
@Injectable()
export class SubscriptionRepository {
  /** The destination of (institution, channel, endpoint), created on first use. */
  async destination(
    tx: Queryable,
    ownerInstitution: string,
    channelType: string,
    endpoint: string,
    newId: string,
    breaker: unknown,
  ): Promise<string> {
    const rows = await tx.query<{ id: string }[]>(
      `INSERT INTO notify_destinations (id, owner_institution, channel_type, endpoint, breaker)
       VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (owner_institution, channel_type, endpoint) DO UPDATE SET endpoint = EXCLUDED.endpoint
       RETURNING id`,
      [newId, ownerInstitution, channelType, endpoint, JSON.stringify(breaker)],
    );
    return rows[0]?.id ?? newId;
  }

  async insert(tx: Queryable, s: NewSubscription): Promise<void> {
    const r = s.request;
    await tx.query(
      `INSERT INTO notify_subscriptions (id, owner_institution, client_id, purpose_of_use, topic, roster_kind,
         roster_id, classes, institutions, destination_id, payload, request, channel_headers, secrets,
         heartbeat_seconds, end_at, status)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, 'requested')`,
      [
        s.id,
        s.ownerInstitution,
        s.clientId,
        s.purposeOfUse,
        r.topic.code,
        r.roster.kind,
        r.roster.kind === 'group' ? r.roster.groupId : null,
        r.classes,
        r.institutions,
        s.destinationId,
        r.channel.type === 'rest-hook' ? r.channel.payload : 'full-resource',
        JSON.stringify(withoutHeaders(r)),
        JSON.stringify(r.channel.type === 'rest-hook' ? r.channel.headers : []),
        JSON.stringify([s.secret]),
        r.heartbeatPeriodSeconds ?? null,
        r.end ?? null,
      ],
    );
  }

  async find(tx: Queryable, id: string, forUpdate = false): Promise<SubscriptionRow | undefined> {
    const rows = await tx.query<DbRow[]>(
      `SELECT ${COLUMNS} FROM ${FROM} WHERE s.id = $1 ${forUpdate ? 'FOR UPDATE OF s' : ''}`,
      [id],
    );
    return rows[0] === undefined ? undefined : toRow(rows[0]);
  }

  async listOwned(tx: Queryable, ownerInstitution: string, status?: string): Promise<SubscriptionRow[]> {
    const rows = await tx.query<DbRow[]>(
      `SELECT ${COLUMNS} FROM ${FROM} WHERE s.owner_institution = $1 AND ($2::text IS NULL OR s.status = $2)
        ORDER BY s.created_at, s.id LIMIT 500`,
      [ownerInstitution, status ?? null],
    );
    return rows.map(toRow);
  }

  /**
   * Live subscriptions to any of `topics` that could concern a person: implicit rosters (the
   * consent policy then says whether the subscriber holds a record) and the rosters listed.
   */
  async candidates(
    tx: Queryable,
    topics: readonly string[],
    rosterIds: readonly string[],
  ): Promise<SubscriptionRow[]> {
    const rows = await tx.query<DbRow[]>(
      `SELECT ${COLUMNS} FROM ${FROM}
        WHERE s.topic = ANY($1) AND s.status <> 'off' AND (s.end_at IS NULL OR s.end_at > now())
          AND (s.roster_kind = 'implicit' OR s.roster_id = ANY($2))`,
      [topics, rosterIds],
    );
    return rows.map(toRow);
  }

  async setStatus(
    tx: Queryable,
    id: string,
    status: SubscriptionStatus,
    error: string | null,
  ): Promise<void> {
    await tx.query(
      `UPDATE notify_subscriptions SET status = $2, error = $3, updated_at = now()
        WHERE id = $1 AND status <> 'off' AND (status <> $2 OR error IS DISTINCT FROM $3)`,
      [id, status, error],
    );
  }

  /** A client's change: status off (or back to requested), end. Bumps the version (ETag). */
  async update(
    tx: Queryable,
    id: string,
    change: { readonly status: SubscriptionStatus; readonly endAt: string | null },
  ): Promise<void> {
    await tx.query(
      `UPDATE notify_subscriptions SET status = $2, end_at = $3, error = NULL, version = version + 1, updated_at = now()
        WHERE id = $1`,
      [id, change.status, change.endAt],
    );
  }

  async replaceSecrets(tx: Queryable, id: string, secrets: readonly WebhookSecret[]): Promise<void> {
    await tx.query('UPDATE notify_subscriptions SET secrets = $2, updated_at = now() WHERE id = $1', [
      id,
      JSON.stringify(secrets),
    ]);
  }

  async touchSent(tx: Queryable, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await tx.query('UPDATE notify_subscriptions SET last_sent_at = now() WHERE id = ANY($1)', [ids]);
  }

  /** Active subscriptions with a heartbeat period that sent nothing for that long. */
  async heartbeatsDue(tx: Queryable, destinationId: string): Promise<SubscriptionRow[]> {
    const rows = await tx.query<DbRow[]>(
      `SELECT ${COLUMNS} FROM ${FROM}
        WHERE s.destination_id = $1 AND s.status = 'active' AND s.heartbeat_seconds IS NOT NULL
          AND coalesce(s.last_sent_at, s.created_at) < now() - make_interval(secs => s.heartbeat_seconds)`,
      [destinationId],
    );
    return rows.map(toRow);
  }
}

/** Channel headers may carry the subscriber's secrets: they are kept apart and never returned. */
function withoutHeaders(r: SubscriptionRequest): SubscriptionRequest {
  return r.channel.type === 'rest-hook' ? { ...r, channel: { ...r.channel, headers: [] } } : r;
}
