import type { OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import type { Counter, Histogram, Registry } from 'prom-client';
import { DataSource } from 'typeorm';
import { InboundHl7v2Received, SenderAuthentication } from '@tessera/contracts';
import { decodeHl7Bytes } from '@tessera/hl7v2';
import type { EventProducer, PublishInput } from '@tessera/platform-kafka';
import { Counter as PromCounter, Histogram as PromHistogram } from '@tessera/platform-observability';
import { EVENT_PRODUCER, LOGGER, METRICS_REGISTRY } from '@tessera/platform-service';
import { GATEWAY_SETTINGS } from '../gateway.config';
import type { GatewaySettings } from '../gateway.config';
import type { DurableResult, NewLedgerMessage, StoredOutcome } from './ledger-message';

interface Pending {
  readonly message: NewLedgerMessage;
  readonly resolve: (result: DurableResult) => void;
}

interface ReturnedRow {
  id: string;
  institution_id: string | null;
  sending_facility: string;
  control_id: string;
  content_sha256: string;
  state: StoredOutcome['state'];
  ack_code: string | null;
  ack_errors: StoredOutcome['ackErrors'];
  sender_refused: boolean;
  inserted: boolean;
}

const SOURCE = '/tessera/interop-gateway';
/** Group commits whose database writes may overlap (each holds one pooled connection). */
const MAX_CONCURRENT_COMMITS = 4;

/**
 * Which stored message a new one repeats: the same institution's message with the same facility,
 * MSH-10 and bytes (the unique index ledger_messages_dedupe). A message refused because of its sender
 * repeats nothing and nothing repeats it, so it can never stand in for the real institution's.
 */
function dedupeKey(
  m: Pick<
    NewLedgerMessage,
    'id' | 'institutionId' | 'sendingFacility' | 'controlId' | 'contentSha256' | 'senderRefused'
  >,
): string {
  if (m.senderRefused) return `refused\u0000${m.id}`;
  return [m.institutionId ?? '', m.sendingFacility, m.controlId, m.contentSha256].join('\u0000');
}

/**
 * Makes messages durable before they are acknowledged (docs/architecture.md "The path of one message",
 * step 2): the ledger row committed in Postgres, then — for accepted messages — the record on
 * hie.inbound.hl7v2 with acks=all. Messages arriving together on any connection share one group
 * commit (one INSERT, one transaction, one produce request), so durability does not cost a disk
 * sync per message. The event id is the ledger id: a re-publish (after a Kafka outage, or by the
 * republisher) is deduplicated by every consumer's inbox.
 */
@Injectable()
export class LedgerWriterService implements OnModuleInit, OnApplicationShutdown {
  private queue: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** Group commits under way (their Postgres parts overlap; their Kafka sends keep batch order). */
  private readonly inFlight = new Set<Promise<void>>();
  private publishTurn: Promise<void> = Promise.resolve();
  private republishTimer: NodeJS.Timeout | undefined;
  private readonly batchSize: Histogram;
  private readonly durableFailures: Counter<'reason'>;

  constructor(
    private readonly dataSource: DataSource,
    @Inject(EVENT_PRODUCER) private readonly producer: EventProducer,
    @Inject(GATEWAY_SETTINGS) private readonly settings: GatewaySettings,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(METRICS_REGISTRY) registry: Registry,
  ) {
    this.batchSize = new PromHistogram({
      name: 'gateway_group_commit_messages',
      help: 'Messages made durable per group commit',
      buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500],
      registers: [registry],
    });
    this.durableFailures = new PromCounter({
      name: 'gateway_not_durable_total',
      help: 'Messages answered negatively because they could not be made durable in time',
      labelNames: ['reason'],
      registers: [registry],
    });
  }

  onModuleInit(): void {
    this.republishTimer = setInterval(
      () => void this.republishStale(),
      this.settings.LEDGER_REPUBLISH_AFTER_MS,
    );
    this.republishTimer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.republishTimer);
    await this.drain();
  }

  /** Waits for everything queued to be stored (used on shutdown after the listener closed). */
  async drain(): Promise<void> {
    while (this.queue.length > 0 || this.inFlight.size > 0) {
      this.flushNow();
      await Promise.all(this.inFlight);
    }
  }

  /** Stores (and for accepted messages publishes) one message; resolves once it is durable or cannot be. */
  write(message: NewLedgerMessage): Promise<DurableResult> {
    return new Promise<DurableResult>((resolve) => {
      let settled = false;
      const timeout = setTimeout(() => {
        settled = true;
        this.durableFailures.inc({ reason: 'timeout' });
        resolve({ durable: false, reason: 'timeout' });
      }, this.settings.INGEST_DURABLE_TIMEOUT_MS);
      this.queue.push({
        message,
        resolve: (result) => {
          clearTimeout(timeout);
          if (settled) return;
          settled = true;
          if (!result.durable) this.durableFailures.inc({ reason: result.reason });
          resolve(result);
        },
      });
      if (this.queue.length >= this.settings.INGEST_BATCH_MAX) this.flushNow();
      else if (this.timer === undefined) {
        this.timer = setTimeout(() => this.flushNow(), this.settings.INGEST_BATCH_WINDOW_MS);
      }
    });
  }

  /**
   * Starts group commits for what is queued, up to MAX_CONCURRENT_COMMITS at once: while one batch
   * waits for its fsync or its Kafka acknowledgement the next is already being written. Kafka sends
   * take turns in batch order, so per-key order on hie.inbound.hl7v2 follows arrival order.
   */
  private flushNow(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.queue.length > 0 && this.inFlight.size < MAX_CONCURRENT_COMMITS) {
      const batch = this.queue.splice(0, this.settings.INGEST_BATCH_MAX);
      const previousTurn = this.publishTurn;
      let releaseTurn: () => void = () => undefined;
      this.publishTurn = new Promise<void>((resolve) => (releaseTurn = resolve));
      const commit: Promise<void> = this.flush(batch, previousTurn)
        .catch((error: unknown) => this.logger.error({ err: error }, 'ledger: group commit crashed'))
        .finally(async () => {
          // Hand the turn on only after every earlier batch had its turn (order of sends).
          await previousTurn;
          releaseTurn();
          this.inFlight.delete(commit);
          if (this.queue.length > 0 && this.timer === undefined) this.flushNow();
        });
      this.inFlight.add(commit);
    }
  }

  private async flush(batch: readonly Pending[], publishTurn: Promise<void>): Promise<void> {
    this.batchSize.observe(batch.length);
    let stored: Map<string, StoredOutcome & { inserted: boolean }>;
    try {
      stored = await this.store(batch.map((p) => p.message));
    } catch (error) {
      this.logger.error(
        { err: error, messages: batch.length },
        'ledger: group commit failed; answering negatively',
      );
      for (const p of batch) p.resolve({ durable: false, reason: 'database' });
      return;
    }
    const outcomeOf = (p: Pending) => stored.get(dedupeKey(p.message))!;
    // Publish what is accepted and not yet on Kafka: new rows, and resends of rows whose earlier publish failed.
    const toPublish = new Map<string, Pending>();
    for (const p of batch) {
      const outcome = outcomeOf(p);
      if (outcome.state === 'received' && p.message.text !== null && !toPublish.has(outcome.id))
        toPublish.set(outcome.id, p);
    }
    // Rows that need no publication (rejected, unparseable, repeats already on Kafka) are durable now.
    for (const p of batch) {
      const outcome = outcomeOf(p);
      if (!toPublish.has(outcome.id)) p.resolve({ durable: true, stored: outcome });
    }
    let published = true;
    if (toPublish.size > 0) {
      await publishTurn;
      try {
        await this.producer.publishBatch(
          InboundHl7v2Received,
          [...toPublish].map(([id, p]) => this.inboundEvent(id, p.message, p.message.text ?? '')),
        );
      } catch (error) {
        published = false;
        this.logger.error(
          { err: error, messages: toPublish.size },
          'ledger: publish to Kafka failed; answering negatively',
        );
      }
    }
    const acknowledgedAt = Date.now();
    for (const p of batch) {
      const outcome = outcomeOf(p);
      if (!toPublish.has(outcome.id)) continue;
      if (published) p.resolve({ durable: true, stored: { ...outcome, state: 'published' } });
      else p.resolve({ durable: false, reason: 'kafka', stored: outcome });
    }
    if (published && toPublish.size > 0) {
      const ids = [...toPublish.keys()];
      const latencies = [...toPublish.values()].map((p) => acknowledgedAt - p.message.receivedAt.getTime());
      void this.dataSource
        .query(
          `UPDATE ledger_messages m SET state = 'published', published_at = now(), ack_latency_ms = COALESCE(m.ack_latency_ms, l.latency)
           FROM unnest($1::uuid[], $2::int[]) AS l(id, latency)
           WHERE m.id = l.id AND m.state = 'received'`,
          [ids, latencies],
        )
        .catch((error: unknown) =>
          this.logger.warn({ err: error }, 'ledger: marking published failed (the republisher will retry)'),
        );
    }
    const rejected = batch.filter((p) => outcomeOf(p).inserted && p.message.state !== 'received');
    if (rejected.length > 0) {
      void this.dataSource
        .query(
          `UPDATE ledger_messages m SET ack_latency_ms = l.latency FROM unnest($1::uuid[], $2::int[]) AS l(id, latency) WHERE m.id = l.id`,
          [
            rejected.map((p) => p.message.id),
            rejected.map((p) => acknowledgedAt - p.message.receivedAt.getTime()),
          ],
        )
        .catch((error: unknown) => this.logger.warn({ err: error }, 'ledger: recording ACK latency failed'));
    }
  }

  private inboundEvent(
    id: string,
    m: NewLedgerMessage,
    text: string,
  ): PublishInput<typeof InboundHl7v2Received.schema._output> {
    return {
      id,
      key: m.partitionKey,
      subject: m.institutionId ?? m.sendingFacility,
      source: SOURCE,
      time: m.receivedAt,
      data: {
        ledgerId: id,
        institutionId: m.institutionId,
        sendingFacility: m.sendingFacility,
        messageType: m.messageType,
        controlId: m.controlId,
        receivedAt: m.receivedAt.toISOString(),
        charset: m.charset,
        contentSha256: m.contentSha256,
        senderAuthentication: m.senderAuthentication,
        ...(m.senderIdentity === null ? {} : { senderIdentity: m.senderIdentity.slice(0, 300) }),
        message: text,
      },
    };
  }

  /**
   * One transaction: insert new rows, find the stored original of repeats, flag reused MSH-10s (the
   * same institution's facility reusing an MSH-10 for other content).
   */
  private async store(
    messages: readonly NewLedgerMessage[],
  ): Promise<Map<string, StoredOutcome & { inserted: boolean }>> {
    const unique = new Map<string, NewLedgerMessage>();
    for (const m of messages) if (!unique.has(dedupeKey(m))) unique.set(dedupeKey(m), m);
    const rows = [...unique.values()];
    const column = <T>(pick: (m: NewLedgerMessage) => T): T[] => rows.map(pick);
    return this.dataSource.transaction(async (tx) => {
      const returned = await tx.query<ReturnedRow[]>(
        `INSERT INTO ledger_messages (id, received_at, institution_id, sending_application, sending_facility, message_type,
           control_id, hl7_version, content_sha256, charset, size_bytes, raw, peer, channel, partition_key, ack_mode,
           ack_code, ack_errors, state, state_detail, sender_authentication, sender_identity, sender_refused)
         SELECT id, received_at, institution_id, sending_application, sending_facility, message_type, control_id,
           hl7_version, content_sha256, charset, size_bytes, raw, peer, channel, partition_key, ack_mode, ack_code,
           ack_errors::jsonb, state, state_detail, sender_authentication, sender_identity, sender_refused
         FROM unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
           $9::text[], $10::text[], $11::int[], $12::bytea[], $13::text[], $14::text[], $15::text[], $16::text[], $17::text[],
           $18::text[], $19::text[], $20::text[], $21::text[], $22::text[], $23::bool[])
           AS t(id, received_at, institution_id, sending_application, sending_facility, message_type, control_id, hl7_version,
             content_sha256, charset, size_bytes, raw, peer, channel, partition_key, ack_mode, ack_code, ack_errors, state, state_detail,
             sender_authentication, sender_identity, sender_refused)
         ON CONFLICT (institution_id, sending_facility, control_id, content_sha256) WHERE NOT sender_refused
           DO UPDATE SET resend_count = ledger_messages.resend_count + 1
         RETURNING id, institution_id, sending_facility, control_id, content_sha256, state, ack_code, ack_errors,
           sender_refused, (xmax = 0) AS inserted`,
        [
          column((m) => m.id),
          column((m) => m.receivedAt),
          column((m) => m.institutionId),
          column((m) => m.sendingApplication),
          column((m) => m.sendingFacility),
          column((m) => m.messageType),
          column((m) => m.controlId),
          column((m) => m.hl7Version),
          column((m) => m.contentSha256),
          column((m) => m.charset),
          column((m) => m.raw.length),
          column((m) => m.raw),
          column((m) => m.peer),
          column((m) => m.channel),
          column((m) => m.partitionKey),
          column((m) => m.ackMode),
          column((m) => m.ackCode),
          column((m) => JSON.stringify(m.ackErrors)),
          column((m) => m.state),
          column((m) => m.stateDetail),
          column((m) => m.senderAuthentication),
          column((m) => m.senderIdentity),
          column((m) => m.senderRefused),
        ],
      );
      const newIds = returned.filter((r) => r.inserted).map((r) => r.id);
      if (newIds.length > 0) {
        await tx.query(
          `UPDATE ledger_messages n SET duplicate_control_id = true
           WHERE n.id = ANY($1::uuid[]) AND n.control_id <> '' AND NOT n.sender_refused AND EXISTS (
             SELECT 1 FROM ledger_messages o
             WHERE o.institution_id IS NOT DISTINCT FROM n.institution_id AND o.sending_facility = n.sending_facility
               AND o.control_id = n.control_id AND o.content_sha256 <> n.content_sha256 AND NOT o.sender_refused)`,
          [newIds],
        );
      }
      const byKey = new Map<string, StoredOutcome & { inserted: boolean }>();
      for (const r of returned) {
        const key = dedupeKey({
          id: r.id,
          institutionId: r.institution_id,
          sendingFacility: r.sending_facility,
          controlId: r.control_id,
          contentSha256: r.content_sha256,
          senderRefused: r.sender_refused,
        });
        byKey.set(key, {
          id: r.id,
          duplicate: !r.inserted,
          inserted: r.inserted,
          state: r.state,
          ackCode: r.ack_code,
          ackErrors: r.ack_errors,
        });
      }
      // Repeats inside one batch: the first one is "new", the others are duplicates of it.
      const seen = new Set<string>();
      const result = new Map<string, StoredOutcome & { inserted: boolean }>();
      for (const m of messages) {
        const key = dedupeKey(m);
        const outcome = byKey.get(key)!;
        result.set(key, seen.has(key) ? { ...outcome, duplicate: true } : outcome);
        seen.add(key);
      }
      return result;
    });
  }

  /**
   * Publishes accepted messages that were stored but never reached Kafka (the ACK was negative,
   * or the process died in between). One replica at a time (advisory lock); same event ids.
   */
  private async republishStale(): Promise<void> {
    const runner = this.dataSource.createQueryRunner();
    try {
      await runner.connect();
      const [{ locked }] = (await runner.query('SELECT pg_try_advisory_lock(7265002) AS locked')) as [
        { locked: boolean },
      ];
      if (!locked) return;
      try {
        const rows = (await runner.query(
          `SELECT id, received_at, institution_id, sending_application, sending_facility, message_type, control_id,
             hl7_version, content_sha256, charset, raw, partition_key, sender_authentication, sender_identity
           FROM ledger_messages WHERE state = 'received' AND received_at < now() - ($1::int * interval '1 millisecond')
           ORDER BY received_at LIMIT 500`,
          [this.settings.LEDGER_REPUBLISH_AFTER_MS],
        )) as Array<Record<string, unknown>>;
        if (rows.length === 0) return;
        const events = rows.map((r) => {
          const message = this.fromRow(r);
          return this.inboundEvent(
            message.id,
            message,
            decodeHl7Bytes(message.raw, message.charset, { onMalformed: 'replace' }).text,
          );
        });
        await this.producer.publishBatch(InboundHl7v2Received, events);
        await runner.query(
          `UPDATE ledger_messages SET state = 'published', published_at = now() WHERE id = ANY($1::uuid[]) AND state = 'received'`,
          [rows.map((r) => r['id'])],
        );
        this.logger.info(
          { messages: rows.length },
          'ledger: republished stored messages that had not reached Kafka',
        );
      } finally {
        await runner.query('SELECT pg_advisory_unlock(7265002)');
      }
    } catch (error) {
      this.logger.warn({ err: error }, 'ledger: republish pass failed; will retry');
    } finally {
      await runner.release();
    }
  }

  private fromRow(r: Record<string, unknown>): NewLedgerMessage {
    return {
      id: r['id'] as string,
      receivedAt: r['received_at'] as Date,
      institutionId: r['institution_id'] as string | null,
      sendingApplication: r['sending_application'] as string,
      sendingFacility: r['sending_facility'] as string,
      messageType: r['message_type'] as string,
      controlId: r['control_id'] as string,
      hl7Version: r['hl7_version'] as string,
      contentSha256: r['content_sha256'] as string,
      charset: r['charset'] as string,
      raw: r['raw'] as Buffer,
      text: null,
      peer: '',
      channel: 'mllp',
      // Rows stored before senders were authenticated have none recorded: they count as 'none'.
      senderAuthentication: SenderAuthentication.catch('none').parse(r['sender_authentication']),
      senderIdentity: (r['sender_identity'] as string | null) ?? null,
      partitionKey: r['partition_key'] as string,
      ackMode: 'original',
      ackCode: null,
      ackErrors: [],
      state: 'received',
      stateDetail: null,
      senderRefused: false,
    };
  }
}
