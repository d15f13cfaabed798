import { createHash, randomUUID } from 'node:crypto';
import { HttpStatus, Inject, Injectable } from '@nestjs/common';
import type { Bundle, Subscription } from '@medplum/fhirtypes';
import { DataSource } from 'typeorm';
import type { EntityManager } from 'typeorm';
import { OperationOutcomeException } from '@tessera/platform-service';
import {
  initialBreaker,
  newWebhookSecret,
  parseSubscription,
  statusBundle,
  subscriptionResource,
  subscriptionStatusParameters,
  topicByCode,
} from '@tessera/subscriptions';
import type { PayloadContent, SubscriptionProblem, SubscriptionRequest } from '@tessera/subscriptions';
import { outcomeError } from '../../http/outcome';
import { bundleFor, notificationEventOf } from '../delivery/notification-payload.mapper';
import { disclosureOf, NotifyConsentPolicy } from '../notify-consent.policy';
import { NOTIFY_SETTINGS } from '../notify.config';
import type { NotifySettings } from '../notify.config';
import { NotificationRepository } from '../notifications/notification.repository';
import type {
  DeliveryLogEntry,
  NewNotification,
  NotificationRow,
  NotificationStatus,
} from '../notifications/notification.repository';
import { RosterRepository } from '../rosters/roster.repository';
import { SubscriptionRepository } from './subscription.repository';
import type { SubscriptionRow, SubscriptionStatus } from './subscription.repository';
import { rotate } from './webhook-secrets';
import { checkVersion } from '../if-match';

export interface Subscriber {
  readonly institutionId: string;
  readonly clientId: string;
  readonly purposeOfUse: string;
}

export interface CreatedSubscription {
  readonly resource: Subscription;
  readonly version: number;
  /** The webhook signing secret, shown once (rest-hook only). */
  readonly secret: string | undefined;
}

/** The events a `$events` call returned, for its audit record. */
export interface EventsAnswer {
  readonly bundle: Bundle;
  readonly patients: readonly string[];
  readonly items: readonly { readonly reference: string; readonly sourceInstitution: string | null }[];
}

const DEFAULT_EVENTS = 20;

/**
 * Topic-based subscriptions (docs/design/notifications.md "Subscriptions"): the use cases behind
 * the Subscription routes. A subscription belongs to the institution that created it; another
 * institution's is answered as not found. It starts `requested`; the handshake delivered to its
 * endpoint makes it `active`. Only its status and end can change afterwards; anything else is a
 * new subscription.
 */
@Injectable()
export class SubscriptionHandler {
  constructor(
    private readonly dataSource: DataSource,
    private readonly subscriptions: SubscriptionRepository,
    private readonly rosters: RosterRepository,
    private readonly notifications: NotificationRepository,
    private readonly consent: NotifyConsentPolicy,
    @Inject(NOTIFY_SETTINGS) private readonly settings: NotifySettings,
  ) {}

  async create(subscriber: Subscriber, body: unknown): Promise<CreatedSubscription> {
    const request = this.parse(body);
    const id = randomUUID();
    const secret = newWebhookSecret();
    await this.dataSource.transaction(async (tx) => {
      if (request.roster.kind === 'group') {
        const roster = await this.rosters.find(tx, request.roster.groupId);
        if (roster === undefined || roster.ownerInstitution !== subscriber.institutionId)
          throw outcomeError(
            HttpStatus.UNPROCESSABLE_ENTITY,
            'invalid',
            'the roster (Group) named in the criteria does not exist or is not your institution’s',
            'Subscription.criteria',
          );
      }
      const destinationId = await this.subscriptions.destination(
        tx,
        subscriber.institutionId,
        request.channel.type,
        request.channel.endpoint,
        destinationKey(subscriber.institutionId, request.channel.type, request.channel.endpoint),
        initialBreaker(this.settings.NOTIFY_BREAKER_COOLDOWN_MS),
      );
      await this.subscriptions.insert(tx, {
        id,
        ownerInstitution: subscriber.institutionId,
        clientId: subscriber.clientId,
        purposeOfUse: subscriber.purposeOfUse,
        request,
        destinationId,
        secret: { secret, createdAt: new Date().toISOString() },
      });
      // The handshake (IG "Handshake"): the endpoint proves it answers before any event goes to it.
      await this.notifications.enqueue(tx, handshakeOf(id, destinationId, `handshake-${id}`));
    });
    const row = await this.owned(this.dataSource.manager, subscriber.institutionId, id);
    return {
      resource: this.resourceOf(row),
      version: row.version,
      secret: request.channel.type === 'rest-hook' ? secret : undefined,
    };
  }

  async read(owner: string, id: string): Promise<{ resource: Subscription; version: number }> {
    const row = await this.owned(this.dataSource.manager, owner, id);
    return { resource: this.resourceOf(row), version: row.version };
  }

  async list(owner: string, status: string | undefined, fhirBase: string): Promise<Bundle> {
    if (status !== undefined && !['requested', 'active', 'error', 'off'].includes(status))
      throw outcomeError(400, 'value', 'status must be requested, active, error or off', 'status');
    const rows = await this.subscriptions.listOwned(this.dataSource.manager, owner, status);
    return {
      resourceType: 'Bundle',
      type: 'searchset',
      total: rows.length,
      entry: rows.map((row) => ({
        fullUrl: `${fhirBase}/Subscription/${row.id}`,
        resource: this.resourceOf(row),
        search: { mode: 'match' as const },
      })),
    };
  }

  /** PUT: only `status` (off, or requested to start again) and `end` may change. */
  async update(
    owner: string,
    id: string,
    body: unknown,
    ifMatch: string | undefined,
  ): Promise<{ resource: Subscription; version: number }> {
    const b = body as { resourceType?: unknown; id?: unknown; status?: unknown; end?: unknown };
    if (b?.resourceType !== 'Subscription')
      throw outcomeError(400, 'invalid', 'the body must be a Subscription', 'resourceType');
    if (b.id !== undefined && b.id !== id)
      throw outcomeError(400, 'invalid', 'the body id differs from the URL', 'Subscription.id');
    if (b.status !== 'off' && b.status !== 'requested' && b.status !== 'active')
      throw outcomeError(
        400,
        'value',
        'status may be set to off, or to requested (start again)',
        'Subscription.status',
      );
    if (b.end !== undefined && (typeof b.end !== 'string' || Number.isNaN(Date.parse(b.end))))
      throw outcomeError(400, 'value', 'end must be an instant', 'Subscription.end');
    await this.dataSource.transaction(async (tx) => {
      const row = await this.owned(tx, owner, id, true);
      checkVersion(row.version, ifMatch);
      const next: SubscriptionStatus =
        b.status === 'off' ? 'off' : row.status === 'off' ? 'requested' : row.status;
      await this.subscriptions.update(tx, id, { status: next, endAt: (b.end as string | undefined) ?? null });
      if (row.status === 'off' && next === 'requested')
        await this.notifications.enqueue(
          tx,
          handshakeOf(id, row.destinationId, `handshake-${id}-${row.version + 1}`),
        );
    });
    return this.read(owner, id);
  }

  /** `$status` (IG): the SubscriptionStatus of one subscription, in a searchset Bundle. */
  async status(owner: string, id: string, fhirBase: string): Promise<Bundle> {
    const row = await this.owned(this.dataSource.manager, owner, id);
    return statusBundle([
      subscriptionStatusParameters({
        timestamp: new Date().toISOString(),
        subscription: { reference: `${fhirBase}/Subscription/${row.id}` },
        topicUrl: topicByCode(row.topic)?.url ?? row.topic,
        status: row.status,
        type: 'query-status',
        eventsSinceSubscriptionStart: row.eventsSinceStart,
        events: [],
        ...(row.error === null ? {} : { errors: [row.error] }),
      }),
    ]);
  }

  /**
   * `$events` (IG): notifications by event number, so a subscriber can fetch what it missed. Each
   * is re-checked against consent now, as at delivery; those no longer permitted are left out.
   */
  async events(
    owner: string,
    id: string,
    query: { readonly since?: number; readonly until?: number; readonly content?: string },
    fhirBase: string,
  ): Promise<EventsAnswer> {
    const row = await this.owned(this.dataSource.manager, owner, id);
    const content = query.content ?? row.payload;
    if (!['empty', 'id-only', 'full-resource'].includes(content))
      throw outcomeError(400, 'value', 'content must be empty, id-only or full-resource', 'content');
    const until = query.until ?? row.eventsSinceStart;
    const since = query.since ?? Math.max(1, until - DEFAULT_EVENTS + 1);
    if (since < 1 || until < since)
      throw outcomeError(
        400,
        'value',
        'eventsSinceNumber must be ≥ 1 and ≤ eventsUntilNumber',
        'eventsSinceNumber',
      );
    const rows = await this.notifications.events(
      this.dataSource.manager,
      id,
      since,
      Math.min(until, since + 199),
    );
    const shown: NotificationRow[] = [];
    for (const n of rows) if (await this.consent.stillPermits(disclosureOf(row, n))) shown.push(n);
    const bundle = bundleFor(
      row,
      'query-event',
      shown.map((n) => notificationEventOf(n, fhirBase)),
      fhirBase,
      content as PayloadContent,
    );
    return {
      bundle,
      patients: [...new Set(shown.map((n) => n.enterpriseId).filter((p): p is string => p !== null))],
      items: shown.map((n) => ({
        reference: `${n.focusType ?? ''}/${n.focusId ?? ''}`,
        sourceInstitution: n.sourceInstitution,
      })),
    };
  }

  /** Parked notifications of the subscription (or one of them) go out again, from attempt 1. */
  async redrive(owner: string, id: string, notificationId: string | undefined): Promise<number> {
    return this.dataSource.transaction(async (tx) => {
      await this.owned(tx, owner, id);
      return this.notifications.redrive(tx, {
        subscriptionId: id,
        ...(notificationId === undefined ? {} : { id: notificationId }),
      });
    });
  }

  async rotateSecret(owner: string, id: string, retireOld: boolean): Promise<string> {
    return this.dataSource.transaction(async (tx) => {
      const row = await this.owned(tx, owner, id, true);
      if (row.channelType !== 'rest-hook')
        throw outcomeError(
          400,
          'not-supported',
          'only rest-hook subscriptions are signed',
          'Subscription.channel.type',
        );
      const next = rotate(row.secrets, new Date(), this.settings.NOTIFY_SECRET_OVERLAP_HOURS, retireOld);
      await this.subscriptions.replaceSecrets(tx, id, next.secrets);
      return next.secret;
    });
  }

  async deliveries(
    owner: string,
    id: string,
    query: { readonly status?: string; readonly count: number; readonly offset: number },
  ): Promise<DeliveryLogEntry[]> {
    if (
      query.status !== undefined &&
      !['pending', 'delivered', 'parked', 'suppressed'].includes(query.status)
    )
      throw outcomeError(400, 'value', 'status must be pending, delivered, parked or suppressed', 'status');
    await this.owned(this.dataSource.manager, owner, id);
    return this.notifications.deliveryLog(
      this.dataSource.manager,
      id,
      query.status as NotificationStatus | undefined,
      query.offset,
      query.count,
    );
  }

  private parse(body: unknown): SubscriptionRequest {
    const parsed = parseSubscription(body, {
      allowInsecureLoopback: this.settings.NOTIFY_ALLOW_INSECURE_LOOPBACK,
    });
    if (Array.isArray(parsed)) {
      const problems = parsed as readonly SubscriptionProblem[];
      throw new OperationOutcomeException(
        HttpStatus.BAD_REQUEST,
        problems.map((p) => ({ code: 'invalid' as const, diagnostics: p.message, expression: p.location })),
      );
    }
    const request = parsed as SubscriptionRequest;
    if (request.channel.type === 'hl7v2-mllp' && request.topic.resourceType !== 'Encounter')
      throw outcomeError(
        HttpStatus.BAD_REQUEST,
        'not-supported',
        'HL7 v2 notifications are ADT messages: subscribe to an encounter topic on this channel, or use rest-hook',
        'Subscription.criteria',
      );
    return request;
  }

  private async owned(
    tx: EntityManager,
    owner: string,
    id: string,
    forUpdate = false,
  ): Promise<SubscriptionRow> {
    const row = await this.subscriptions.find(tx, id, forUpdate);
    if (row === undefined || row.ownerInstitution !== owner)
      throw outcomeError(
        HttpStatus.NOT_FOUND,
        'not-found',
        'no subscription with this id belongs to your institution',
        'id',
      );
    return row;
  }

  private resourceOf(row: SubscriptionRow): Subscription {
    return subscriptionResource({
      id: row.id,
      request: row.request,
      status: row.status,
      ...(row.error === null ? {} : { error: row.error }),
      eventsSinceSubscriptionStart: row.eventsSinceStart,
    });
  }
}

/** The handshake (IG "Handshake") of a subscription: queued like a notification, ahead of any event. */
function handshakeOf(subscriptionId: string, destinationId: string, id: string): NewNotification {
  return {
    id,
    subscriptionId,
    destinationId,
    kind: 'handshake',
    enterpriseId: null,
    topic: null,
    focusType: null,
    focusId: null,
    trigger: null,
    sourceInstitution: null,
    sourceEventId: null,
    snapshot: null,
    labels: [],
    closedByRule: false,
    eventTime: new Date().toISOString(),
    coalesceMs: 0,
  };
}

/** One destination per (institution, channel, endpoint): its id is derived, so concurrent creates agree. */
function destinationKey(institution: string, channel: string, endpoint: string): string {
  return createHash('sha256')
    .update(`${institution}\n${channel}\n${endpoint}`)
    .digest('base64url')
    .slice(0, 24);
}
