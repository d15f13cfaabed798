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
  // kafkajs' own waitForLeaders gives up when the metadata briefly answers "unknown topic"
  // right after creation, so leaders are awaited below instead.
  await admin.createTopics({
    topics: missing.map((spec) => toTopicConfig(spec, replicationFactor)),
    waitForLeaders: false,
  });
  await waitForLeaders(admin, missing);
  return missing.map((spec) => spec.name);
}

const TRANSIENT_METADATA_ERRORS = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'LEADER_NOT_AVAILABLE']);

/** Waits until every partition of `specs` has a leader (new topics become usable). */
async function waitForLeaders(admin: Admin, specs: readonly TopicSpec[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: specs.map((spec) => spec.name) });
      const ready = specs.every((spec) => {
        const metadata = topics.find((t) => t.name === spec.name);
        return metadata !== undefined && metadata.partitions.length >= spec.partitions && metadata.partitions.every((p) => p.leader >= 0);
      });
      if (ready) return;
    } catch (error) {
      if (!TRANSIENT_METADATA_ERRORS.has((error as { type?: string }).type ?? '')) throw error;
    }
    if (Date.now() > deadline) {
      throw new Error(`Topics ${specs.map((s) => s.name).join(', ')} have no leaders after ${timeoutMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
