import { Kafka, logLevel } from 'kafkajs';
import type { Admin } from 'kafkajs';
import type { MigrationInterface, MixedList, QueryRunner } from 'typeorm';
import { z } from 'zod';
import { deadLetterTopic, defineEvent, retryTopic } from '@tessera/contracts';
import type { EventDefinition, TopicSpec } from '@tessera/contracts';
import { kafkaConfig, loadConfig, postgresConfig } from '@tessera/platform-config';
import type { PostgresSettings } from '@tessera/platform-persistence';
import { prepareTestDatabase } from './test-database.helper';

// This lib must not import @tessera/platform-kafka / -outbox: their tests import this lib.

/** Payload of the synthetic event the messaging tests publish. */
export const countedEventSchema = z.object({
  seq: z.number().int().nonnegative(),
  /** The test handler always throws for a poison event. */
  poison: z.boolean().optional(),
});
export type CountedEvent = z.output<typeof countedEventSchema>;

/** A synthetic event type on a test-unique topic. */
export function countedEvent(topic: string): EventDefinition<CountedEvent> {
  return defineEvent('org.tessera.test.counted', 1, topic, countedEventSchema);
}

/** Main, retry and dead-letter topic specs for `groupId` reading `topics` (what allTopicSpecs derives). */
export function testTopicSpecs(groupId: string, topics: readonly string[], partitions: number): TopicSpec[] {
  return topics.flatMap((topic) => [
    { name: topic, partitions, retentionMs: 24 * 3600 * 1000 },
    { name: retryTopic(topic, groupId), partitions, retentionMs: 24 * 3600 * 1000 },
    { name: deadLetterTopic(topic, groupId), partitions, retentionMs: 24 * 3600 * 1000 },
  ]);
}

/**
 * The effect table of the messaging tests. It has NO unique constraint on event_id on purpose:
 * an event applied twice shows up as two rows.
 */
export class MessagingTestTables1700000000001 implements MigrationInterface {
  name = 'MessagingTestTables1700000000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE messaging_test_effect (
        id bigserial PRIMARY KEY,
        run_id text NOT NULL,
        event_id text NOT NULL,
        event_key text,
        seq integer NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT clock_timestamp()
      )`);
    await queryRunner.query(`CREATE INDEX messaging_test_effect_run_idx ON messaging_test_effect (run_id)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE messaging_test_effect`);
  }
}

/**
 * Creates the database (if needed) with `messagingMigrations` (the platform's MessagingTables
 * migration, passed by the caller) and the test effect table.
 */
export function prepareMessagingDatabase(
  database: string,
  messagingMigrations: ReadonlyArray<new () => MigrationInterface>,
): Promise<PostgresSettings> {
  const migrations: MixedList<new () => unknown> = [...messagingMigrations, MessagingTestTables1700000000001];
  return prepareTestDatabase(database, migrations);
}

/** The pino-style logger shape of the messaging libs. */
export interface TestLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

/** A logger that drops everything (deliberate failures in tests). */
export const quietLogger: TestLogger = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  debug: () => undefined,
};

/** Writes warnings and errors to stderr (children's output ends up in assertion messages). */
export function stderrLogger(prefix: string): TestLogger {
  const write = (level: string) => (obj: object, msg: string) => {
    process.stderr.write(`${prefix} ${level} ${msg} ${JSON.stringify(obj)}\n`);
  };
  return { error: write('ERROR'), warn: write('WARN'), info: () => undefined, debug: () => undefined };
}

/** A kafkajs client for test plumbing (collecting records, offsets); logs errors to stderr. */
export function testKafka(clientId: string): Kafka {
  return new Kafka({
    clientId,
    brokers: [...loadConfig(kafkaConfig).KAFKA_BROKERS],
    logLevel: logLevel.ERROR,
    logCreator: () => (entry) => {
      process.stderr.write(`[${clientId}] kafkajs ${entry.namespace}: ${entry.log.message}\n`);
    },
  });
}

export function testPostgresSettings(): PostgresSettings {
  return loadConfig(postgresConfig);
}

/** Runs `work` with a connected admin client and disconnects it afterwards. */
export async function withAdmin<R>(kafka: Kafka, work: (admin: Admin) => Promise<R>): Promise<R> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await work(admin);
  } finally {
    await admin.disconnect();
  }
}

/** Total records written to `topic` (sum of high watermarks; the tests never delete records). */
export async function countTopicRecords(kafka: Kafka, topic: string): Promise<number> {
  return withAdmin(kafka, async (admin) => {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
  });
}

/** Sum over partitions of the offsets `groupId` committed on `topic` (unset partitions count 0). */
export async function committedTotal(admin: Admin, groupId: string, topic: string): Promise<number> {
  const [result] = await admin.fetchOffsets({ groupId, topics: [topic] });
  return (result?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
}

export interface CollectedRecord {
  readonly partition: number;
  readonly offset: string;
  readonly key: string | null;
  readonly value: string | null;
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * Reads `topic` from the beginning with a throw-away consumer group until `count` records arrived
 * (then waits `settleMs` more to catch any surplus) and returns them.
 */
export async function collectRecords(
  kafka: Kafka,
  topic: string,
  count: number,
  { timeoutMs = 30_000, settleMs = 0 }: { timeoutMs?: number; settleMs?: number } = {},
): Promise<CollectedRecord[]> {
  const consumer = kafka.consumer({
    groupId: `collector.${topic}.${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`,
    sessionTimeout: 6000,
    heartbeatInterval: 500,
    allowAutoTopicCreation: false,
  });
  const records: CollectedRecord[] = [];
  let reached: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (reached = resolve));
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(message.headers ?? {})) {
          if (value !== undefined) headers[name] = String(Array.isArray(value) ? value[value.length - 1] : value);
        }
        records.push({
          partition,
          offset: message.offset,
          key: message.key === null ? null : message.key.toString('utf8'),
          value: message.value === null ? null : message.value.toString('utf8'),
          headers,
        });
        if (records.length >= count) reached();
      },
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`Only ${records.length} of ${count} records arrived on ${topic} within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      await Promise.race([done, timeout]);
    } finally {
      clearTimeout(timer);
    }
    if (settleMs > 0) await new Promise((resolve) => setTimeout(resolve, settleMs));
    return [...records];
  } finally {
    await consumer.disconnect();
  }
}
