import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Inject, Injectable } from '@nestjs/common';
import type { OnApplicationBootstrap } from '@nestjs/common';
import { Client } from 'pg';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import type { EntityManager } from 'typeorm';
import { AuditWriter } from '@tessera/platform-audit';
import { HealthRegistry, LifecycleService, LOGGER, PLATFORM_SETTINGS } from '@tessera/platform-service';
import type { PlatformSettings } from '@tessera/platform-service';
import {
  breakerAllows,
  breakerOnFailure,
  breakerOnProbe,
  breakerOnSuccess,
  retryDelayMs,
} from '@tessera/subscriptions';
import type { BreakerState } from '@tessera/subscriptions';
import { EXCHANGE_SETTINGS } from '../../exchange.config';
import type { ExchangeSettings } from '../../exchange.config';
import { NOTIFY_CHANNEL, NotificationRepository } from '../notifications/notification.repository';
import type { NotificationRow } from '../notifications/notification.repository';
import { disclosureOf, NotifyConsentPolicy } from '../notify-consent.policy';
import { delivers, NOTIFY_SETTINGS } from '../notify.config';
import type { NotifySettings } from '../notify.config';
import { SubscriptionRepository } from '../subscriptions/subscription.repository';
import type { SubscriptionRow } from '../subscriptions/subscription.repository';
import { activeSecrets } from '../subscriptions/webhook-secrets';
import { DeliveryChannels } from './delivery.channels';
import type { SendResult } from './webhook.sender';
import { returnedRows } from '../sql-result';

interface ClaimedDestination {
  readonly id: string;
  readonly channelType: 'rest-hook' | 'hl7v2-mllp';
  readonly endpoint: string;
  breaker: BreakerState;
}

/**
 * Delivers queued notifications (docs/design/notifications.md "Delivery"). Each destination (a
 * subscriber's endpoint) is served by one worker at a time, under a lease in Postgres that a
 * crashed worker loses after NOTIFY_LEASE_MS, so any number of exchange replicas can run this.
 * Per destination, in rounds: at most one notification per patient in flight (a patient's
 * notifications go in order), at most NOTIFY_CONCURRENCY_PER_DESTINATION in flight; a failed one is
 * retried with exponential backoff and jitter and parked after NOTIFY_RETRY_ATTEMPTS; failures of
 * the endpoint itself open its circuit breaker, after which only a probe (a heartbeat) is sent until
 * the endpoint answers again — so a long outage parks nothing, and one dead endpoint costs the
 * others nothing. Delivery is at least once: a crash between the subscriber's 2xx and the commit
 * resends with the same idempotency key and event number, which the subscriber drops.
 */
@Injectable()
export class DeliveryWorker implements OnApplicationBootstrap {
  private readonly owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly running = new Map<string, Promise<void>>();
  private listener: Client | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopping = false;
  private ticking = false;
  private again = false;
  private lastError: string | null = null;
  private delivered = 0;

  constructor(
    private readonly dataSource: DataSource,
    private readonly notifications: NotificationRepository,
    private readonly subscriptions: SubscriptionRepository,
    private readonly consent: NotifyConsentPolicy,
    private readonly channels: DeliveryChannels,
    private readonly audit: AuditWriter,
    @Inject(NOTIFY_SETTINGS) private readonly settings: NotifySettings,
    @Inject(EXCHANGE_SETTINGS) private readonly exchange: ExchangeSettings,
    @Inject(PLATFORM_SETTINGS) private readonly platform: PlatformSettings,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly lifecycle: LifecycleService,
    private readonly health: HealthRegistry,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!delivers(this.settings)) return;
    this.lifecycle.register({ name: 'notify-delivery', stage: 15, drain: () => this.stop() });
    this.health.add({
      name: 'notify-delivery',
      check: async () => {
        if (this.stopping) throw new Error('delivery worker stopping');
      },
    });
    await this.listen();
    this.schedule(0);
  }

  /** Stops claiming, lets in-flight rounds finish, and gives the leases back. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    await Promise.allSettled([...this.running.values()]);
    await this.dataSource
      .query('UPDATE notify_destinations SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = $1', [
        this.owner,
      ])
      .catch(() => undefined);
    await this.listener?.end().catch(() => undefined);
  }

  stats(): { delivered: number; destinations: number; lastError: string | null } {
    return { delivered: this.delivered, destinations: this.running.size, lastError: this.lastError };
  }

  private async listen(): Promise<void> {
    const { PGHOST, PGPORT, PGUSER, PGPASSWORD } = this.platform.postgres;
    const client = new Client({
      host: PGHOST,
      port: PGPORT,
      user: PGUSER,
      password: PGPASSWORD,
      database: this.platform.service.DB_NAME,
      application_name: 'exchange-notify-listener',
    });
    client.on('notification', () => {
      this.schedule(0);
    });
    client.on('error', (error) => {
      this.logger.warn(
        { err: { name: error.name, message: error.message } },
        'notify listener lost; polling',
      );
      this.listener = undefined;
    });
    await client.connect();
    await client.query(`LISTEN ${NOTIFY_CHANNEL}`);
    this.listener = client;
  }

  /**
   * One claim at a time: a wake-up (pg_notify for every queued notification) while a claim runs only
   * asks for one more afterwards, so a busy feed never piles claims up on the connection pool.
   */
  private schedule(delayMs: number): void {
    if (this.stopping) return;
    if (this.ticking) {
      this.again = true;
      return;
    }
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), delayMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    this.ticking = true;
    this.again = false;
    try {
      const claimed = await this.claim();
      for (const destination of claimed) {
        if (this.running.has(destination.id)) continue;
        const run = this.serve(destination)
          .catch((error: unknown) => {
            this.lastError = (error as Error).message;
            this.logger.error(
              { err: { name: (error as Error).name, message: (error as Error).message } },
              'delivery round failed',
            );
          })
          .finally(() => this.running.delete(destination.id));
        this.running.set(destination.id, run);
      }
    } catch (error) {
      this.lastError = (error as Error).message;
      this.logger.warn(
        { err: { name: (error as Error).name, message: (error as Error).message } },
        'claiming destinations failed',
      );
    } finally {
      this.ticking = false;
    }
    this.schedule(this.again ? 0 : this.settings.NOTIFY_POLL_MS);
  }

  /** Destinations with due work (or a due probe/heartbeat) whose lease is free, expired or ours. */
  private async claim(): Promise<ClaimedDestination[]> {
    const free = this.settings.NOTIFY_DESTINATIONS_PER_WORKER - this.running.size;
    if (free <= 0) return [];
    type Claimed = {
      id: string;
      channel_type: 'rest-hook' | 'hl7v2-mllp';
      endpoint: string;
      breaker: BreakerState;
    };
    const list = returnedRows<Claimed>(
      await this.dataSource.query(
        `UPDATE notify_destinations d SET lease_owner = $1, lease_until = now() + make_interval(secs => $2::double precision / 1000)
        WHERE d.id IN (
          SELECT c.id FROM notify_destinations c
           WHERE (c.lease_until IS NULL OR c.lease_until < now() OR c.lease_owner = $1)
             AND (EXISTS (SELECT 1 FROM notify_notifications n
                           WHERE n.destination_id = c.id AND n.status = 'pending' AND n.not_before <= now())
                  OR EXISTS (SELECT 1 FROM notify_subscriptions s
                              WHERE s.destination_id = c.id AND s.status = 'active' AND s.heartbeat_seconds IS NOT NULL
                                AND coalesce(s.last_sent_at, s.created_at) < now() - make_interval(secs => s.heartbeat_seconds)))
           ORDER BY c.lease_until NULLS FIRST LIMIT $3 FOR UPDATE SKIP LOCKED)
        RETURNING d.id, d.channel_type, d.endpoint, d.breaker`,
        [this.owner, this.settings.NOTIFY_LEASE_MS, free],
      ),
    );
    return list.map((r) => ({
      id: r.id,
      channelType: r.channel_type,
      endpoint: r.endpoint,
      breaker: r.breaker,
    }));
  }

  /** Rounds on one destination until it has nothing due, its breaker says wait, or we stop. */
  private async serve(destination: ClaimedDestination): Promise<void> {
    while (!this.stopping) {
      const verdict = breakerAllows(destination.breaker, Date.now());
      if (verdict === 'wait') break;
      if (verdict === 'probe') {
        if (!(await this.probe(destination))) break;
        continue;
      }
      await this.heartbeats(destination);
      const due = await this.notifications.due(
        this.dataSource.manager,
        destination.id,
        [],
        this.settings.NOTIFY_CONCURRENCY_PER_DESTINATION,
      );
      if (due.length === 0) break;
      // One read per subscription per round, not one per notification.
      const subscriptions = new Map<string, Promise<SubscriptionRow | undefined>>();
      const subscriptionOf = (id: string) => {
        if (!subscriptions.has(id))
          subscriptions.set(id, this.subscriptions.find(this.dataSource.manager, id));
        return subscriptions.get(id) as Promise<SubscriptionRow | undefined>;
      };
      const results = await Promise.all(
        due.map(async (row) => this.deliverOne(destination, row, await subscriptionOf(row.subscriptionId))),
      );
      for (const result of results) if (result !== undefined) this.recordOutcome(destination, result);
      await this.saveBreaker(destination);
      if (!(await this.renewLease(destination.id))) return;
    }
    await this.saveBreaker(destination);
  }

  /** One notification: consent re-checked, audited once, sent, and its outcome recorded. */
  private async deliverOne(
    destination: ClaimedDestination,
    row: NotificationRow,
    subscription: SubscriptionRow | undefined,
  ): Promise<SendResult | undefined> {
    const manager = this.dataSource.manager;
    if (
      subscription === undefined ||
      subscription.status === 'off' ||
      (subscription.endAt !== null && subscription.endAt < new Date())
    ) {
      await this.notifications.suppress(manager, row.id, 'subscription ended');
      return undefined;
    }
    if (row.kind === 'event-notification') {
      if (!(await this.consent.stillPermits(disclosureOf(subscription, row)))) {
        await this.notifications.suppress(manager, row.id, 'consent');
        return undefined;
      }
      if (!row.audited) {
        await this.recordDisclosure(subscription, row);
        await this.notifications.markAudited(manager, row.id);
      }
    }
    const attempt = row.attempts + 1;
    const result = await this.channels.send(destination, subscription, row, {
      fhirBase: `${this.exchange.EXCHANGE_PUBLIC_BASE_URL}/fhir`,
      secrets: activeSecrets(subscription.secrets, new Date()),
      timeoutMs: this.settings.NOTIFY_DELIVERY_TIMEOUT_MS,
    });
    await this.dataSource.transaction(async (tx: EntityManager) => {
      if (result.ok) {
        await this.notifications.markDelivered(tx, row.id, attempt, result.latencyMs, result.httpStatus);
        await this.subscriptions.touchSent(tx, [subscription.id]);
        if (row.kind === 'handshake') await this.subscriptions.setStatus(tx, subscription.id, 'active', null);
        return;
      }
      const park = attempt >= this.settings.NOTIFY_RETRY_ATTEMPTS;
      await this.notifications.markFailed(
        tx,
        row.id,
        attempt,
        { error: result.error ?? 'failed', httpStatus: result.httpStatus, latencyMs: result.latencyMs },
        {
          park,
          countAttempt: true,
          retryInMs: retryDelayMs(attempt, {
            baseMs: this.settings.NOTIFY_RETRY_BASE_MS,
            maxMs: this.settings.NOTIFY_RETRY_MAX_MS,
          }),
        },
      );
      if (park && row.kind === 'handshake')
        await this.subscriptions.setStatus(
          tx,
          subscription.id,
          'error',
          'the handshake was not accepted by the endpoint',
        );
    });
    if (result.ok) this.delivered += 1;
    return result;
  }

  /** A notification is a disclosure (IHE BALP): one AuditEvent, durable before anything is sent. */
  private async recordDisclosure(subscription: SubscriptionRow, row: NotificationRow): Promise<void> {
    await this.audit.record({
      type: 'rest',
      subtype: 'notify',
      action: 'E',
      outcome: '0',
      agent: { clientId: subscription.clientId, institutionId: subscription.ownerInstitution, roles: [] },
      purposeOfUse: subscription.purposeOfUse,
      patients: row.enterpriseId === null ? [] : [row.enterpriseId],
      entities: [
        {
          type: row.focusType ?? 'Resource',
          reference: `${row.focusType ?? 'Resource'}/${row.focusId ?? ''}`,
          ...(row.sourceInstitution === null ? {} : { sourceInstitution: row.sourceInstitution }),
        },
        { type: 'Subscription', reference: `Subscription/${subscription.id}` },
      ],
      detail: `notification ${row.topic ?? ''} #${row.eventNumber ?? 0} to ${subscription.ownerInstitution}`,
    });
  }

  /** Heartbeats (IG "heartbeat"): an empty notification when a subscription sent nothing for its period. */
  private async heartbeats(destination: ClaimedDestination): Promise<void> {
    for (const subscription of await this.subscriptions.heartbeatsDue(
      this.dataSource.manager,
      destination.id,
    )) {
      const result = await this.channels.heartbeat(destination, subscription, {
        fhirBase: `${this.exchange.EXCHANGE_PUBLIC_BASE_URL}/fhir`,
        secrets: activeSecrets(subscription.secrets, new Date()),
        timeoutMs: this.settings.NOTIFY_DELIVERY_TIMEOUT_MS,
      });
      if (result.ok) await this.subscriptions.touchSent(this.dataSource.manager, [subscription.id]);
    }
  }

  /** The breaker's half-open probe: one heartbeat; the endpoint answering closes the breaker. */
  private async probe(destination: ClaimedDestination): Promise<boolean> {
    destination.breaker = breakerOnProbe(destination.breaker, Date.now());
    const manager = this.dataSource.manager;
    const rows = await manager.query<{ id: string }[]>(
      "SELECT id FROM notify_subscriptions WHERE destination_id = $1 AND status <> 'off' ORDER BY created_at LIMIT 1",
      [destination.id],
    );
    const subscription =
      rows[0] === undefined ? undefined : await this.subscriptions.find(manager, rows[0].id);
    if (subscription === undefined) return false;
    const result = await this.channels.heartbeat(destination, subscription, {
      fhirBase: `${this.exchange.EXCHANGE_PUBLIC_BASE_URL}/fhir`,
      secrets: activeSecrets(subscription.secrets, new Date()),
      timeoutMs: this.settings.NOTIFY_DELIVERY_TIMEOUT_MS,
    });
    this.recordOutcome(destination, { ok: result.ok, endpointFault: true });
    await this.saveBreaker(destination);
    return result.ok;
  }

  /** The breaker after an attempt: a refusal of one notification is not the endpoint's fault. */
  private recordOutcome(
    destination: ClaimedDestination,
    result: Pick<SendResult, 'ok' | 'endpointFault'>,
  ): void {
    destination.breaker =
      result.ok || !result.endpointFault
        ? breakerOnSuccess(destination.breaker)
        : breakerOnFailure(destination.breaker, Date.now(), {
            failureThreshold: this.settings.NOTIFY_BREAKER_FAILURES,
            maxCoolDownMs: this.settings.NOTIFY_BREAKER_MAX_COOLDOWN_MS,
          });
  }

  /** Persists the breaker; its state shows in the subscriptions' status (error while open). */
  private async saveBreaker(destination: ClaimedDestination): Promise<void> {
    await this.dataSource.transaction(async (tx: EntityManager) => {
      await tx.query('UPDATE notify_destinations SET breaker = $2 WHERE id = $1', [
        destination.id,
        JSON.stringify(destination.breaker),
      ]);
      if (destination.breaker.state === 'closed')
        await tx.query(
          "UPDATE notify_subscriptions SET status = 'active', error = NULL, updated_at = now() WHERE destination_id = $1 AND status = 'error' AND error LIKE 'endpoint not answering%'",
          [destination.id],
        );
      else
        await tx.query(
          "UPDATE notify_subscriptions SET status = 'error', error = 'endpoint not answering; deliveries resume when it does', updated_at = now() WHERE destination_id = $1 AND status = 'active'",
          [destination.id],
        );
    });
  }

  private async renewLease(destinationId: string): Promise<boolean> {
    const rows = returnedRows(
      await this.dataSource.query(
        `UPDATE notify_destinations SET lease_until = now() + make_interval(secs => $3::double precision / 1000)
        WHERE id = $1 AND lease_owner = $2 RETURNING id`,
        [destinationId, this.owner, this.settings.NOTIFY_LEASE_MS],
      ),
    );
    return rows.length > 0;
  }
}
