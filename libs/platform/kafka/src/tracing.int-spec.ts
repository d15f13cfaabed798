import { SpanKind, trace } from '@opentelemetry/api';
import type { SpanContext } from '@opentelemetry/api';
import type { Kafka } from 'kafkajs';
import type { DataSource } from 'typeorm';
import { kafkaConfig, loadConfig } from '@tessera/platform-config';
import { createDataSource } from '@tessera/platform-persistence';
import {
  countedEvent,
  installTestTracing,
  PLATFORM_TEST_DATABASE,
  prepareMessagingDatabase,
  stderrLogger,
  testTopicSpecs,
  uniqueTestId,
  waitFor,
  withAdmin,
} from '@tessera/testing';
import type { TestTracing } from '@tessera/testing';
import { ConsumerRunner } from './consumer.runner';
import { EventProducer } from './event.producer';
import { createKafka } from './kafka-client.factory';
import { MessagingTables1700000000000 } from './messaging-tables.migration';
import { ensureTopics } from './topic.admin';

const logger = stderrLogger('[tracing.int-spec]');

describe('trace context across Kafka', () => {
  let tracing: TestTracing;
  let kafka: Kafka;
  let producer: EventProducer;
  let dataSource: DataSource;
  let runner: ConsumerRunner | undefined;

  beforeAll(async () => {
    tracing = installTestTracing();
    const settings = await prepareMessagingDatabase(PLATFORM_TEST_DATABASE, [MessagingTables1700000000000]);
    kafka = createKafka(loadConfig(kafkaConfig), { clientId: 'tracing-int-spec', logger });
    producer = new EventProducer(kafka, { logger });
    await producer.connect();
    dataSource = createDataSource({ settings, database: PLATFORM_TEST_DATABASE, poolSize: 2 });
    await dataSource.initialize();
  });

  afterAll(async () => {
    await runner?.stop();
    await producer?.disconnect();
    await dataSource?.destroy();
    await tracing?.uninstall();
  });

  it('continues the producer span in the consumer span (same trace, child of the PRODUCER span)', async () => {
    const runId = uniqueTestId();
    const topic = `test.${runId}`;
    const groupId = `test.${runId}.group`;
    await withAdmin(kafka, (admin) => ensureTopics(admin, testTopicSpecs(groupId, [topic], 1), 1));
    const Counted = countedEvent(topic);
    let handlerSpan: SpanContext | undefined;
    runner = new ConsumerRunner({
      kafka,
      dataSource,
      groupId,
      producer,
      logger,
      retry: { attempts: 3, backoffMs: 100 },
      sessionTimeoutMs: 6000,
      heartbeatIntervalMs: 500,
    }).on(Counted, async () => {
      handlerSpan = trace.getActiveSpan()?.spanContext();
    });

    const tracer = trace.getTracer('tracing-int-spec');
    const root = await tracer.startActiveSpan('ingest request', async (span) => {
      await producer.publish(Counted, { key: 'patient-key-1', source: '/tessera/test', data: { seq: 1 } });
      span.end();
      return span.spanContext();
    });
    await runner.start();
    await waitFor('the event handled', async () => runner!.health().processed, (n) => n === 1);

    const spans = tracing.exporter.getFinishedSpans();
    const producerSpan = spans.find((s) => s.kind === SpanKind.PRODUCER && s.name === `${topic} publish`);
    const consumerSpan = spans.find((s) => s.kind === SpanKind.CONSUMER && s.name === `${topic} process`);
    expect(producerSpan).toBeDefined();
    expect(consumerSpan).toBeDefined();
    expect(producerSpan!.spanContext().traceId).toBe(root.traceId);
    expect(producerSpan!.parentSpanContext?.spanId).toBe(root.spanId);
    expect(consumerSpan!.spanContext().traceId).toBe(root.traceId);
    expect(consumerSpan!.parentSpanContext?.spanId).toBe(producerSpan!.spanContext().spanId);
    expect(consumerSpan!.parentSpanContext?.isRemote).toBe(true);
    // The handler (and the Postgres work it does) runs inside the CONSUMER span.
    expect(handlerSpan?.spanId).toBe(consumerSpan!.spanContext().spanId);

    expect(consumerSpan!.attributes).toMatchObject({
      'messaging.system': 'kafka',
      'messaging.destination.name': topic,
      'messaging.consumer.group.name': groupId,
      'messaging.destination.partition.id': '0',
    });
    // No key or payload in span attributes (they may identify a patient).
    const attributeText = JSON.stringify([producerSpan!.attributes, consumerSpan!.attributes]);
    expect(attributeText).not.toContain('patient-key-1');
    expect(attributeText).not.toContain('seq');
  });
});
