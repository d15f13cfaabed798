import type { BeforeApplicationShutdown, OnApplicationShutdown } from '@nestjs/common';
import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { LOGGER } from './tokens';

/** Something that must stop taking work and finish what it has before the process exits. */
export interface Drainable {
  readonly name: string;
  /** Lower stages drain first: consumers (10) before the outbox relay (20) before producers (30). */
  readonly stage: number;
  drain(): Promise<void>;
}

/**
 * Orders graceful shutdown on SIGTERM: stop consuming and finish in-flight work (with commits),
 * then flush the outbox relay, then close producers and clients. Nest closes the HTTP server and
 * the TypeORM DataSource itself.
 */
@Injectable()
export class LifecycleService implements BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly drainables: Drainable[] = [];
  private readonly closers: Array<{ name: string; close: () => Promise<void> }> = [];

  constructor(@Inject(LOGGER) private readonly logger: Logger) {}

  register(drainable: Drainable): void {
    this.drainables.push(drainable);
  }

  /** Connections to close after draining (Redis, Kafka admin/producer). */
  onClose(name: string, close: () => Promise<void>): void {
    this.closers.push({ name, close });
  }

  async beforeApplicationShutdown(signal?: string): Promise<void> {
    this.logger.info({ signal }, 'shutdown: draining');
    const stages = [...new Set(this.drainables.map((d) => d.stage))].sort((a, b) => a - b);
    for (const stage of stages) {
      await Promise.all(
        this.drainables
          .filter((d) => d.stage === stage)
          .map(async (d) => {
            try {
              await d.drain();
              this.logger.info({ component: d.name }, 'shutdown: drained');
            } catch (error) {
              this.logger.error({ component: d.name, err: error }, 'shutdown: drain failed');
            }
          }),
      );
    }
  }

  async onApplicationShutdown(): Promise<void> {
    for (const closer of [...this.closers].reverse()) {
      try {
        await closer.close();
      } catch (error) {
        this.logger.warn({ component: closer.name, err: error }, 'shutdown: close failed');
      }
    }
    this.logger.info('shutdown complete');
  }
}
