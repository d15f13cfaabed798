import type { Admin } from 'kafkajs';
import { Registry } from 'prom-client';
import { consumerRecordsCounter, registerConsumerLagMetric, topicLag } from './messaging.metrics';

describe('topicLag', () => {
  it('sums high watermark minus committed offset over the partitions', () => {
    const ends = [
      { partition: 0, high: '120', low: '0' },
      { partition: 1, high: '40', low: '0' },
    ];
    expect(
      topicLag(ends, [
        { partition: 0, offset: '100' },
        { partition: 1, offset: '40' },
      ]),
    ).toBe(20);
  });

  it('counts a partition the group never committed on from the low watermark', () => {
    expect(topicLag([{ partition: 0, high: '50', low: '10' }], [{ partition: 0, offset: '-1' }])).toBe(40);
    expect(topicLag([{ partition: 0, high: '50', low: '10' }], [])).toBe(40);
  });

  it('counts from the low watermark when retention deleted past the committed offset', () => {
    expect(topicLag([{ partition: 0, high: '500', low: '300' }], [{ partition: 0, offset: '100' }])).toBe(
      200,
    );
  });

  it('never reports negative lag', () => {
    expect(topicLag([{ partition: 0, high: '5', low: '0' }], [{ partition: 0, offset: '7' }])).toBe(0);
  });
});

describe('registerConsumerLagMetric', () => {
  const fakeAdmin = (answer: () => Promise<void>): Admin =>
    ({
      fetchOffsets: async ({ topics }: { topics: string[] }) => {
        await answer();
        return topics.map((topic) => ({
          topic,
          partitions: [{ partition: 0, offset: '3', metadata: null }],
        }));
      },
      fetchTopicOffsets: async () => [{ partition: 0, offset: '10', high: '10', low: '0' }],
    }) as unknown as Admin;

  it('reports each group and topic read from the brokers at scrape time', async () => {
    const registry = new Registry();
    registerConsumerLagMetric({
      registry,
      admin: () => fakeAdmin(async () => undefined),
      groups: () => [
        { id: 'mpi.patient-index', topics: ['gateway.patient', 'gateway.patient.mpi.patient-index.retry'] },
      ],
    });
    const text = await registry.metrics();
    expect(text).toContain(
      'tessera_kafka_consumer_lag{consumer_group="mpi.patient-index",topic="gateway.patient"} 7',
    );
    expect(text).toContain(
      'tessera_kafka_consumer_lag{consumer_group="mpi.patient-index",topic="gateway.patient.mpi.patient-index.retry"} 7',
    );
  });

  it('leaves the series out, never zero, when the brokers fail or do not answer in time', async () => {
    const failing = new Registry();
    registerConsumerLagMetric({
      registry: failing,
      admin: () => fakeAdmin(() => Promise.reject(new Error('broker down'))),
      groups: () => [{ id: 'g', topics: ['t'] }],
    });
    expect(await failing.metrics()).not.toMatch(/tessera_kafka_consumer_lag\{/);

    const silent = new Registry();
    registerConsumerLagMetric({
      registry: silent,
      admin: () => fakeAdmin(() => new Promise<void>(() => undefined)),
      groups: () => [{ id: 'g', topics: ['t'] }],
      timeoutMs: 10,
    });
    expect(await silent.metrics()).not.toMatch(/tessera_kafka_consumer_lag\{/);
  });
});

describe('consumerRecordsCounter', () => {
  it('is one counter per registry, labelled by group and outcome', async () => {
    const registry = new Registry();
    consumerRecordsCounter(registry).inc({ consumer_group: 'g', outcome: 'dead-lettered' });
    consumerRecordsCounter(registry).inc({ consumer_group: 'g', outcome: 'dead-lettered' });
    expect(await registry.metrics()).toContain(
      'tessera_kafka_consumer_records_total{consumer_group="g",outcome="dead-lettered"} 2',
    );
  });
});
