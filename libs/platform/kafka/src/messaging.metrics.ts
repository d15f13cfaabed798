import type { Admin } from 'kafkajs';
import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';

/**
 * Prometheus metrics of the consumer groups, the series the autoscalers and alerts read
 * (k8s/base/autoscaling.yaml): how far each group is behind its topics, and what happened to the
 * records it consumed (processed, duplicate, retried, dead-lettered).
 *
 * Lag is read from the brokers at scrape time (committed offsets against high watermarks), not
 * from the records a replica happened to fetch: a group whose consumers are stuck, rebalancing or
 * scaled down still shows its true backlog. Every replica reports the whole group, so dashboards
 * and scalers aggregate with `max by (consumer_group, topic)`, never `sum` across pods.
 */
export const CONSUMER_LAG_METRIC = 'tessera_kafka_consumer_lag';
export const CONSUMER_RECORDS_METRIC = 'tessera_kafka_consumer_records_total';

export type RecordOutcome = 'processed' | 'duplicate' | 'retried' | 'dead-lettered';

export interface TopicEnds {
  readonly partition: number;
  /** High watermark: the offset the next record will get. */
  readonly high: string;
  /** Low watermark: the oldest offset still on the broker. */
  readonly low: string;
}

export interface CommittedOffset {
  readonly partition: number;
  /** The next offset the group will read; '-1' when the group never committed on the partition. */
  readonly offset: string;
}

/**
 * Records the group has still to read on one topic: the sum over partitions of high watermark
 * minus committed offset. A partition without a commit counts from the low watermark (a new group
 * reads from the beginning), and a committed offset the retention has already deleted past counts
 * from the low watermark too (those records will never be read).
 */
export function topicLag(ends: readonly TopicEnds[], committed: readonly CommittedOffset[]): number {
  const byPartition = new Map(committed.map((c) => [c.partition, BigInt(c.offset)]));
  let lag = 0n;
  for (const end of ends) {
    const high = BigInt(end.high);
    const low = BigInt(end.low);
    const next = byPartition.get(end.partition) ?? -1n;
    const from = next < low ? low : next;
    if (high > from) lag += high - from;
  }
  return Number(lag);
}

export interface LaggingGroup {
  readonly id: string;
  /** The group's main topics and its retry topics. */
  readonly topics: readonly string[];
}

export interface ConsumerLagMetricOptions {
  readonly registry: Registry;
  /** The admin client used for the offset requests (connected by the caller), or null before it exists. */
  readonly admin: () => Admin | null;
  readonly groups: () => readonly LaggingGroup[];
  /** A scrape never waits longer than this for the brokers (default 3000 ms). */
  readonly timeoutMs?: number;
}

/**
 * Registers `tessera_kafka_consumer_lag{consumer_group, topic}`, read from the brokers at each
 * scrape. When the brokers do not answer in time the series are left out of that scrape (an
 * absent series, not a stale or zero one, so a scaler never reads "no lag" from an outage).
 */
export function registerConsumerLagMetric(
  options: ConsumerLagMetricOptions,
): Gauge<'consumer_group' | 'topic'> {
  const existing = options.registry.getSingleMetric(CONSUMER_LAG_METRIC);
  if (existing !== undefined) return existing as Gauge<'consumer_group' | 'topic'>;
  const timeoutMs = options.timeoutMs ?? 3000;
  return new Gauge({
    name: CONSUMER_LAG_METRIC,
    help: 'Records a consumer group has yet to read, per topic (committed offset to high watermark, read from the brokers)',
    labelNames: ['consumer_group', 'topic'],
    registers: [options.registry],
    async collect() {
      this.reset();
      const admin = options.admin();
      if (admin === null) return;
      const read = async (): Promise<{ group: string; topic: string; lag: number }[]> => {
        const rows: { group: string; topic: string; lag: number }[] = [];
        for (const group of options.groups()) {
          if (group.topics.length === 0) continue;
          const committed = await admin.fetchOffsets({ groupId: group.id, topics: [...group.topics] });
          for (const { topic, partitions } of committed) {
            rows.push({
              group: group.id,
              topic,
              lag: topicLag(await admin.fetchTopicOffsets(topic), partitions),
            });
          }
        }
        return rows;
      };
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<null>((resolve) => {
        timer = setTimeout(() => resolve(null), timeoutMs);
      });
      try {
        const rows = await Promise.race([read(), timeout]);
        for (const row of rows ?? []) this.set({ consumer_group: row.group, topic: row.topic }, row.lag);
      } catch {
        // Brokers unreachable: no series this scrape (see above); /health reports the outage.
      } finally {
        clearTimeout(timer);
      }
    },
  });
}

/** `tessera_kafka_consumer_records_total{consumer_group, outcome}`: one counter shared by every group of the process. */
export function consumerRecordsCounter(registry: Registry): Counter<'consumer_group' | 'outcome'> {
  const existing = registry.getSingleMetric(CONSUMER_RECORDS_METRIC);
  if (existing !== undefined) return existing as Counter<'consumer_group' | 'outcome'>;
  return new Counter({
    name: CONSUMER_RECORDS_METRIC,
    help: 'Records consumed, by outcome: processed, duplicate (already in the inbox), retried (sent to the retry topic), dead-lettered (sent to the DLQ)',
    labelNames: ['consumer_group', 'outcome'],
    registers: [registry],
  });
}
