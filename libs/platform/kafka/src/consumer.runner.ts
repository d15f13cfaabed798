import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import type { Counter, Registry } from 'prom-client';
import type { DataSource, EntityManager } from 'typeorm';
import { attributesFromHeaders, deadLetterTopic, EventValidationError, retryTopic, validateEventData } from '@tessera/contracts';
import type { CloudEvent, CloudEventAttributes, EventDefinition } from '@tessera/contracts';
import type { EventProducer, OutgoingRecord } from './event.producer';
import { INBOX_TABLE } from './messaging-tables.migration';
import type { MessagingLogger } from './messaging-logger';
import { consumerRecordsCounter } from './messaging.metrics';
import type { RecordOutcome } from './messaging.metrics';
import { MessagingAttributes, messagingTracer, traceContextFrom } from './messaging.tracing';
import { decodeHeaders } from './record-headers.util';
import type { DecodedHeaders } from './record-headers.util';
import { buildForwardHeaders, decideOnFailure, readDeliveryState } from './retry-policy.util';
import type { DeliveryState, FailureKind, RecordOrigin, RetrySettings } from './retry-policy.util';

/** A consumed CloudEvent with its validated data and where it came from. */
export interface ConsumedEvent<T> extends CloudEvent<T> {
  readonly key: string | null;
  /** Topic, partition and offset where the event first arrived (its main topic). */
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  /** 1 for the first delivery, 2… for deliveries through the retry topic. */
  readonly attempt: number;
  /** The record actually delivered (a retry-topic record for attempt ≥ 2). */
  readonly delivery: RecordOrigin;
  readonly headers: DecodedHeaders;
}

/**
 * Applies one event. `tx` is the transaction in which the inbox row is written: every database
 * write of the handler must go through it, so the effect and "processed" commit together.
 */
export type EventHandler<T> = (event: ConsumedEvent<T>, tx: EntityManager) => Promise<void>;

export interface ConsumerRunnerOptions {
  readonly kafka: Kafka;
  readonly dataSource: DataSource;
  readonly groupId: string;
  /** Forwards failed records to the retry and dead-letter topics. Must be connected by the caller. */
  readonly producer: EventProducer;
  readonly retry: RetrySettings;
  readonly logger: MessagingLogger;
  /** Broker-side session timeout (default 30 s; the broker's minimum is usually 6 s). */
  readonly sessionTimeoutMs?: number;
  readonly rebalanceTimeoutMs?: number;
  readonly heartbeatIntervalMs?: number;
  /** Partitions handled in parallel (default 1). Order is kept within each partition. */
  readonly partitionsConsumedConcurrently?: number;
  /** A new group starts at the beginning of its topics (default true: projections replay). */
  readonly fromBeginning?: boolean;
  readonly maxBytesPerPartition?: number;
  /** Commit resolved offsets at least this often inside a long batch (default 1000 ms). */
  readonly commitIntervalMs?: number;
  /**
   * Records of a main-topic batch applied in one Postgres transaction (default 1). Larger values
   * trade per-record commits for throughput; if any record of a group fails, the group is rolled
   * back and its records are applied one by one, so a failing record is retried or dead-lettered
   * alone and the others are applied exactly once. (Handlers therefore must not have effects
   * outside `tx`: a record of a failed group is handled a second time, alone.)
   */
  readonly transactionBatchSize?: number;
  /** Where `tessera_kafka_consumer_records_total` is counted (messaging.metrics.ts); none when absent. */
  readonly metrics?: Registry;
}

export interface ConsumerHealth {
  readonly groupId: string;
  readonly running: boolean;
  /** Joined the group and has not crashed or disconnected since. */
  readonly connected: boolean;
  readonly lastError: { readonly message: string; readonly at: string } | null;
  readonly lastBatchAt: string | null;
  readonly processed: number;
  /** Records skipped because their event id was already in the inbox. */
  readonly duplicates: number;
  readonly retried: number;
  readonly deadLettered: number;
}

interface Registration {
  readonly definition: EventDefinition<unknown>;
  readonly handler: EventHandler<unknown>;
}

class RecordFailure extends Error {
  constructor(
    readonly kind: FailureKind,
    message: string,
  ) {
    super(message);
    this.name = 'RecordFailure';
  }
}

type Outcome = RecordOutcome;

/**
 * Runs one consumer group over the topics of its registered event types and their retry topics
 * (docs/architecture.md "Kafka conventions"):
 * - offsets are committed only after the record was applied (or forwarded to retry/DLQ);
 * - the handler runs in a Postgres transaction that also inserts the inbox row
 *   (consumer_group, event_id); an event already in the inbox is skipped;
 * - a failing record is re-published to `<topic>.<group>.retry` with a not-before time and the
 *   main partition moves on; after `retry.attempts` deliveries it goes to `<topic>.<group>.dlq`;
 *   malformed records (envelope, schema, unknown type) go to the DLQ at once;
 * - heartbeats continue while a handler runs; `stop()` lets the in-flight record finish and commits.
 */
export class ConsumerRunner {
  private readonly registrations = new Map<string, Registration>();
  private readonly retryTopics = new Set<string>();
  private consumer: Consumer | null = null;
  private running = false;
  private connected = false;
  private lastError: { message: string; at: string } | null = null;
  private lastBatchAt: string | null = null;
  private readonly counters = { processed: 0, duplicates: 0, retried: 0, deadLettered: 0 };
  private readonly resumeTimers = new Set<NodeJS.Timeout>();
  private readonly recordsCounter: Counter<'consumer_group' | 'outcome'> | null;

  constructor(private readonly options: ConsumerRunnerOptions) {
    this.recordsCounter = options.metrics === undefined ? null : consumerRecordsCounter(options.metrics);
  }

  get groupId(): string {
    return this.options.groupId;
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** Registers the handler of one event type. Call before `start()`. */
  on<T>(definition: EventDefinition<T>, handler: EventHandler<T>): this {
    if (this.consumer !== null) throw new Error('Register handlers before start()');
    if (this.registrations.has(definition.type)) {
      throw new Error(`A handler for event type ${definition.type} is already registered in group ${this.groupId}`);
    }
    this.registrations.set(definition.type, {
      definition: definition,
      handler: handler as EventHandler<unknown>,
    });
    return this;
  }

  /** Main topics of the registered event types. */
  get topics(): string[] {
    return [...new Set([...this.registrations.values()].map((r) => r.definition.topic))].sort();
  }

  /** The main topics and their retry topics: what the group reads, and where its lag is measured. */
  get consumedTopics(): string[] {
    return this.topics.flatMap((topic) => [topic, retryTopic(topic, this.groupId)]);
  }

  /** `{ id, topics }` for `allTopicSpecs(partitions, extraGroups)`, which derives retry and DLQ topics. */
  get groupDescriptor(): { readonly id: string; readonly topics: readonly string[] } {
    return { id: this.groupId, topics: this.topics };
  }

  health(): ConsumerHealth {
    return {
      groupId: this.groupId,
      running: this.running,
      connected: this.connected,
      lastError: this.lastError,
      lastBatchAt: this.lastBatchAt,
      ...this.counters,
    };
  }

  async start(): Promise<void> {
    if (this.consumer !== null) throw new Error(`Consumer group ${this.groupId} is already started`);
    const topics = this.topics;
    if (topics.length === 0) throw new Error(`Consumer group ${this.groupId} has no registered event types`);
    for (const topic of topics) this.retryTopics.add(retryTopic(topic, this.groupId));
    const sessionTimeout = this.options.sessionTimeoutMs ?? 30_000;
    const consumer = this.options.kafka.consumer({
      groupId: this.groupId,
      sessionTimeout,
      rebalanceTimeout: this.options.rebalanceTimeoutMs ?? Math.max(2 * sessionTimeout, 10_000),
      heartbeatInterval: this.options.heartbeatIntervalMs ?? Math.floor(sessionTimeout / 10),
      allowAutoTopicCreation: false,
      ...(this.options.maxBytesPerPartition === undefined ? {} : { maxBytesPerPartition: this.options.maxBytesPerPartition }),
    });
    this.consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, () => {
      this.connected = true;
    });
    consumer.on(consumer.events.DISCONNECT, () => {
      this.connected = false;
    });
    consumer.on(consumer.events.CRASH, (event) => {
      this.connected = false;
      this.recordError(event.payload.error);
      if (!event.payload.restart) this.running = false;
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [...topics, ...this.retryTopics], fromBeginning: this.options.fromBeginning ?? true });
    this.running = true;
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently ?? 1,
      eachBatch: (payload) => this.onBatch(payload),
    });
  }

  /** Stops fetching, lets the in-flight record finish, commits what was applied and leaves the group. */
  async stop(): Promise<void> {
    const consumer = this.consumer;
    if (consumer === null) return;
    this.running = false;
    for (const timer of this.resumeTimers) clearTimeout(timer);
    this.resumeTimers.clear();
    try {
      await consumer.stop();
    } finally {
      await consumer.disconnect();
      this.connected = false;
      this.consumer = null;
    }
  }

  private recordError(error: unknown): void {
    this.lastError = { message: error instanceof Error ? error.message : String(error), at: new Date().toISOString() };
  }

  private async onBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const isRetry = this.retryTopics.has(batch.topic);
    const commitInterval = this.options.commitIntervalMs ?? 1000;
    let lastCommit = Date.now();
    this.lastBatchAt = new Date().toISOString();
    const groupSize = isRetry ? 1 : Math.max(1, this.options.transactionBatchSize ?? 1);
    // After a group failed, its records are applied one by one up to here.
    let singleUntil = 0;
    try {
      for (let index = 0; index < batch.messages.length; ) {
        if (!this.running || !payload.isRunning() || payload.isStale()) break;
        if (groupSize > 1 && index >= singleUntil) {
          const group = batch.messages.slice(index, index + groupSize);
          const outcomes = await this.applyGroup(group, payload);
          if (outcomes !== undefined) {
            group.forEach((message, i) => {
              this.count(outcomes[i] ?? 'processed');
              payload.resolveOffset(message.offset);
            });
            index += group.length;
            if (Date.now() - lastCommit >= commitInterval) {
              await this.commit(payload);
              lastCommit = Date.now();
            }
            await payload.heartbeat();
            continue;
          }
          singleUntil = index + group.length;
        }
        const message = batch.messages[index++];
        if (message === undefined) break;
        const headers = decodeHeaders(message.headers);
        const position: RecordOrigin = { topic: batch.topic, partition: batch.partition, offset: message.offset };
        const state: DeliveryState = isRetry
          ? readDeliveryState(headers, position)
          : { attempt: 1, origin: position, notBefore: 0 };
        const wait = state.notBefore - Date.now();
        if (wait > 0) {
          // Not due yet: pause this retry partition (others keep flowing) and come back to this
          // record, which stays unresolved, when it is due.
          const resume = payload.pause();
          const timer = setTimeout(() => {
            this.resumeTimers.delete(timer);
            resume();
          }, wait);
          this.resumeTimers.add(timer);
          break;
        }
        const outcome = await this.processRecord(message, headers, state, position, payload);
        this.count(outcome);
        payload.resolveOffset(message.offset);
        if (Date.now() - lastCommit >= commitInterval) {
          await this.commit(payload);
          lastCommit = Date.now();
        }
        await payload.heartbeat();
      }
      await this.commit(payload);
    } catch (error) {
      this.recordError(error);
      try {
        await this.commit(payload);
      } catch {
        // The original error matters more; the records will be redelivered and deduplicated.
      }
      throw error;
    }
  }

  private count(outcome: Outcome): void {
    this.recordsCounter?.inc({ consumer_group: this.groupId, outcome });
    switch (outcome) {
      case 'processed':
        this.counters.processed += 1;
        return;
      case 'duplicate':
        this.counters.duplicates += 1;
        return;
      case 'retried':
        this.counters.retried += 1;
        return;
      case 'dead-lettered':
        this.counters.deadLettered += 1;
        return;
    }
  }

  private async commit(payload: EachBatchPayload): Promise<void> {
    const offsets = payload.uncommittedOffsets();
    if (offsets.topics.length === 0) return;
    await payload.commitOffsetsIfNecessary(offsets);
  }

  /** Applies one record, or forwards it to retry/DLQ. Throws only when forwarding fails. */
  private async processRecord(
    message: KafkaMessage,
    headers: DecodedHeaders,
    state: DeliveryState,
    position: RecordOrigin,
    payload: EachBatchPayload,
  ): Promise<Outcome> {
    const tracer = messagingTracer();
    const parent = traceContextFrom(headers);
    const span = tracer.startSpan(
      `${state.origin.topic} process`,
      {
        kind: SpanKind.CONSUMER,
        attributes: {
          [MessagingAttributes.system]: 'kafka',
          [MessagingAttributes.operationType]: 'process',
          [MessagingAttributes.operationName]: 'process',
          [MessagingAttributes.destinationName]: state.origin.topic,
          [MessagingAttributes.partitionId]: String(position.partition),
          [MessagingAttributes.kafkaOffset]: Number(position.offset),
          [MessagingAttributes.consumerGroup]: this.groupId,
          [MessagingAttributes.attempt]: state.attempt,
          ...(headers.ce_id === undefined ? {} : { [MessagingAttributes.messageId]: headers.ce_id }),
          ...(headers.ce_type === undefined ? {} : { [MessagingAttributes.cloudEventsType]: headers.ce_type }),
        },
      },
      parent,
    );
    try {
      // Handler spans (pg, http) become children of the CONSUMER span.
      const applied = await context.with(trace.setSpan(parent, span), () =>
        this.apply(message, headers, state, payload),
      );
      span.setStatus({ code: SpanStatusCode.OK });
      return applied ? 'processed' : 'duplicate';
    } catch (error) {
      const failure = toFailure(error, this.groupId);
      span.recordException({ name: failure.kind, message: failure.message });
      span.setStatus({ code: SpanStatusCode.ERROR, message: failure.kind });
      return await this.forward(message, headers, state, failure);
    } finally {
      span.end();
    }
  }

  /** Inbox insert and handler in one transaction. Resolves false when the event was already applied. */
  private async apply(
    message: KafkaMessage,
    headers: DecodedHeaders,
    state: DeliveryState,
    payload: EachBatchPayload,
  ): Promise<boolean> {
    const attributes = parseEnvelope(headers);
    const registration = this.registrations.get(attributes.type);
    if (registration === undefined) {
      throw new RecordFailure(
        'unknown-type',
        `Consumer group ${this.groupId} has no handler for event type ${attributes.type} (schema version ${attributes.schemaversion}) on topic ${state.origin.topic}`,
      );
    }
    const data = parseData(registration.definition, message.value);
    const event: ConsumedEvent<unknown> = {
      ...attributes,
      data,
      key: message.key === null ? null : message.key.toString('utf8'),
      topic: state.origin.topic,
      partition: state.origin.partition,
      offset: state.origin.offset,
      attempt: state.attempt,
      delivery: { topic: payload.batch.topic, partition: payload.batch.partition, offset: message.offset },
      headers,
    };
    return this.withHeartbeats(payload, () =>
      this.options.dataSource.transaction(async (tx) => {
        const inserted: unknown[] = await tx.query(
          `INSERT INTO ${INBOX_TABLE} (consumer_group, event_id, event_type, topic, "partition", "offset")
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (consumer_group, event_id) DO NOTHING
           RETURNING event_id`,
          [this.groupId, attributes.id, attributes.type, state.origin.topic, state.origin.partition, state.origin.offset],
        );
        if (inserted.length === 0) return false;
        await registration.handler(event, tx);
        return true;
      }),
    );
  }

  /**
   * Applies a group of main-topic records in one transaction (inbox rows + handlers). Resolves
   * with each record's outcome, or undefined when any record failed (nothing of the group is then
   * applied, and the caller applies the records one by one).
   */
  private async applyGroup(messages: readonly KafkaMessage[], payload: EachBatchPayload): Promise<Outcome[] | undefined> {
    const tracer = messagingTracer();
    try {
      return await this.withHeartbeats(payload, () =>
        this.options.dataSource.transaction(async (tx) => {
          const outcomes: Outcome[] = [];
          for (const message of messages) {
            const headers = decodeHeaders(message.headers);
            const position: RecordOrigin = { topic: payload.batch.topic, partition: payload.batch.partition, offset: message.offset };
            const attributes = parseEnvelope(headers);
            const registration = this.registrations.get(attributes.type);
            if (registration === undefined) throw new RecordFailure('unknown-type', 'no handler');
            const data = parseData(registration.definition, message.value);
            const parent = traceContextFrom(headers);
            const span = tracer.startSpan(
              `${position.topic} process`,
              {
                kind: SpanKind.CONSUMER,
                attributes: {
                  [MessagingAttributes.system]: 'kafka',
                  [MessagingAttributes.operationType]: 'process',
                  [MessagingAttributes.operationName]: 'process',
                  [MessagingAttributes.destinationName]: position.topic,
                  [MessagingAttributes.partitionId]: String(position.partition),
                  [MessagingAttributes.kafkaOffset]: Number(position.offset),
                  [MessagingAttributes.consumerGroup]: this.groupId,
                  [MessagingAttributes.attempt]: 1,
                  [MessagingAttributes.messageId]: attributes.id,
                  [MessagingAttributes.cloudEventsType]: attributes.type,
                },
              },
              parent,
            );
            try {
              const inserted: unknown[] = await tx.query(
                `INSERT INTO ${INBOX_TABLE} (consumer_group, event_id, event_type, topic, "partition", "offset")
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (consumer_group, event_id) DO NOTHING
                 RETURNING event_id`,
                [this.groupId, attributes.id, attributes.type, position.topic, position.partition, position.offset],
              );
              if (inserted.length === 0) {
                outcomes.push('duplicate');
                continue;
              }
              const event: ConsumedEvent<unknown> = {
                ...attributes,
                data,
                key: message.key === null ? null : message.key.toString('utf8'),
                topic: position.topic,
                partition: position.partition,
                offset: position.offset,
                attempt: 1,
                delivery: position,
                headers,
              };
              await context.with(trace.setSpan(parent, span), () => registration.handler(event, tx));
              outcomes.push('processed');
            } finally {
              span.end();
            }
          }
          return outcomes;
        }),
      );
    } catch {
      return undefined;
    }
  }

  /** Keeps the group membership alive while `work` runs (kafkajs heartbeats only between calls). */
  private async withHeartbeats<R>(payload: EachBatchPayload, work: () => Promise<R>): Promise<R> {
    const sessionTimeout = this.options.sessionTimeoutMs ?? 30_000;
    const timer = setInterval(() => {
      payload.heartbeat().catch((error: unknown) => {
        this.options.logger.warn(
          { groupId: this.groupId, err: { message: (error as Error).message } },
          'Heartbeat during a running handler failed',
        );
      });
    }, Math.max(500, Math.floor(sessionTimeout / 3)));
    try {
      return await work();
    } finally {
      clearInterval(timer);
    }
  }

  private async forward(
    message: KafkaMessage,
    headers: DecodedHeaders,
    state: DeliveryState,
    failure: RecordFailure,
  ): Promise<Outcome> {
    const now = Date.now();
    const decision = decideOnFailure(failure.kind, state.attempt, this.options.retry, now);
    const common = {
      consumerGroup: this.groupId,
      origin: state.origin,
      kind: failure.kind,
      errorMessage: failure.message,
      failedAt: now,
    };
    const logContext = {
      groupId: this.groupId,
      eventId: headers.ce_id,
      eventType: headers.ce_type,
      topic: state.origin.topic,
      partition: state.origin.partition,
      offset: state.origin.offset,
      attempt: state.attempt,
      kind: failure.kind,
      error: failure.message,
    };
    let record: OutgoingRecord;
    if (decision.action === 'retry') {
      record = {
        topic: retryTopic(state.origin.topic, this.groupId),
        key: message.key === null ? null : message.key.toString('utf8'),
        value: message.value,
        headers: buildForwardHeaders(headers, { ...common, attempt: decision.nextAttempt, notBefore: decision.notBefore }),
      };
      this.options.logger.warn({ ...logContext, notBefore: new Date(decision.notBefore).toISOString() }, 'Event failed; scheduled for retry');
    } else {
      record = {
        topic: deadLetterTopic(state.origin.topic, this.groupId),
        key: message.key === null ? null : message.key.toString('utf8'),
        value: message.value,
        headers: buildForwardHeaders(headers, { ...common, attempt: decision.attempts }),
      };
      this.options.logger.error(logContext, 'Event sent to the dead-letter topic');
    }
    await this.options.producer.sendRecords([record]);
    return decision.action === 'retry' ? 'retried' : 'dead-lettered';
  }
}

function parseEnvelope(headers: DecodedHeaders): CloudEventAttributes {
  try {
    return attributesFromHeaders(headers);
  } catch (error) {
    throw new RecordFailure('envelope', `Record has no valid CloudEvents envelope: ${(error as Error).message}`);
  }
}

function parseData(definition: EventDefinition<unknown>, value: Buffer | null): unknown {
  if (value === null) throw new RecordFailure('validation', `Event ${definition.type} has no value (data)`);
  let json: unknown;
  try {
    json = JSON.parse(value.toString('utf8'));
  } catch {
    // The parser's message may quote the input; say only what is wrong.
    throw new RecordFailure('validation', `Event ${definition.type} data is not valid JSON`);
  }
  try {
    return validateEventData(definition, json);
  } catch (error) {
    if (error instanceof EventValidationError) throw new RecordFailure('validation', error.message);
    throw error;
  }
}

function toFailure(error: unknown, groupId: string): RecordFailure {
  if (error instanceof RecordFailure) return error;
  const message = error instanceof Error ? `${error.name}: ${error.message}` : `Handler in group ${groupId} failed: ${String(error)}`;
  return new RecordFailure('handler', message);
}
