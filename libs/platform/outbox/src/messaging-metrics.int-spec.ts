import type { Admin, Kafka } from 'kafkajs';
import { Registry } from 'prom-client';
import { kafkaConfig, loadConfig } from '@tessera/platform-config';
import {
  ConsumerRunner,
  createKafka,
  ensureTopics,
  EventProducer,
  MessagingTables1700000000000,
  registerConsumerLagMetric,
} from '@tessera/platform-kafka';
import { createDataSource } from '@tessera/platform-persistence';
import {
  countedEvent,
  dropTestDatabase,
  prepareMessagingDatabase,
  quietLogger,
  stderrLogger,
  testTopicSpecs,
  uniqueTestId,
  waitFor,
} from '@tessera/testing';
import { OutboxRelay } from './outbox.relay';
import { OutboxWriter } from './outbox.writer';

const logger = stderrLogger('[messaging-metrics.int-spec]');

/** The value of one series in a Prometheus text exposition, or undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/**
 * The series the autoscalers and alerts read, against the real brokers and Postgres: the outbox
 * backlog drains to zero as the relay publishes, and the consumer lag, read from the brokers,
 * falls from what was published to zero as the group consumes.
 */
describe('messaging metrics (real Kafka + Postgres)', () => {
  const runId = uniqueTestId();
  const database = `tessera_metrics_test_${runId}`;
  const topic = `test.${runId}`;
  const groupId = `test.${runId}.group`;
  const Counted = countedEvent(topic);
  let kafka: Kafka;
  let admin: Admin;
  let producer: EventProducer;
  const stoppables: Array<{ stop(): Promise<void> }> = [];
  let cleanup: () => Promise<void> = async () => undefined;

  beforeAll(async () => {
    kafka = createKafka(loadConfig(kafkaConfig), { clientId: 'messaging-metrics-int-spec', logger });
    admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, testTopicSpecs(groupId, [topic], 3), 1);
    producer = new EventProducer(kafka, { logger });
    await producer.connect();
  });

  afterAll(async () => {
    await Promise.all(stoppables.splice(0).map((s) => s.stop()));
    await cleanup();
    await producer?.disconnect();
    await admin?.disconnect();
  });

  it('reports the outbox backlog and the consumer lag until both reach zero', async () => {
    const settings = await prepareMessagingDatabase(database, [MessagingTables1700000000000]);
    const dataSource = createDataSource({ settings, database, poolSize: 3 });
    await dataSource.initialize();
    cleanup = async () => {
      await dataSource.destroy();
      await dropTestDatabase(settings, database);
    };
    const writer = new OutboxWriter();
    await dataSource.transaction(async (tx) => {
      for (let seq = 0; seq < 25; seq++)
        await writer.enqueue(tx, Counted, { key: `key-${seq % 5}`, source: '/tessera/test', data: { seq } });
    });

    const registry = new Registry();
    const relay = new OutboxRelay({
      settings,
      database,
      producer,
      logger,
      pollIntervalMs: 200,
      metrics: registry,
    });
    registerConsumerLagMetric({
      registry,
      admin: () => admin,
      groups: () => [{ id: groupId, topics: [topic] }],
    });

    const before = await registry.metrics();
    expect(sample(before, 'tessera_outbox_backlog')).toBe(25);
    expect(sample(before, 'tessera_outbox_oldest_unpublished_seconds')).toBeGreaterThanOrEqual(0);
    // Nothing published yet. (Fresh partitions may still be electing leaders: the series is absent
    // until the brokers answer within the scrape's time limit.)
    const lagSeries = `tessera_kafka_consumer_lag{consumer_group="${groupId}",topic="${topic}"}`;
    await waitFor(
      'the lag of an empty topic',
      async () => sample(await registry.metrics(), lagSeries),
      (n) => n === 0,
      {
        timeoutMs: 30_000,
      },
    );

    relay.start();
    stoppables.push(relay);
    await waitFor(
      'the outbox drained',
      async () => sample(await registry.metrics(), 'tessera_outbox_backlog'),
      (n) => n === 0,
      {
        timeoutMs: 30_000,
      },
    );
    const published = await registry.metrics();
    expect(sample(published, 'tessera_outbox_published_total')).toBe(25);
    expect(sample(published, 'tessera_outbox_oldest_unpublished_seconds')).toBe(0);
    // The group has not consumed yet: everything published is lag.
    expect(sample(published, lagSeries)).toBe(25);

    const runner = new ConsumerRunner({
      kafka,
      dataSource,
      groupId,
      producer,
      logger: quietLogger,
      retry: { attempts: 2, backoffMs: 100 },
      sessionTimeoutMs: 6000,
      heartbeatIntervalMs: 500,
      metrics: registry,
    }).on(Counted, async () => undefined);
    stoppables.unshift(runner);
    await runner.start();
    await waitFor(
      'the group caught up',
      async () => sample(await registry.metrics(), lagSeries),
      (n) => n === 0,
      { timeoutMs: 60_000 },
    );
    expect(
      sample(
        await registry.metrics(),
        `tessera_kafka_consumer_records_total{consumer_group="${groupId}",outcome="processed"}`,
      ),
    ).toBe(25);
  }, 120_000);
});
