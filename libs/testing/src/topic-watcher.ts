import type { Consumer, Kafka } from 'kafkajs';
import type { CollectedRecord } from './messaging.fixture';

/**
 * Watches a topic from the offsets it has NOW: records produced after `open()` are collected,
 * whatever the topic held before (shared topics grow across tests and benchmarks).
 */
export class TopicWatcher {
  readonly records: CollectedRecord[] = [];
  private consumer: Consumer | undefined;

  private constructor(
    private readonly kafka: Kafka,
    readonly topic: string,
  ) {}

  static async open(kafka: Kafka, topic: string): Promise<TopicWatcher> {
    const watcher = new TopicWatcher(kafka, topic);
    await watcher.start();
    return watcher;
  }

  private async start(): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    const offsets = await admin.fetchTopicOffsets(this.topic);
    await admin.disconnect();
    const consumer = this.kafka.consumer({
      groupId: `watch.${this.topic}.${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`,
      sessionTimeout: 6000,
      heartbeatInterval: 500,
      allowAutoTopicCreation: false,
    });
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topics: [this.topic], fromBeginning: false });
    let joined: () => void = () => undefined;
    const ready = new Promise<void>((resolve) => (joined = resolve));
    consumer.on(consumer.events.GROUP_JOIN, () => joined());
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(message.headers ?? {})) {
          if (value !== undefined) headers[name] = String(Array.isArray(value) ? value[value.length - 1] : value);
        }
        this.records.push({
          partition,
          offset: message.offset,
          key: message.key === null ? null : message.key.toString('utf8'),
          value: message.value === null ? null : message.value.toString('utf8'),
          headers,
        });
      },
    });
    await ready;
    for (const { partition, high } of offsets) consumer.seek({ topic: this.topic, partition, offset: high });
  }

  /** Waits until `predicate` matches `count` records (then `settleMs` more for surplus); returns the matches. */
  async waitFor(
    predicate: (record: CollectedRecord) => boolean,
    count = 1,
    { timeoutMs = 30_000, settleMs = 0 }: { timeoutMs?: number; settleMs?: number } = {},
  ): Promise<CollectedRecord[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.records.filter(predicate).length < count) {
      if (Date.now() > deadline) {
        throw new Error(`${this.records.filter(predicate).length} of ${count} expected records on ${this.topic} within ${timeoutMs} ms`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    if (settleMs > 0) await new Promise((r) => setTimeout(r, settleMs));
    return this.records.filter(predicate);
  }

  async close(): Promise<void> {
    await this.consumer?.disconnect();
  }
}
