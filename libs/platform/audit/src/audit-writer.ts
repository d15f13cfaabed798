import { randomUUID } from 'node:crypto';
import type { Counter, Histogram, Registry } from 'prom-client';
import { AuditRecorded, validateEventData } from '@tessera/contracts';
import type { EventDefinition } from '@tessera/contracts';
import { Counter as PromCounter, Histogram as PromHistogram } from '@tessera/platform-observability';
import type { PublishInput } from '@tessera/platform-kafka';

/** The payload of one AuditRecorded (v2) event, as stored and consumed. */
export type AuditRecordData = typeof AuditRecorded extends EventDefinition<infer T> ? T : never;
type Agent = AuditRecordData['agent'];

/**
 * What a caller hands to the writer: the payload with its defaults optional (`recordedAt` = now,
 * `observer` = the writer's service, `roles`/`patients`/`entities` = empty, `breakGlass` = false).
 */
export type AuditRecordInput = Omit<
  AuditRecordData,
  'recordedAt' | 'observer' | 'agent' | 'breakGlass' | 'patients' | 'entities'
> & {
  readonly recordedAt?: string;
  readonly observer?: string;
  readonly agent: Omit<Agent, 'roles'> & { readonly roles?: readonly string[] };
  readonly breakGlass?: boolean;
  readonly patients?: readonly string[];
  readonly entities?: AuditRecordData['entities'];
};

/** The one producer call the writer needs (EventProducer.publishBatch: acks=all, one request per broker). */
export interface AuditSink {
  publishBatch(
    definition: typeof AuditRecorded,
    inputs: ReadonlyArray<PublishInput<AuditRecordData>>,
  ): Promise<unknown>;
}

export interface AuditWriterLogger {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface AuditWriterOptions {
  /** CloudEvents source, e.g. `/tessera/exchange`. */
  readonly source: string;
  /** Default AuditEvent.source.observer (the service name). */
  readonly observer: string;
  /**
   * 0 (default): adaptive group commit — a record handed over while no produce is in flight goes out
   * at once (after the current event-loop turn, so records of the same turn share the request);
   * records arriving while a produce is in flight wait for it and form the next group. No fixed timer.
   * > 0: a group waits this many ms for more records after its first (the former fixed linger).
   */
  readonly lingerMs?: number;
  /** Records per produce request; a full batch goes out at once (default 500). */
  readonly maxBatch?: number;
  /** A record not acknowledged within this many ms is reported as failed to its caller (default 5000). */
  readonly timeoutMs?: number;
  /** Attempts of a detached record before it is logged as lost (default 4). */
  readonly detachedAttempts?: number;
  /** Backoff before the first re-attempt of a detached record, doubled each time (default 200 ms). */
  readonly detachedBackoffMs?: number;
}

/** The audit record could not be made durable: the caller must fail closed (e.g. answer 503). */
export class AuditUnavailableError extends Error {
  constructor(
    readonly reason: 'kafka' | 'timeout' | 'closed',
    cause?: unknown,
  ) {
    super(
      reason === 'timeout'
        ? 'the audit record was not acknowledged by Kafka in time'
        : reason === 'closed'
          ? 'the audit writer is shut down'
          : `the audit record could not be written to Kafka${cause instanceof Error ? `: ${cause.message}` : ''}`,
    );
    this.name = 'AuditUnavailableError';
  }
}

interface Pending {
  readonly input: PublishInput<AuditRecordData>;
  readonly enqueuedAt: number;
  /** Settles the caller once; later calls are ignored (a caller that timed out stays rejected). */
  settle(error?: Error): void;
}

const DEFAULTS = {
  lingerMs: 0,
  maxBatch: 500,
  timeoutMs: 5_000,
  detachedAttempts: 4,
  detachedBackoffMs: 200,
};

/**
 * Writes audit records to hie.audit with group commit (design "Audit"): a record handed over while
 * no produce is in flight goes out at once (end of the event-loop turn); records arriving while the
 * previous produce is in flight go out together as the next ONE produce request (acks=all,
 * idempotent producer) as soon as it is acknowledged — batches grow with load, an idle writer adds
 * no wait (`lingerMs` > 0 brings back a fixed linger), and every caller is answered when that request is
 * acknowledged, or rejected when it fails. So a response is never sent before its audit record is
 * durable, and concurrent requests share one round trip. At most one produce is in flight: records
 * that arrive meanwhile form the next batch.
 *
 * Each record is keyed by its first patient (enterprise id), else its client id, so one person's
 * trail stays in order on one partition. Payloads are validated before they are queued; a bad
 * payload rejects only its own caller.
 */
export class AuditWriter {
  private readonly settings: Required<AuditWriterOptions>;
  private queue: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private sending: Promise<void> | undefined;
  private readonly detached = new Set<Promise<void>>();
  private closed = false;
  private readonly batchSize: Histogram;
  private readonly latency: Histogram<'outcome'>;
  private readonly failures: Counter<'reason'>;

  constructor(
    private readonly sink: AuditSink,
    options: AuditWriterOptions,
    private readonly logger: AuditWriterLogger,
    registry: Registry,
  ) {
    this.settings = { ...DEFAULTS, ...options };
    // Metrics are shared when a process holds more than one writer (one registry per process).
    this.batchSize =
      (registry.getSingleMetric('audit_group_commit_records') as Histogram | undefined) ??
      new PromHistogram({
        name: 'audit_group_commit_records',
        help: 'Audit records per produce request to hie.audit (group commit)',
        buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500],
        registers: [registry],
      });
    this.latency =
      (registry.getSingleMetric('audit_record_latency_seconds') as Histogram<'outcome'> | undefined) ??
      new PromHistogram({
        name: 'audit_record_latency_seconds',
        help: 'Time from an audit record being handed to the writer to its acknowledgement (or failure) by Kafka',
        labelNames: ['outcome'],
        buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
        registers: [registry],
      });
    this.failures =
      (registry.getSingleMetric('audit_records_failed_total') as Counter<'reason'> | undefined) ??
      new PromCounter({
        name: 'audit_records_failed_total',
        help: 'Audit records not acknowledged: kafka (produce failed), timeout, invalid payload, lost (detached, after retries)',
        labelNames: ['reason'],
        registers: [registry],
      });
  }

  /**
   * Resolves once the record is acknowledged on hie.audit (acks=all). Rejects with
   * AuditUnavailableError when Kafka did not acknowledge it (the caller must not serve the data it
   * audits), or with EventValidationError when the payload breaks the AuditRecorded schema.
   */
  record(data: AuditRecordInput): Promise<void> {
    let input: PublishInput<AuditRecordData>;
    try {
      input = this.prepare(data);
    } catch (error) {
      this.failures.inc({ reason: 'invalid' });
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    return this.enqueue(input);
  }

  /**
   * For security alerts where the caller does not wait: queued like `record`, retried with backoff
   * (same event id, so the store keeps one copy) and logged — without patient ids — if it is lost.
   */
  recordDetached(data: AuditRecordInput): void {
    let input: PublishInput<AuditRecordData>;
    try {
      input = this.prepare(data);
    } catch (error) {
      this.failures.inc({ reason: 'invalid' });
      this.logger.error(
        { err: { name: (error as Error).name, message: (error as Error).message }, ...describe(data) },
        'audit: invalid detached record dropped',
      );
      return;
    }
    const attempt = async (): Promise<void> => {
      for (let n = 1; ; n += 1) {
        try {
          await this.enqueue(input);
          return;
        } catch (error) {
          if (n >= this.settings.detachedAttempts || this.closed) {
            this.failures.inc({ reason: 'lost' });
            this.logger.error(
              {
                err: { name: (error as Error).name, message: (error as Error).message },
                eventId: input.id,
                attempts: n,
                ...describe(data),
              },
              'audit: detached record lost after retries',
            );
            return;
          }
          this.logger.warn({ eventId: input.id, attempt: n }, 'audit: detached record failed; retrying');
          await sleep(this.settings.detachedBackoffMs * 2 ** (n - 1));
        }
      }
    };
    const running = attempt().finally(() => this.detached.delete(running));
    this.detached.add(running);
  }

  /** Sends what is queued and waits for it and for detached retries (graceful shutdown). */
  async drain(): Promise<void> {
    while (this.queue.length > 0 || this.sending !== undefined || this.detached.size > 0) {
      this.flush();
      await Promise.all([this.sending, ...this.detached]);
    }
  }

  /** Drains, then rejects whatever is handed over later. */
  async close(): Promise<void> {
    await this.drain();
    this.closed = true;
  }

  private prepare(data: AuditRecordInput): PublishInput<AuditRecordData> {
    const payload = validateEventData(AuditRecorded, {
      ...data,
      recordedAt: data.recordedAt ?? new Date().toISOString(),
      observer: data.observer ?? this.settings.observer,
    });
    return {
      id: randomUUID(),
      key: payload.patients[0] ?? payload.agent.clientId ?? payload.observer,
      source: this.settings.source,
      time: payload.recordedAt,
      data: payload,
    };
  }

  private enqueue(input: PublishInput<AuditRecordData>): Promise<void> {
    if (this.closed) return Promise.reject(new AuditUnavailableError('closed'));
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const timeout = setTimeout(() => {
        // Still queued: take it out, so a caller answered "failed" has no record sent after all.
        this.queue = this.queue.filter((p) => p !== pending);
        pending.settle(new AuditUnavailableError('timeout'));
      }, this.settings.timeoutMs);
      const pending: Pending = {
        input,
        enqueuedAt: performance.now(),
        settle: (error) => {
          if (settled) return;
          settled = true;
          clearTimeout(timeout);
          this.latency.observe(
            { outcome: error === undefined ? 'ok' : 'failed' },
            (performance.now() - pending.enqueuedAt) / 1000,
          );
          if (error === undefined) resolve();
          else {
            this.failures.inc({
              reason:
                error instanceof AuditUnavailableError && error.reason === 'timeout' ? 'timeout' : 'kafka',
            });
            reject(error);
          }
        },
      };
      this.queue.push(pending);
      if (this.queue.length >= this.settings.maxBatch) this.flush();
      // In flight: the completion of that produce flushes this group (nothing to schedule).
      else if (this.sending !== undefined) return;
      else if (this.settings.lingerMs > 0)
        this.timer ??= setTimeout(() => this.flush(), this.settings.lingerMs);
      else this.immediate ??= setImmediate(() => this.flush());
    });
  }

  /** Starts one produce with what is queued, unless one is in flight (its completion flushes again). */
  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    clearImmediate(this.immediate);
    this.immediate = undefined;
    if (this.sending !== undefined || this.queue.length === 0) return;
    const batch = this.queue.splice(0, this.settings.maxBatch);
    this.sending = this.send(batch).finally(() => {
      this.sending = undefined;
      // What arrived during the round trip has waited long enough: it is the next group.
      if (this.queue.length > 0) this.flush();
    });
  }

  private async send(batch: readonly Pending[]): Promise<void> {
    this.batchSize.observe(batch.length);
    try {
      await this.sink.publishBatch(
        AuditRecorded,
        batch.map((p) => p.input),
      );
    } catch (error) {
      this.logger.error(
        { err: { name: (error as Error).name, message: (error as Error).message }, records: batch.length },
        'audit: produce to hie.audit failed; failing every waiting caller',
      );
      const failure = new AuditUnavailableError('kafka', error);
      for (const p of batch) p.settle(failure);
      return;
    }
    for (const p of batch) p.settle();
  }
}

/** Log fields of a record that carry no patient identifiers. */
function describe(data: AuditRecordInput): Record<string, unknown> {
  return { type: data.type, subtype: data.subtype, outcome: data.outcome, clientId: data.agent.clientId };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
