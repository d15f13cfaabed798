/**
 * A consumer process for the crash test (libs/platform/kafka/src/consumer-crash.int-spec.ts): it
 * applies `org.tessera.test.counted` events by inserting one effect row per event through the
 * ConsumerRunner (inbox + effect in one transaction). The test SIGKILLs it mid-stream.
 */
import { z } from 'zod';
import { defineEvent } from '@tessera/contracts';
import { kafkaConfig, loadConfig, postgresConfig } from '@tessera/platform-config';
import { ConsumerRunner, createKafka, EventProducer } from '@tessera/platform-kafka';
import { createDataSource } from '@tessera/platform-persistence';
import { childLogger, readChildEnv, signal } from './child-env';

async function main(): Promise<void> {
  const env = readChildEnv(
    z.object({
      MESSAGING_TEST_DATABASE: z.string().min(1),
      MESSAGING_TEST_TOPIC: z.string().min(1),
      MESSAGING_TEST_GROUP: z.string().min(1),
      MESSAGING_TEST_RUN_ID: z.string().min(1),
      MESSAGING_TEST_COMMIT_INTERVAL_MS: z.coerce.number().int().positive().default(1000),
    }),
  );
  const logger = childLogger('consumer.child');
  const kafka = createKafka(loadConfig(kafkaConfig), { clientId: 'messaging-test-consumer', logger });
  const dataSource = createDataSource({
    settings: loadConfig(postgresConfig),
    database: env.MESSAGING_TEST_DATABASE,
    poolSize: 4,
  });
  await dataSource.initialize();
  const producer = new EventProducer(kafka, { logger });
  await producer.connect();
  const Counted = defineEvent(
    'org.tessera.test.counted',
    1,
    env.MESSAGING_TEST_TOPIC,
    z.object({ seq: z.number().int().nonnegative(), poison: z.boolean().optional() }),
  );
  const runner = new ConsumerRunner({
    kafka,
    dataSource,
    groupId: env.MESSAGING_TEST_GROUP,
    producer,
    logger,
    retry: { attempts: 3, backoffMs: 100 },
    sessionTimeoutMs: 6000,
    heartbeatIntervalMs: 500,
    partitionsConsumedConcurrently: 3,
    commitIntervalMs: env.MESSAGING_TEST_COMMIT_INTERVAL_MS,
  }).on(Counted, async (event, tx) => {
    await tx.query(`INSERT INTO messaging_test_effect (run_id, event_id, event_key, seq) VALUES ($1, $2, $3, $4)`, [
      env.MESSAGING_TEST_RUN_ID,
      event.id,
      event.key,
      event.data.seq,
    ]);
  });

  process.once('SIGTERM', () => {
    void (async () => {
      await runner.stop();
      signal(`stats ${JSON.stringify(runner.health())}`);
      await producer.disconnect();
      await dataSource.destroy();
      process.exit(0);
    })();
  });
  await runner.start();
  signal('ready');
}

main().catch((error: unknown) => {
  process.stderr.write(`consumer.child failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
