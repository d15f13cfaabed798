import { Kafka, logLevel } from 'kafkajs';
import type { kafkaConfig } from '@tessera/platform-config';
import type { z } from 'zod';
import { kafkaLogCreator } from './messaging-logger';
import type { MessagingLogger } from './messaging-logger';

export type KafkaSettings = z.output<(typeof kafkaConfig)['schema']>;

export interface KafkaClientOptions {
  /** Identifies the service (and replica) in broker logs and quotas. */
  readonly clientId: string;
  readonly logger: MessagingLogger;
  /** kafkajs log level; INFO by default (DEBUG is very chatty). */
  readonly logLevel?: logLevel;
  readonly connectionTimeoutMs?: number;
  readonly requestTimeoutMs?: number;
}

/** A kafkajs client for the configured brokers whose logs go to `options.logger`. */
export function createKafka(settings: KafkaSettings, options: KafkaClientOptions): Kafka {
  return new Kafka({
    clientId: options.clientId,
    brokers: [...settings.KAFKA_BROKERS],
    logLevel: options.logLevel ?? logLevel.INFO,
    logCreator: kafkaLogCreator(options.logger),
    connectionTimeout: options.connectionTimeoutMs ?? 3000,
    requestTimeout: options.requestTimeoutMs ?? 30000,
    retry: { initialRetryTime: 300, retries: 8 },
  });
}

/** Class form of {@link createKafka} for dependency injection. */
export class KafkaClientFactory {
  constructor(
    private readonly settings: KafkaSettings,
    private readonly logger: MessagingLogger,
  ) {}

  create(clientId: string, overrides: Partial<Omit<KafkaClientOptions, 'clientId' | 'logger'>> = {}): Kafka {
    return createKafka(this.settings, { ...overrides, clientId, logger: this.logger });
  }
}
