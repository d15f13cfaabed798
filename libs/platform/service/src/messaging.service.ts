import type { OnApplicationBootstrap } from '@nestjs/common';
import { Inject, Injectable } from '@nestjs/common';
import type { Admin, Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { DataSource } from 'typeorm';
import { deadLetterTopic, retryTopic } from '@tessera/contracts';
import { ConsumerRunner, ensureTopics, registerConsumerLagMetric } from '@tessera/platform-kafka';
import type { ConsumerRunnerOptions, EventProducer } from '@tessera/platform-kafka';
import { OutboxRelay } from '@tessera/platform-outbox';
import { HealthRegistry } from './health.registry';
import { LifecycleService } from './lifecycle.service';
import type { PlatformSettings } from './platform-settings';
import { EVENT_PRODUCER, KAFKA, KAFKA_ADMIN, LOGGER, METRICS_REGISTRY, PLATFORM_SETTINGS } from './tokens';

/** Drain order on shutdown: consumers first (they may enqueue), then the relay flushes the outbox. */
const CONSUMER_STAGE = 10;
const RELAY_STAGE = 20;

/**
 * Creates the service's consumer groups and runs its outbox relay, each registered for health and
 * for ordered, graceful shutdown. Features call `consumer(groupId)`, register handlers with `.on()`
 * and the runner starts when the application has bootstrapped.
 */
@Injectable()
export class MessagingService implements OnApplicationBootstrap {
  private readonly runners: ConsumerRunner[] = [];
  readonly relay: OutboxRelay;

  constructor(
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(EVENT_PRODUCER) private readonly producer: EventProducer,
    @Inject(PLATFORM_SETTINGS) private readonly settings: PlatformSettings,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(METRICS_REGISTRY) private readonly metrics: Registry,
    @Inject(KAFKA_ADMIN) admin: Admin,
    private readonly dataSource: DataSource,
    private readonly lifecycle: LifecycleService,
    private readonly health: HealthRegistry,
  ) {
    this.relay = new OutboxRelay({
      settings: settings.postgres,
      database: settings.service.DB_NAME,
      producer,
      logger,
      metrics,
    });
    // Consumer lag, outbox backlog and record outcomes: what the autoscalers and alerts read.
    registerConsumerLagMetric({
      registry: metrics,
      admin: () => admin,
      groups: () => this.runners.map((runner) => ({ id: runner.groupId, topics: runner.consumedTopics })),
    });
    lifecycle.register({ name: 'outbox-relay', stage: RELAY_STAGE, drain: () => this.relay.stop() });
    health.add({
      name: 'outbox-relay',
      check: async () => {
        const { running, lastError } = this.relay.health();
        if (!running) throw new Error(`outbox relay stopped${lastError === null ? '' : `: ${lastError.message}`}`);
      },
    });
  }

  /** A consumer group of this service; register handlers before the application bootstraps. */
  consumer(baseGroupId: string, overrides: Partial<ConsumerRunnerOptions> = {}): ConsumerRunner {
    const { KAFKA_GROUP_SUFFIX: suffix, KAFKA_GROUP_START: start } = this.settings.kafka;
    const groupId = suffix === '' ? baseGroupId : `${baseGroupId}.${suffix}`;
    const runner = new ConsumerRunner({
      kafka: this.kafka,
      dataSource: this.dataSource,
      groupId,
      fromBeginning: start === 'earliest',
      producer: this.producer,
      retry: { attempts: this.settings.kafka.KAFKA_RETRY_ATTEMPTS, backoffMs: this.settings.kafka.KAFKA_RETRY_BACKOFF_MS },
      logger: this.logger,
      metrics: this.metrics,
      ...overrides,
    });
    this.runners.push(runner);
    this.lifecycle.register({ name: `consumer:${groupId}`, stage: CONSUMER_STAGE, drain: () => runner.stop() });
    this.health.add({
      name: `consumer:${groupId}`,
      check: async () => {
        const state = runner.health();
        if (!state.running) {
          throw new Error(`consumer stopped${state.lastError === null ? '' : `: ${state.lastError.message}`}`);
        }
      },
    });
    return runner;
  }

  async onApplicationBootstrap(): Promise<void> {
    // Platform init creates the retry/DLQ topics of the declared groups; suffixed groups need their own.
    if (this.settings.kafka.KAFKA_GROUP_SUFFIX !== '' && this.runners.length > 0) {
      const specs = this.runners.flatMap((runner) =>
        runner.topics.flatMap((topic) => [
          { name: retryTopic(topic, runner.groupId), partitions: this.settings.kafka.KAFKA_TOPIC_PARTITIONS, retentionMs: 7 * 24 * 3600 * 1000 },
          { name: deadLetterTopic(topic, runner.groupId), partitions: this.settings.kafka.KAFKA_TOPIC_PARTITIONS, retentionMs: -1 },
        ]),
      );
      const admin = this.kafka.admin();
      await admin.connect();
      try {
        await ensureTopics(admin, specs, this.settings.kafka.KAFKA_REPLICATION_FACTOR);
      } finally {
        await admin.disconnect();
      }
    }
    this.relay.start();
    await Promise.all(this.runners.map((runner) => runner.start()));
  }
}
