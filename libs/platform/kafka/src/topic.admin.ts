import type { Admin, ITopicConfig } from 'kafkajs';
import type { TopicSpec } from '@tessera/contracts';

/** The kafkajs topic creation request for one spec (retention as a topic-level config). */
export function toTopicConfig(spec: TopicSpec, replicationFactor: number): ITopicConfig {
  return {
    topic: spec.name,
    numPartitions: spec.partitions,
    replicationFactor,
    configEntries: [
      { name: 'retention.ms', value: String(spec.retentionMs) },
      // With replication factor ≥ 2 an acks=all write must reach at least two replicas.
      { name: 'min.insync.replicas', value: replicationFactor >= 3 ? '2' : '1' },
    ],
  };
}

/**
 * Creates the topics of `specs` that do not exist yet and waits for their leaders. Idempotent and
 * safe to run from several replicas at once; never relies on broker auto-creation.
 * Returns the names it created.
 */
export async function ensureTopics(
  admin: Admin,
  specs: readonly TopicSpec[],
  replicationFactor: number,
): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((spec) => !existing.has(spec.name));
  if (missing.length === 0) return [];
  await admin.createTopics({
    topics: missing.map((spec) => toTopicConfig(spec, replicationFactor)),
    waitForLeaders: true,
  });
  // Make the new topics' metadata visible to this client before anyone produces to them.
  await admin.fetchTopicMetadata({ topics: missing.map((spec) => spec.name) });
  return missing.map((spec) => spec.name);
}
