import type { Kafka } from 'kafkajs';
import type { Client } from 'pg';
import { kafkaConfig, loadConfig } from '@tessera/platform-config';
import {
  committedTotal,
  connectTestClient,
  countedEvent,
  PLATFORM_TEST_DATABASE,
  prepareMessagingDatabase,
  spawnTs,
  stderrLogger,
  testTopicSpecs,
  uniqueTestId,
  waitFor,
  withAdmin,
} from '@tessera/testing';
import type { TsChild } from '@tessera/testing';
import type { ConsumerHealth } from './consumer.runner';
import { EventProducer } from './event.producer';
import { createKafka } from './kafka-client.factory';
import { MessagingTables1700000000000 } from './messaging-tables.migration';
import { ensureTopics } from './topic.admin';

const TOTAL = 10_000;
const CONSUMER_ENTRY = 'tools/messaging-test/src/consumer.child.ts';
const logger = stderrLogger('[consumer-crash.int-spec]');

describe('ConsumerRunner killed with SIGKILL mid-stream (child process)', () => {
  let kafka: Kafka;
  let producer: EventProducer;
  let db: Client;
  const children: TsChild[] = [];

  beforeAll(async () => {
    const settings = await prepareMessagingDatabase(PLATFORM_TEST_DATABASE, [MessagingTables1700000000000]);
    db = await connectTestClient(settings, PLATFORM_TEST_DATABASE);
    kafka = createKafka(loadConfig(kafkaConfig), { clientId: 'consumer-crash-int-spec', logger });
    producer = new EventProducer(kafka, { logger });
    await producer.connect();
  });

  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await producer?.disconnect();
    await db?.end();
  });

  async function effectCount(runId: string): Promise<number> {
    const result = await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM messaging_test_effect WHERE run_id = $1`, [runId]);
    return Number(result.rows[0]?.n);
  }

  it('applies each of 10,000 events exactly once across a crash and a restart', async () => {
    const runId = uniqueTestId();
    const topic = `test.${runId}`;
    const groupId = `test.${runId}.group`;
    await withAdmin(kafka, (admin) => ensureTopics(admin, testTopicSpecs(groupId, [topic], 3), 1));
    const Counted = countedEvent(topic);
    for (let start = 0; start < TOTAL; start += 500) {
      await producer.publishBatch(
        Counted,
        Array.from({ length: 500 }, (_, i) => ({
          key: `key-${(start + i) % 37}`,
          source: '/tessera/test',
          data: { seq: start + i },
        })),
      );
    }
    const env = {
      MESSAGING_TEST_DATABASE: PLATFORM_TEST_DATABASE,
      MESSAGING_TEST_TOPIC: topic,
      MESSAGING_TEST_GROUP: groupId,
      MESSAGING_TEST_RUN_ID: runId,
      // Commits lag behind the applied events, so the crash leaves applied-but-uncommitted records.
      MESSAGING_TEST_COMMIT_INTERVAL_MS: '2000',
    };

    // 1. First consumer: killed with SIGKILL once a good part of the stream was applied.
    const first = spawnTs(CONSUMER_ENTRY, env);
    children.push(first);
    await first.waitForLine('ready');
    await withAdmin(kafka, (admin) =>
      waitFor(
        'a third of the events applied, some of them not yet committed',
        async () => ({ applied: await effectCount(runId), committed: await committedTotal(admin, groupId, topic) }),
        ({ applied, committed }) => applied >= TOTAL / 3 && applied > committed,
        { timeoutMs: 90_000, intervalMs: 20 },
      ),
    );
    first.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 500));
    const appliedAtCrash = await effectCount(runId);
    const committedAtCrash = await withAdmin(kafka, (admin) => committedTotal(admin, groupId, topic));
    expect(appliedAtCrash).toBeLessThan(TOTAL);
    // The restart must meet records whose effect is already applied: that is what the inbox is for.
    expect(appliedAtCrash).toBeGreaterThan(committedAtCrash);

    // 2. Restart: redelivery from the committed offsets; the inbox skips what was already applied.
    const second = spawnTs(CONSUMER_ENTRY, env);
    children.push(second);
    await second.waitForLine('ready');
    await waitFor('all events applied', () => effectCount(runId), (n) => n >= TOTAL, { timeoutMs: 90_000, intervalMs: 200 });
    await withAdmin(kafka, (admin) =>
      waitFor('all offsets committed', () => committedTotal(admin, groupId, topic), (n) => n === TOTAL, { timeoutMs: 30_000 }),
    );
    second.kill('SIGTERM');
    const exit = await second.exited;
    expect({ exit, output: exit.code === 0 ? '' : second.output() }).toEqual({ exit: { code: 0, signal: null }, output: '' });
    const statsLine = second
      .output()
      .split('\n')
      .find((line) => line.startsWith('stats '));
    const stats = JSON.parse(statsLine!.slice('stats '.length)) as ConsumerHealth;

    // Exactly once: the effect table has no unique constraint, so a double would show here.
    const doubles = await db.query(
      `SELECT event_id, count(*) FROM messaging_test_effect WHERE run_id = $1 GROUP BY event_id HAVING count(*) > 1`,
      [runId],
    );
    expect(doubles.rows).toEqual([]);
    const totals = await db.query<{ rows: string; events: string; seqs: string; min: number; max: number }>(
      `SELECT count(*)::text AS rows, count(DISTINCT event_id)::text AS events, count(DISTINCT seq)::text AS seqs,
              min(seq) AS min, max(seq) AS max
         FROM messaging_test_effect WHERE run_id = $1`,
      [runId],
    );
    expect(totals.rows[0]).toEqual({ rows: '10000', events: '10000', seqs: '10000', min: 0, max: TOTAL - 1 });
    const inbox = await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM messaging_inbox WHERE consumer_group = $1`, [
      groupId,
    ]);
    expect(inbox.rows[0]?.n).toBe('10000');
    // Every redelivered record that had been applied before the crash was recognised by the inbox.
    expect(stats.duplicates).toBe(appliedAtCrash - committedAtCrash);
    expect(stats.processed).toBe(TOTAL - appliedAtCrash);
  });
});
