/**
 * An outbox relay process for the crash tests (libs/platform/outbox/src/outbox-crash.int-spec.ts).
 * MESSAGING_TEST_CRASH_POINT makes it SIGKILL itself:
 *   before-send: rows were read (their transactions long committed), nothing sent;
 *   after-send:  Kafka acknowledged the batch, the rows are not marked published.
 */
import { z } from 'zod';
import { kafkaConfig, loadConfig, postgresConfig } from '@tessera/platform-config';
import { createKafka, EventProducer } from '@tessera/platform-kafka';
import { OutboxRelay } from '@tessera/platform-outbox';
import { childLogger, readChildEnv, signal } from './child-env';

function crash(): never {
  process.kill(process.pid, 'SIGKILL');
  throw new Error('unreachable: SIGKILL was sent');
}

async function main(): Promise<void> {
  const env = readChildEnv(
    z.object({
      MESSAGING_TEST_DATABASE: z.string().min(1),
      MESSAGING_TEST_CRASH_POINT: z.enum(['none', 'before-send', 'after-send']).default('none'),
      MESSAGING_TEST_BATCH_SIZE: z.coerce.number().int().positive().default(500),
    }),
  );
  const logger = childLogger('relay.child');
  const kafka = createKafka(loadConfig(kafkaConfig), { clientId: 'messaging-test-relay', logger });
  const producer = new EventProducer(kafka, { logger });
  await producer.connect();
  const relay = new OutboxRelay({
    settings: loadConfig(postgresConfig),
    database: env.MESSAGING_TEST_DATABASE,
    producer,
    logger,
    batchSize: env.MESSAGING_TEST_BATCH_SIZE,
    pollIntervalMs: 200,
    standbyRetryMs: 200,
    hooks: {
      beforeSend: () => {
        if (env.MESSAGING_TEST_CRASH_POINT === 'before-send') crash();
      },
      afterSend: () => {
        if (env.MESSAGING_TEST_CRASH_POINT === 'after-send') crash();
      },
    },
  });
  process.once('SIGTERM', () => {
    void (async () => {
      await relay.stop();
      signal(`stats ${JSON.stringify(relay.health())}`);
      await producer.disconnect();
      process.exit(0);
    })();
  });
  relay.start();
  signal('ready');
  const leaderWatch = setInterval(() => {
    if (relay.isLeader) {
      signal('leader');
      clearInterval(leaderWatch);
    }
  }, 50);
}

main().catch((error: unknown) => {
  process.stderr.write(`relay.child failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
