import { Client } from 'pg';
import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import { OUTBOX_CHANNEL, OUTBOX_TABLE } from '@tessera/platform-kafka';
import type { EventProducer, MessagingLogger, OutgoingRecord } from '@tessera/platform-kafka';
import type { PostgresSettings } from '@tessera/platform-persistence';

/** One unpublished outbox row as the relay reads it. */
export interface OutboxRow {
  readonly id: string;
  readonly eventId: string;
  readonly topic: string;
  readonly key: string | null;
  readonly headers: Readonly<Record<string, string>>;
  readonly payload: unknown;
}

/** Points a test can stop the relay at (crash tests); production code leaves them unset. */
export interface OutboxRelayHooks {
  /** Rows were read, nothing sent yet. */
  readonly beforeSend?: (rows: readonly OutboxRow[]) => void | Promise<void>;
  /** Kafka acknowledged the rows (acks=all); they are not marked published yet. */
  readonly afterSend?: (rows: readonly OutboxRow[]) => void | Promise<void>;
}

export interface OutboxRelayOptions {
  readonly settings: PostgresSettings;
  readonly database: string;
  /** Connected idempotent producer (acks=all). */
  readonly producer: EventProducer;
  readonly logger: MessagingLogger;
  /** Rows per send (default 500). */
  readonly batchSize?: number;
  /** Poll fallback when no NOTIFY arrives (default 1000 ms). */
  readonly pollIntervalMs?: number;
  /** How often a standby replica tries to take the lock (default 1000 ms). */
  readonly standbyRetryMs?: number;
  /** Advisory lock key; one relay per database holds it (default: a fixed key for the outbox). */
  readonly lockKey?: number;
  readonly hooks?: OutboxRelayHooks;
  /** Where the relay's Prometheus metrics are registered (see `registerOutboxMetrics`); none when absent. */
  readonly metrics?: Registry;
}

export const OUTBOX_BACKLOG_METRIC = 'tessera_outbox_backlog';
export const OUTBOX_OLDEST_METRIC = 'tessera_outbox_oldest_unpublished_seconds';
export const OUTBOX_PUBLISHED_METRIC = 'tessera_outbox_published_total';

export interface OutboxRelayHealth {
  readonly running: boolean;
  /** This replica holds the lock and is the one publishing. */
  readonly leader: boolean;
  readonly published: number;
  readonly lastPublishedAt: string | null;
  readonly lastError: { readonly message: string; readonly at: string } | null;
}

/** Default advisory lock key: fixed, so every replica of a service contends for the same lock. */
export const OUTBOX_RELAY_LOCK_KEY = 0x7e55_0b0c;

// Ordered by the bigint column, never by the text alias (which would sort "10" before "9").
const ROW_COLUMNS = `id::text AS id, event_id, topic, "key", headers, payload`;

interface RawRow {
  readonly id: string;
  readonly event_id: string;
  readonly topic: string;
  readonly key: string | null;
  readonly headers: Record<string, string>;
  readonly payload: unknown;
}

/**
 * Publishes outbox rows to Kafka in id order. Only one relay per database is active: it holds a
 * session-level advisory lock on a dedicated connection, so per-key order is kept; other replicas
 * stand by and take over when that connection ends (process crash, network loss).
 *
 * Delivery is at-least-once: a crash between send and mark re-sends the batch on restart with the
 * same `ce_id`s, which consumers' inboxes deduplicate.
 */
export class OutboxRelay {
  private running = false;
  private leader = false;
  private published = 0;
  private lastPublishedAt: string | null = null;
  private lastError: { message: string; at: string } | null = null;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private woken = false;
  private readonly publishedCounter: Counter | null;

  constructor(private readonly options: OutboxRelayOptions) {
    this.publishedCounter = options.metrics === undefined ? null : this.registerMetrics(options.metrics);
  }

  /**
   * `tessera_outbox_backlog` (rows not yet published) and `tessera_outbox_oldest_unpublished_seconds`
   * (how long the oldest has waited), read from the database at scrape time, so every replica, leader
   * or standby, reports the same truth; `tessera_outbox_published_total` counts what this replica sent.
   * A growing backlog with a flat published counter is a relay that cannot reach Kafka.
   */
  private registerMetrics(registry: Registry): Counter {
    // One query serves both gauges of a scrape (prom-client collects them concurrently).
    let reading: { at: number; result: Promise<{ pending: number; oldestSeconds: number }> } | null = null;
    const read = (): Promise<{ pending: number; oldestSeconds: number }> => {
      if (reading === null || Date.now() - reading.at > 1000) reading = { at: Date.now(), result: this.backlog() };
      return reading.result;
    };
    const gauge = (name: string, help: string, pick: (r: { pending: number; oldestSeconds: number }) => number): Gauge =>
      new Gauge({
        name,
        help,
        registers: [registry],
        async collect() {
          this.reset();
          try {
            this.set(pick(await read()));
          } catch {
            // Database unreachable: no series this scrape (absent, never a false zero); /health says why.
          }
        },
      });
    gauge(OUTBOX_BACKLOG_METRIC, 'Outbox rows not yet published to Kafka', (r) => r.pending);
    gauge(OUTBOX_OLDEST_METRIC, 'Age of the oldest outbox row not yet published (0 when none)', (r) => r.oldestSeconds);
    return new Counter({
      name: OUTBOX_PUBLISHED_METRIC,
      help: 'Outbox rows this replica published to Kafka',
      registers: [registry],
    });
  }

  get isLeader(): boolean {
    return this.leader;
  }

  get isRunning(): boolean {
    return this.running;
  }

  health(): OutboxRelayHealth {
    return {
      running: this.running,
      leader: this.leader,
      published: this.published,
      lastPublishedAt: this.lastPublishedAt,
      lastError: this.lastError,
    };
  }

  /** Starts the relay loop in the background (standby until it holds the lock). */
  start(): void {
    if (this.loop !== null) throw new Error('Outbox relay already started');
    this.running = true;
    this.loop = this.run();
  }

  /** Finishes the batch in flight, releases the lock and closes the connection. */
  async stop(): Promise<void> {
    this.running = false;
    this.notify();
    await this.loop;
    this.loop = null;
  }

  /** Rows not yet published (for a metrics gauge). */
  async pendingCount(): Promise<number> {
    const client = this.newClient();
    await client.connect();
    try {
      const result = await client.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${OUTBOX_TABLE} WHERE published_at IS NULL`);
      return Number(result.rows[0]?.n ?? 0);
    } finally {
      await client.end();
    }
  }

  /** Unpublished rows and the age of the oldest, in one query (for the metrics). */
  async backlog(): Promise<{ pending: number; oldestSeconds: number }> {
    const client = this.newClient();
    await client.connect();
    try {
      const result = await client.query<{ n: string; age: string | null }>(
        `SELECT count(*)::text AS n, extract(epoch FROM now() - min(created_at))::text AS age
           FROM ${OUTBOX_TABLE} WHERE published_at IS NULL`,
      );
      const row = result.rows[0];
      return { pending: Number(row?.n ?? 0), oldestSeconds: Math.max(0, Number(row?.age ?? 0)) };
    } finally {
      await client.end();
    }
  }

  /** Deletes rows published more than `olderThanMs` ago; returns how many. */
  async purgePublished(olderThanMs: number): Promise<number> {
    const client = this.newClient();
    await client.connect();
    try {
      const result = await client.query(
        `DELETE FROM ${OUTBOX_TABLE} WHERE published_at < now() - ($1::bigint * interval '1 millisecond')`,
        [olderThanMs],
      );
      return result.rowCount ?? 0;
    } finally {
      await client.end();
    }
  }

  private newClient(): Client {
    const { settings, database } = this.options;
    return new Client({
      host: settings.PGHOST,
      port: settings.PGPORT,
      user: settings.PGUSER,
      password: settings.PGPASSWORD,
      database,
      application_name: `${database}-outbox-relay`,
    });
  }

  private notify(): void {
    this.woken = true;
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  private async sleep(ms: number): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.wake = null;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.woken = false;
  }

  private recordError(error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    this.lastError = { message, at: new Date().toISOString() };
    this.options.logger.error({ err: { message } }, 'Outbox relay error; retrying');
  }

  private async run(): Promise<void> {
    const standbyRetryMs = this.options.standbyRetryMs ?? 1000;
    while (this.running) {
      const client = this.newClient();
      client.on('error', (error) => this.recordError(error));
      try {
        await client.connect();
        if (!(await this.acquireLock(client, standbyRetryMs))) continue;
        // Listen before the first read: a row committed after that read still wakes the loop.
        client.on('notification', () => this.notify());
        await client.query(`LISTEN ${OUTBOX_CHANNEL}`);
        this.leader = true;
        this.options.logger.info({ database: this.options.database }, 'Outbox relay is active');
        await this.relayWhileLeader(client);
      } catch (error) {
        this.recordError(error);
        if (this.running) await this.sleep(standbyRetryMs);
      } finally {
        this.leader = false;
        // Ending the session releases the advisory lock for a standby replica.
        await client.end().catch(() => undefined);
      }
    }
  }

  private async acquireLock(client: Client, retryMs: number): Promise<boolean> {
    const key = this.options.lockKey ?? OUTBOX_RELAY_LOCK_KEY;
    while (this.running) {
      const result = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [key]);
      if (result.rows[0]?.locked === true) return true;
      await this.sleep(retryMs);
    }
    return false;
  }

  private async relayWhileLeader(client: Client): Promise<void> {
    const batchSize = this.options.batchSize ?? 500;
    const pollIntervalMs = this.options.pollIntervalMs ?? 1000;
    while (this.running) {
      const sent = await this.relayBatch(client, batchSize);
      if (sent < batchSize) await this.sleep(pollIntervalMs);
    }
  }

  /** Sends the oldest unpublished rows in one send (acks=all), then marks them published. */
  private async relayBatch(client: Client, batchSize: number): Promise<number> {
    const result = await client.query<RawRow>(
      `SELECT ${ROW_COLUMNS} FROM ${OUTBOX_TABLE} WHERE published_at IS NULL ORDER BY ${OUTBOX_TABLE}.id LIMIT $1`,
      [batchSize],
    );
    if (result.rows.length === 0) return 0;
    const rows: OutboxRow[] = result.rows.map((row) => ({
      id: row.id,
      eventId: row.event_id,
      topic: row.topic,
      key: row.key,
      headers: row.headers,
      payload: row.payload,
    }));
    await this.options.hooks?.beforeSend?.(rows);
    const records: OutgoingRecord[] = rows.map((row) => ({
      topic: row.topic,
      key: row.key,
      value: JSON.stringify(row.payload),
      headers: row.headers,
    }));
    await this.options.producer.sendRecords(records);
    await this.options.hooks?.afterSend?.(rows);
    await client.query(`UPDATE ${OUTBOX_TABLE} SET published_at = now() WHERE id = ANY($1::bigint[])`, [
      rows.map((row) => row.id),
    ]);
    this.published += rows.length;
    this.publishedCounter?.inc(rows.length);
    this.lastPublishedAt = new Date().toISOString();
    return rows.length;
  }
}
