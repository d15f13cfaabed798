import type { Kafka } from 'kafkajs';
import type { DataSource } from 'typeorm';
import { deadLetterTopic } from '@tessera/contracts';
import { createDataSource } from '@tessera/platform-persistence';
import {
  collectRecords,
  committedTotal,
  countedEvent,
  PLATFORM_TEST_DATABASE,
  prepareMessagingDatabase,
  quietLogger,
  stderrLogger,
  testTopicSpecs,
  uniqueTestId,
  waitFor,
  withAdmin,
} from '@tessera/testing';
import type { CountedEvent } from '@tessera/testing';
import { loadConfig, kafkaConfig } from '@tessera/platform-config';
import { ConsumerRunner } from './consumer.runner';
import type { ConsumedEvent } from './consumer.runner';
import { EventProducer } from './event.producer';
import { createKafka } from './kafka-client.factory';
import { MessagingTables1700000000000 } from './messaging-tables.migration';
import { RetryHeaders } from './record-headers.util';
import { ensureTopics } from './topic.admin';

const logger = stderrLogger('[consumer.runner.int-spec]');

describe('ConsumerRunner (real Kafka + Postgres)', () => {
  let kafka: Kafka;
  let producer: EventProducer;
  let dataSource: DataSource;
  const runners: ConsumerRunner[] = [];

  beforeAll(async () => {
    const settings = await prepareMessagingDatabase(PLATFORM_TEST_DATABASE, [MessagingTables1700000000000]);
    kafka = createKafka(loadConfig(kafkaConfig), { clientId: 'consumer-runner-int-spec', logger });
    producer = new EventProducer(kafka, { logger });
    await producer.connect();
    dataSource = createDataSource({ settings, database: PLATFORM_TEST_DATABASE, poolSize: 4 });
    await dataSource.initialize();
  });

  afterEach(async () => {
    await Promise.all(runners.splice(0).map((runner) => runner.stop()));
  });

  afterAll(async () => {
    await producer?.disconnect();
    await dataSource?.destroy();
  });

  async function setUp(partitions = 1): Promise<{ topic: string; groupId: string; runId: string }> {
    const runId = uniqueTestId();
    const topic = `test.${runId}`;
    const groupId = `test.${runId}.group`;
    await withAdmin(kafka, (admin) => ensureTopics(admin, testTopicSpecs(groupId, [topic], partitions), 1));
    return { topic, groupId, runId };
  }

  function newRunner(groupId: string, retryBackoffMs = 200, transactionBatchSize = 1): ConsumerRunner {
    const runner = new ConsumerRunner({
      transactionBatchSize,
      kafka,
      dataSource,
      groupId,
      producer,
      // Failures in these tests are deliberate: keep their warnings out of the test output.
      logger: quietLogger,
      retry: { attempts: 3, backoffMs: retryBackoffMs },
      sessionTimeoutMs: 6000,
      heartbeatIntervalMs: 500,
    });
    runners.push(runner);
    return runner;
  }

  async function effects(runId: string): Promise<Array<{ event_id: string; seq: number }>> {
    return dataSource.query(`SELECT event_id, seq FROM messaging_test_effect WHERE run_id = $1 ORDER BY id`, [runId]);
  }

  it('sends a poison message to the DLQ after N attempts while later messages of the same key are processed', async () => {
    const { topic, groupId, runId } = await setUp(3);
    const Counted = countedEvent(topic);
    const poisonAttempts: Array<{ attempt: number; at: number; event: ConsumedEvent<CountedEvent> }> = [];
    const processedAt = new Map<number, number>();
    const runner = newRunner(groupId).on(Counted, async (event, tx) => {
      if (event.data.poison === true) {
        poisonAttempts.push({ attempt: event.attempt, at: Date.now(), event });
        throw new Error('synthetic handler failure for the poison event');
      }
      await tx.query(`INSERT INTO messaging_test_effect (run_id, event_id, event_key, seq) VALUES ($1, $2, $3, $4)`, [
        runId,
        event.id,
        event.key,
        event.data.seq,
      ]);
      processedAt.set(event.data.seq, Date.now());
    });

    // One key: the poison event and the five after it share a partition, poison first.
    const published = await producer.publishBatch(
      Counted,
      [0, 1, 2, 3, 4, 5].map((seq) => ({ key: 'same-key', source: '/tessera/test', data: { seq, poison: seq === 0 } })),
    );
    await runner.start();

    const [dlqRecord] = await collectRecords(kafka, deadLetterTopic(topic, groupId), 1, { timeoutMs: 30_000, settleMs: 500 });
    await waitFor('five applied effects', () => effects(runId), (rows) => rows.length === 5);

    // The handler saw the poison event exactly N = 3 times, through the retry topic, with backoff.
    expect(poisonAttempts.map((a) => a.attempt)).toEqual([1, 2, 3]);
    const [first, second, third] = poisonAttempts as [(typeof poisonAttempts)[0], (typeof poisonAttempts)[0], (typeof poisonAttempts)[0]];
    expect(second.at - first.at).toBeGreaterThanOrEqual(200);
    expect(third.at - second.at).toBeGreaterThanOrEqual(400);
    expect(second.event.delivery.topic).toBe(`${topic}.${groupId}.retry`);
    expect(second.event.topic).toBe(topic);
    expect(second.event.offset).toBe(first.event.offset);

    // Later messages of the same partition did not wait for the poison event's retries.
    expect((await effects(runId)).map((r) => r.seq)).toEqual([1, 2, 3, 4, 5]);
    for (const seq of [1, 2, 3, 4, 5]) expect(processedAt.get(seq)).toBeLessThan(second.at);

    // The DLQ record carries the original event, the error, where it came from and the attempt count.
    expect(dlqRecord).toBeDefined();
    expect(dlqRecord.headers).toMatchObject({
      ce_id: published[0].id,
      ce_type: 'org.tessera.test.counted',
      [RetryHeaders.attempt]: '3',
      [RetryHeaders.originalTopic]: topic,
      [RetryHeaders.originalPartition]: String(first.event.partition),
      [RetryHeaders.originalOffset]: first.event.offset,
      [RetryHeaders.errorKind]: 'handler',
      [RetryHeaders.consumerGroup]: groupId,
    });
    expect(dlqRecord.headers[RetryHeaders.error]).toContain('synthetic handler failure for the poison event');
    expect(JSON.parse(dlqRecord.value!)).toEqual({ seq: 0, poison: true });
    expect(dlqRecord.key).toBe('same-key');

    // Every main-topic offset is committed: the partition is not blocked.
    await withAdmin(kafka, (admin) =>
      waitFor('all six main offsets committed', () => committedTotal(admin, groupId, topic), (n) => n === 6),
    );
    expect(runner.health()).toMatchObject({ running: true, connected: true, processed: 5, retried: 2, deadLettered: 1 });
  });

  it('applies records in transaction groups, and a failing record alone goes to retry while the rest apply once', async () => {
    const { topic, groupId, runId } = await setUp(1);
    const Counted = countedEvent(topic);
    const poisonAttempts: number[] = [];
    const runner = newRunner(groupId, 100, 20).on(Counted, async (event, tx) => {
      if (event.data.poison === true) {
        poisonAttempts.push(event.attempt);
        throw new Error('synthetic handler failure inside a transaction group');
      }
      await tx.query(`INSERT INTO messaging_test_effect (run_id, event_id, event_key, seq) VALUES ($1, $2, $3, $4)`, [
        runId,
        event.id,
        event.key,
        event.data.seq,
      ]);
    });
    const seqs = Array.from({ length: 50 }, (_, i) => i);
    await producer.publishBatch(
      Counted,
      seqs.map((seq) => ({ key: 'k', source: '/tessera/test', data: { seq, poison: seq === 25 } })),
    );
    // The same event id twice: the inbox must skip the second inside a group too.
    await producer.publish(Counted, { id: `${runId}-dup`, key: 'k', source: '/tessera/test', data: { seq: 100 } });
    await producer.publish(Counted, { id: `${runId}-dup`, key: 'k', source: '/tessera/test', data: { seq: 100 } });
    await runner.start();

    await collectRecords(kafka, deadLetterTopic(topic, groupId), 1, { timeoutMs: 30_000 });
    await waitFor('50 applied effects', () => effects(runId), (rows) => rows.length === 50);
    const applied = (await effects(runId)).map((r) => r.seq);
    expect(applied).toEqual([...seqs.filter((s) => s !== 25), 100]);
    // Attempt 1 ran twice: inside its group (rolled back with the group) and then alone.
    expect(poisonAttempts).toEqual([1, 1, 2, 3]);
    expect(runner.health()).toMatchObject({ processed: 50, duplicates: 1, retried: 2, deadLettered: 1 });
  });

  it('sends malformed data and unknown event types to the DLQ at once, without calling the handler', async () => {
    const { topic, groupId, runId } = await setUp(1);
    const Counted = countedEvent(topic);
    let calls = 0;
    const runner = newRunner(groupId).on(Counted, async (event, tx) => {
      calls += 1;
      await tx.query(`INSERT INTO messaging_test_effect (run_id, event_id, seq) VALUES ($1, $2, $3)`, [runId, event.id, event.data.seq]);
    });
    const headers = (type: string, id: string) => ({
      ce_id: id,
      ce_specversion: '1.0',
      ce_type: type,
      ce_source: '/tessera/test',
      ce_time: new Date().toISOString(),
    });
    await producer.sendRecords([
      { topic, key: 'k', value: JSON.stringify({ seq: 'not-a-number' }), headers: headers(Counted.type, 'bad-data') },
      { topic, key: 'k', value: JSON.stringify({ seq: 1 }), headers: headers('org.tessera.test.unheard-of', 'unknown-type') },
      { topic, key: 'k', value: JSON.stringify({ seq: 2 }), headers: { note: 'no envelope' } },
      { topic, key: 'k', value: JSON.stringify({ seq: 3 }), headers: headers(Counted.type, 'good') },
    ]);
    await runner.start();

    const dlq = await collectRecords(kafka, deadLetterTopic(topic, groupId), 3, { settleMs: 500 });
    await waitFor('the good event applied', () => effects(runId), (rows) => rows.length === 1);
    expect(calls).toBe(1);
    const byKind = Object.fromEntries(dlq.map((r) => [r.headers[RetryHeaders.errorKind], r.headers]));
    expect(Object.keys(byKind).sort()).toEqual(['envelope', 'unknown-type', 'validation']);
    for (const h of Object.values(byKind)) expect(h[RetryHeaders.attempt]).toBe('1');
    expect(byKind.validation[RetryHeaders.error]).toContain('seq');
    expect(byKind.validation[RetryHeaders.error]).not.toContain('not-a-number');
    expect(byKind['unknown-type'][RetryHeaders.error]).toContain('no handler for event type org.tessera.test.unheard-of');
    expect(runner.health().retried).toBe(0);
  });

  it('applies an event id once even when it is delivered twice (inbox)', async () => {
    const { topic, groupId, runId } = await setUp(1);
    const Counted = countedEvent(topic);
    const runner = newRunner(groupId).on(Counted, async (event, tx) => {
      await tx.query(`INSERT INTO messaging_test_effect (run_id, event_id, seq) VALUES ($1, $2, $3)`, [runId, event.id, event.data.seq]);
    });
    const id = `${runId}-event`;
    await producer.publish(Counted, { id, key: 'k', source: '/tessera/test', data: { seq: 1 } });
    await producer.publish(Counted, { id, key: 'k', source: '/tessera/test', data: { seq: 1 } });
    await producer.publish(Counted, { key: 'k', source: '/tessera/test', data: { seq: 2 } });
    await runner.start();

    await waitFor('three records handled', async () => runner.health(), (h) => h.processed + h.duplicates === 3);
    expect((await effects(runId)).map((r) => r.seq)).toEqual([1, 2]);
    expect(runner.health()).toMatchObject({ processed: 2, duplicates: 1 });
    const inbox: Array<{ n: string }> = await dataSource.query(
      `SELECT count(*)::text AS n FROM messaging_inbox WHERE consumer_group = $1`,
      [groupId],
    );
    expect(inbox[0].n).toBe('2');
  });

  it('stops gracefully: the in-flight handler finishes and its offset is committed', async () => {
    const { topic, groupId, runId } = await setUp(1);
    const Counted = countedEvent(topic);
    let release: () => void = () => undefined;
    const started = new Promise<void>((resolve) => {
      release = resolve;
    });
    const runner = newRunner(groupId).on(Counted, async (event, tx) => {
      release();
      // Longer than the session timeout: the runner must keep heartbeating.
      await new Promise((resolve) => setTimeout(resolve, 7000));
      await tx.query(`INSERT INTO messaging_test_effect (run_id, event_id, seq) VALUES ($1, $2, $3)`, [runId, event.id, event.data.seq]);
    });
    await producer.publish(Counted, { key: 'k', source: '/tessera/test', data: { seq: 7 } });
    await runner.start();
    await started;
    await runner.stop();
    expect(runner.isRunning).toBe(false);
    expect((await effects(runId)).map((r) => r.seq)).toEqual([7]);
    expect(await withAdmin(kafka, (admin) => committedTotal(admin, groupId, topic))).toBe(1);
  });
});
