import 'reflect-metadata';
import { Test } from '@nestjs/testing';
import { ConsumerGroups, deadLetterTopic, retryTopic } from '@tessera/contracts';
import { kafkaConfig, loadConfig } from '@tessera/platform-config';
import { Kafka } from 'kafkajs';
import { AppModule } from '../../apps/document-registry/src/app.module';
import { REGISTRY_CONSUMER_OPTIONS } from '../../apps/document-registry/src/indexing/registry.consumer';

/*
 * The compiled document-registry module in its own process, for the benchmark only: the same
 * AppModule as `npm start`, but its consumer joins the group `document-registry-bench` (from the
 * latest offsets) so the benchmark never takes partitions from, or replays shared topics into, a
 * real registry. Config (DB_NAME, HTTP_PORT, LOG_LEVEL) comes from the environment as usual.
 */
const GROUP = 'document-registry-bench';

/** The group's own retry and dead-letter topics (the platform creates them only for configured groups). */
async function createGroupTopics(): Promise<void> {
  const { KAFKA_BROKERS, KAFKA_REPLICATION_FACTOR } = loadConfig(kafkaConfig);
  const admin = new Kafka({ clientId: GROUP, brokers: [...KAFKA_BROKERS] }).admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: ConsumerGroups.registry.topics
        .flatMap((topic) => [retryTopic(topic, GROUP), deadLetterTopic(topic, GROUP)])
        .map((topic) => ({ topic, numPartitions: 1, replicationFactor: KAFKA_REPLICATION_FACTOR })),
    });
  } finally {
    await admin.disconnect();
  }
}

async function main(): Promise<void> {
  await createGroupTopics();
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] })
    .overrideProvider(REGISTRY_CONSUMER_OPTIONS)
    .useValue({ groupId: GROUP, fromBeginning: false })
    .compile();
  const app = moduleRef.createNestApplication({ logger: ['error', 'warn'] });
  const port = Number(process.argv[2]);
  await app.listen(port, '127.0.0.1');
  process.once('SIGTERM', () => {
    app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}

void main();
