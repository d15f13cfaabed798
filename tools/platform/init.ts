/**
 * Platform initialisation, run once before the services start (by `npm start`, `npm test`, the
 * docker-compose `init` service and the Kubernetes init Job): creates every Kafka topic declared
 * in libs/contracts (with retry/DLQ topics per consumer group). Idempotent. Databases and
 * migrations are each service's own job (they migrate at boot under an advisory lock, or with
 * `main.js migrate`).
 */
import { allTopicSpecs } from '@tessera/contracts';
import { kafkaConfig, loadConfig } from '@tessera/platform-config';
import { createKafka, ensureTopics } from '@tessera/platform-kafka';
import { createLogger } from '@tessera/platform-observability';

export async function initPlatform(): Promise<{ created: string[]; total: number }> {
  const settings = loadConfig(kafkaConfig);
  const logger = createLogger('platform-init', 'warn');
  const kafka = createKafka(settings, { clientId: 'tessera-platform-init', logger });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const specs = allTopicSpecs(settings.KAFKA_TOPIC_PARTITIONS);
    const created = await ensureTopics(admin, specs, settings.KAFKA_REPLICATION_FACTOR);
    return { created, total: specs.length };
  } finally {
    await admin.disconnect();
  }
}

if (require.main === module) {
  initPlatform().then(
    ({ created, total }) => {
      process.stdout.write(`init: ${total} topics declared, ${created.length} created\n`);
    },
    (error: unknown) => {
      process.stderr.write(`init failed: ${(error as Error).message}\n`);
      process.exit(1);
    },
  );
}
