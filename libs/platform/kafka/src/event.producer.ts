import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { Partitioners } from 'kafkajs';
import type { Kafka, Message, Producer, RecordMetadata, TopicMessages } from 'kafkajs';
import { validateEventData } from '@tessera/contracts';
import type { CloudEventAttributes, EventDefinition } from '@tessera/contracts';
import { buildEventAttributes, buildRecordHeaders } from './record-headers.util';
import { MessagingAttributes, messagingTracer, traceHeadersOf } from './messaging.tracing';
import type { MessagingLogger } from './messaging-logger';

export interface PublishInput<T> {
  /** Partition key: the aggregate id, so one aggregate's events stay in order. */
  readonly key: string;
  readonly subject?: string;
  readonly data: T;
  /** CloudEvents id; a new UUID when omitted. */
  readonly id?: string;
  readonly time?: Date | string;
  /** CloudEvents source, e.g. `/tessera/interop-gateway`. */
  readonly source: string;
}

/** A record ready to send: value already serialized, headers already built. */
export interface OutgoingRecord {
  readonly topic: string;
  readonly key: string | null;
  readonly value: string | Buffer | null;
  readonly headers: Readonly<Record<string, string>>;
}

export interface EventProducerOptions {
  readonly logger: MessagingLogger;
}

/**
 * Idempotent producer with acks=all (docs/architecture.md "Kafka conventions"). kafkajs requires
 * `maxInFlightRequests: 1` for idempotence; it also keeps records of one partition in order
 * across retries.
 */
export class EventProducer {
  private readonly producer: Producer;
  private connected = false;

  constructor(
    kafka: Kafka,
    private readonly options: EventProducerOptions,
  ) {
    this.producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    this.producer.on(this.producer.events.CONNECT, () => {
      this.connected = true;
    });
    this.producer.on(this.producer.events.DISCONNECT, () => {
      this.connected = false;
    });
  }

  get isConnected(): boolean {
    return this.connected;
  }

  async connect(): Promise<void> {
    await this.producer.connect();
    this.connected = true;
  }

  async disconnect(): Promise<void> {
    await this.producer.disconnect();
    this.connected = false;
  }

  /** Validates, wraps in a CloudEvent and writes one event to its definition's topic. */
  async publish<T>(definition: EventDefinition<T>, input: PublishInput<T>): Promise<CloudEventAttributes> {
    const [attributes] = await this.publishBatch(definition, [input]);
    return attributes;
  }

  /**
   * Writes many events of one type in one send. One PRODUCER span `<topic> publish` covers the
   * send; every record carries its context in `traceparent`, so consumers continue the trace.
   */
  async publishBatch<T>(
    definition: EventDefinition<T>,
    inputs: ReadonlyArray<PublishInput<T>>,
  ): Promise<CloudEventAttributes[]> {
    if (inputs.length === 0) return [];
    const validated = inputs.map((input) => ({ input, data: validateEventData(definition, input.data) }));
    const tracer = messagingTracer();
    const span = tracer.startSpan(`${definition.topic} publish`, {
      kind: SpanKind.PRODUCER,
      attributes: {
        [MessagingAttributes.system]: 'kafka',
        [MessagingAttributes.operationType]: 'send',
        [MessagingAttributes.operationName]: 'publish',
        [MessagingAttributes.destinationName]: definition.topic,
        [MessagingAttributes.cloudEventsType]: definition.type,
        ...(inputs.length === 1 ? {} : { [MessagingAttributes.batchCount]: inputs.length }),
      },
    });
    const traceHeaders = traceHeadersOf(trace.setSpan(context.active(), span));
    const attributes = validated.map(({ input }) => buildEventAttributes(definition, input));
    if (attributes.length === 1) span.setAttribute(MessagingAttributes.messageId, attributes[0]?.id ?? '');
    try {
      await this.sendRecords(
        validated.map(({ input, data }, i) => ({
          topic: definition.topic,
          key: input.key,
          value: JSON.stringify(data),
          headers: buildRecordHeaders(attributes[i], traceHeaders),
        })),
      );
      return attributes;
    } catch (error) {
      span.recordException(error as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
      throw error;
    } finally {
      span.end();
    }
  }

  /**
   * Sends prepared records in one request per broker, acks=all. Records of one partition keep
   * their order. Used by the outbox relay and by retry/DLQ forwarding.
   */
  async sendRecords(records: readonly OutgoingRecord[]): Promise<RecordMetadata[]> {
    if (records.length === 0) return [];
    const byTopic = new Map<string, Message[]>();
    for (const record of records) {
      const messages = byTopic.get(record.topic) ?? [];
      messages.push({ key: record.key, value: record.value, headers: { ...record.headers } });
      byTopic.set(record.topic, messages);
    }
    const topicMessages: TopicMessages[] = [...byTopic].map(([topic, messages]) => ({ topic, messages }));
    try {
      return await this.producer.sendBatch({ topicMessages, acks: -1 });
    } catch (error) {
      this.options.logger.error(
        { err: { name: (error as Error).name, message: (error as Error).message }, topics: [...byTopic.keys()], count: records.length },
        'Kafka send failed',
      );
      throw error;
    }
  }
}
