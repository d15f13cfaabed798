import { toTopicConfig } from './topic.admin';

describe('toTopicConfig', () => {
  it('carries partitions, replication and retention', () => {
    expect(toTopicConfig({ name: 'hie.patient', partitions: 6, retentionMs: -1 }, 3)).toEqual({
      topic: 'hie.patient',
      numPartitions: 6,
      replicationFactor: 3,
      configEntries: [
        { name: 'retention.ms', value: '-1' },
        { name: 'min.insync.replicas', value: '2' },
      ],
    });
  });

  it('asks for one in-sync replica on a single broker', () => {
    expect(toTopicConfig({ name: 'x', partitions: 1, retentionMs: 1000 }, 1).configEntries).toContainEqual({
      name: 'min.insync.replicas',
      value: '1',
    });
  });
});
