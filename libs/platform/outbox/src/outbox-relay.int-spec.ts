import { SpanKind, trace } from '@opentelemetry/api';
import type { Kafka } from 'kafkajs';
import type { DataSource } from 'typeorm';
import { kafkaConfig, loadConfig } from '@tessera/platform-config';
import { ConsumerRunner, createKafka, ensureTopics, EventProducer, MessagingTables1700000000000 } from '@tessera/platform-kafka';
import { createDataSource } from '@tessera/platform-persistence';
import type { PostgresSettings } from '@tessera/platform-persistence';
import {
  collectRecords,
  countedEvent,
  countTopicRecords,
  dropTestDatabase,
  installTestTracing,
  prepareMessagingDatabase,
  quietLogger,
  spawnTs,
  stderrLogger,
  testTopicSpecs,
  uniqueTestId,
  waitFor,
  withAdmin,
} from '@tessera/testing';
import type { CountedEvent, TsChild } from '@tessera/testing';
import type { EventDefinition } from '@tessera/contracts';
import { OutboxRelay } from './outbox.relay';
import { OutboxWriter } from './outbox.writer';

const RELAY_ENTRY = 'tools/messaging-test/src/relay.child.ts';
const logger = stderrLogger('[outbox-relay.int-spec]');

/**
 * One relay per database is the design, so each test gets its own database (dropped afterwards)
 * and its own topic; tests never see each other's outbox rows.
 */
interface Env {
  readonly database: string;
  readonly settings: PostgresSettings;
  readonly dataSource: DataSource;
  readonly topic: string;
  readonly groupId: string;
  readonly runId: string;
  readonly Counted: EventDefinition<CountedEvent>;
}

describe('OutboxRelay (real Kafka + Postgres)', () => {
  let kafka: Kafka;
  let producer: EventProducer;
  const envs: Env[] = [];
  const children: TsChild[] = [];
  const stoppables: Array<{ stop(): Promise<void> }> = [];
  const writer = new OutboxWriter();

  beforeAll(async () => {
    kafka = createKafka(loadConfig(kafkaConfig), { clientId: 'outbox-relay-int-spec', logger });
    producer = new EventProducer(kafka, { logger });
    await producer.connect();
  });

  afterEach(async () => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
    await Promise.all(stoppables.splice(0).map((s) => s.stop()));
    for (const env of envs.splice(0)) {
      await env.dataSource.destroy();
      await dropTestDatabase(env.settings, env.database);
    }
  });

  afterAll(async () => {
    await producer?.disconnect();
  });

  async function newEnv(): Promise<Env> {
    const runId = uniqueTestId();
    const database = `tessera_outbox_test_${runId}`;
    const settings = await prepareMessagingDatabase(database, [MessagingTables1700000000000]);
    const dataSource = createDataSource({ settings, database, poolSize: 3 });
    await dataSource.initialize();
    const topic = `test.${runId}`;
    const groupId = `test.${runId}.group`;
    await withAdmin(kafka, (admin) => ensureTopics(admin, testTopicSpecs(groupId, [topic], 3), 1));
    const env = { database, settings, dataSource, topic, groupId, runId, Counted: countedEvent(topic) };
    envs.push(env);
    return env;
  }

  /** `count` events in transactions of 10, keys spread over 7 aggregates, seq = enqueue order. */
  async function enqueue(env: Env, from: number, count: number): Promise<string[]> {
    const ids: string[] = [];
    for (let start = from; start < from + count; start += 10) {
      await env.dataSource.transaction(async (tx) => {
        for (let seq = start; seq < Math.min(start + 10, from + count); seq++) {
          const attributes = await writer.enqueue(tx, env.Counted, { key: `key-${seq % 7}`, source: '/tessera/test', data: { seq } });
          ids.push(attributes.id);
        }
      });
    }
    return ids;
  }

  async function publishedCount(env: Env): Promise<number> {
    const rows: Array<{ n: string }> = await env.dataSource.query(
      `SELECT count(*)::text AS n FROM messaging_outbox WHERE published_at IS NOT NULL`,
    );
    return Number(rows[0]?.n);
  }

  function relayChild(env: Env, crashPoint: 'none' | 'before-send' | 'after-send'): TsChild {
    const child = spawnTs(RELAY_ENTRY, {
      MESSAGING_TEST_DATABASE: env.database,
      MESSAGING_TEST_CRASH_POINT: crashPoint,
      MESSAGING_TEST_BATCH_SIZE: '100',
    });
    children.push(child);
    return child;
  }

  function newRelay(env: Env): OutboxRelay {
    const relay = new OutboxRelay({
      settings: env.settings,
      database: env.database,
      producer,
      logger,
      batchSize: 100,
      pollIntervalMs: 200,
      standbyRetryMs: 200,
    });
    stoppables.push(relay);
    return relay;
  }

  it('loses and duplicates nothing downstream when the relay is SIGKILLed after send and before send', async () => {
    const env = await newEnv();
    const ids = await enqueue(env, 0, 300);

    // Crash 1: Kafka acknowledged the first batch of 100, the rows were not marked published.
    const afterSend = relayChild(env, 'after-send');
    expect((await afterSend.exited).signal).toBe('SIGKILL');
    expect(await publishedCount(env)).toBe(0);
    expect(await countTopicRecords(kafka, env.topic)).toBe(100);

    // Crash 2: rows committed and read, nothing sent.
    const beforeSend = relayChild(env, 'before-send');
    expect((await beforeSend.exited).signal).toBe('SIGKILL');
    expect(await publishedCount(env)).toBe(0);
    expect(await countTopicRecords(kafka, env.topic)).toBe(100);

    // Restart: everything is published; the first batch a second time, with the same ce_id.
    const healthy = relayChild(env, 'none');
    await waitFor('all 300 rows published', () => publishedCount(env), (n) => n === 300, { timeoutMs: 30_000 });
    healthy.kill('SIGTERM');
    expect((await healthy.exited).code).toBe(0);
    const records = await collectRecords(kafka, env.topic, 400, { settleMs: 300 });
    expect(records).toHaveLength(400);
    const ceIds = records.map((r) => r.headers.ce_id);
    expect(new Set(ceIds).size).toBe(300);
    expect([...new Set(ceIds)].sort()).toEqual([...ids].sort());

    // Downstream: a consumer with the inbox applies each event exactly once, in key order.
    const runner = new ConsumerRunner({
      kafka,
      dataSource: env.dataSource,
      groupId: env.groupId,
      producer,
      logger: quietLogger,
      retry: { attempts: 3, backoffMs: 100 },
      sessionTimeoutMs: 6000,
      heartbeatIntervalMs: 500,
      partitionsConsumedConcurrently: 3,
    }).on(env.Counted, async (event, tx) => {
      await tx.query(`INSERT INTO messaging_test_effect (run_id, event_id, event_key, seq) VALUES ($1, $2, $3, $4)`, [
        env.runId,
        event.id,
        event.key,
        event.data.seq,
      ]);
    });
    stoppables.push(runner);
    await runner.start();
    await waitFor('400 records handled', async () => runner.health(), (h) => h.processed + h.duplicates === 400, { timeoutMs: 30_000 });
    expect(runner.health()).toMatchObject({ processed: 300, duplicates: 100, retried: 0, deadLettered: 0 });
    const effects: Array<{ event_id: string; event_key: string; seq: number }> = await env.dataSource.query(
      `SELECT event_id, event_key, seq FROM messaging_test_effect WHERE run_id = $1 ORDER BY id`,
      [env.runId],
    );
    expect(effects).toHaveLength(300);
    expect(new Set(effects.map((e) => e.event_id)).size).toBe(300);
    for (let k = 0; k < 7; k++) {
      const seqs = effects.filter((e) => e.event_key === `key-${k}`).map((e) => e.seq);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    }
  });

  it('keeps one active relay per database; a standby takes over when the active one is killed', async () => {
    const env = await newEnv();
    const active = relayChild(env, 'none');
    await active.waitForLine('leader');
    const standby = newRelay(env);
    standby.start();
    await enqueue(env, 0, 20);
    await waitFor('the first 20 rows published', () => publishedCount(env), (n) => n === 20);
    expect(standby.isLeader).toBe(false);
    expect(standby.health().published).toBe(0);

    active.kill('SIGKILL');
    await active.exited;
    await waitFor('the standby to take over', async () => standby.isLeader, (leader) => leader, { timeoutMs: 10_000 });
    await enqueue(env, 20, 20);
    await waitFor('all 40 rows published', () => publishedCount(env), (n) => n === 40);
    expect(standby.health().published).toBe(20);
    expect(await countTopicRecords(kafka, env.topic)).toBe(40);
  });

  it('wakes on NOTIFY and carries the trace context of the enqueuing transaction to the consumer', async () => {
    const tracing = installTestTracing();
    try {
      const env = await newEnv();
      // A long poll interval: only the NOTIFY fired by the outbox trigger can make this fast.
      const relay = new OutboxRelay({
        settings: env.settings,
        database: env.database,
        producer,
        logger,
        pollIntervalMs: 60_000,
        standbyRetryMs: 100,
      });
      stoppables.push(relay);
      relay.start();
      await waitFor('the relay to become active', async () => relay.isLeader, (leader) => leader);

      const tracer = trace.getTracer('outbox-relay-int-spec');
      const root = await tracer.startActiveSpan('update patient', async (span) => {
        await env.dataSource.transaction((tx) =>
          writer.enqueue(tx, env.Counted, { key: 'k', source: '/tessera/test', data: { seq: 1 } }),
        );
        span.end();
        return span.spanContext();
      });
      await waitFor('the row published', () => publishedCount(env), (n) => n === 1, { timeoutMs: 5_000, intervalMs: 50 });

      const runner = new ConsumerRunner({
        kafka,
        dataSource: env.dataSource,
        groupId: env.groupId,
        producer,
        logger,
        retry: { attempts: 3, backoffMs: 100 },
        sessionTimeoutMs: 6000,
        heartbeatIntervalMs: 500,
      }).on(env.Counted, async () => undefined);
      stoppables.push(runner);
      await runner.start();
      await waitFor('the event handled', async () => runner.health().processed, (n) => n === 1);

      const spans = tracing.exporter.getFinishedSpans();
      const enqueueSpan = spans.find((s) => s.kind === SpanKind.PRODUCER && s.name === `${env.topic} publish`);
      const consumerSpan = spans.find((s) => s.kind === SpanKind.CONSUMER && s.name === `${env.topic} process`);
      expect(enqueueSpan?.parentSpanContext?.spanId).toBe(root.spanId);
      expect(consumerSpan?.spanContext().traceId).toBe(root.traceId);
      expect(consumerSpan?.parentSpanContext?.spanId).toBe(enqueueSpan?.spanContext().spanId);
    } finally {
      await tracing.uninstall();
    }
  });
});
