import type { OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import type { QueryRunner } from 'typeorm';
import { LOGGER, MessagingService } from '@tessera/platform-service';
import { GATEWAY_SETTINGS } from '../gateway.config';
import type { GatewaySettings } from '../gateway.config';

/** Advisory lock key of the pruning job (the republisher uses 7265002). */
const PRUNE_LOCK = 7265003;
/** Rows deleted per statement: short transactions, no long locks, bounded WAL per step. */
export const PRUNE_CHUNK = 1000;
/** Published outbox rows are kept a day (for diagnosis), then purged. */
const OUTBOX_KEEP_MS = 24 * 3600 * 1000;
/** Finished replay jobs are kept this long. */
const REPLAY_JOBS_KEEP_DAYS = 30;

export interface PruneResult {
  /** False when another replica holds the pruning lock (nothing was done here). */
  readonly ran: boolean;
  readonly ledgerMessages: number;
  readonly accessLog: number;
  readonly replayJobs: number;
  readonly outbox: number;
  readonly retentionDays: number;
}

/**
 * Deletes ledger messages older than LEDGER_RETENTION_DAYS every LEDGER_PRUNE_INTERVAL_MS, in
 * chunks of PRUNE_CHUNK rows, on one replica at a time (pg_try_advisory_lock on a dedicated
 * connection); the raw-access log follows the same retention. Also purges published outbox rows
 * older than a day and finished replay jobs older than 30 days.
 */
@Injectable()
export class LedgerRetentionService implements OnModuleInit, OnApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private stopping = false;

  constructor(
    private readonly dataSource: DataSource,
    private readonly messaging: MessagingService,
    @Inject(GATEWAY_SETTINGS) private readonly settings: GatewaySettings,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onModuleInit(): void {
    this.timer = setInterval(() => {
      this.prune().then(
        (result) => {
          if (result.ledgerMessages + result.outbox > 0) this.logger.info({ ...result }, 'ledger pruned');
        },
        (error: unknown) => this.logger.warn({ err: error }, 'ledger pruning failed; will retry'),
      );
    }, this.settings.LEDGER_PRUNE_INTERVAL_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    this.stopping = true;
    clearInterval(this.timer);
  }

  async prune(): Promise<PruneResult> {
    const retentionDays = this.settings.LEDGER_RETENTION_DAYS;
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    try {
      const [{ locked }] = (await runner.query('SELECT pg_try_advisory_lock($1) AS locked', [
        PRUNE_LOCK,
      ])) as [{ locked: boolean }];
      if (!locked)
        return { ran: false, ledgerMessages: 0, accessLog: 0, replayJobs: 0, outbox: 0, retentionDays };
      try {
        const cutoff = `now() - ($1::int * interval '1 day')`;
        const ledgerMessages = await this.chunked(
          runner,
          `DELETE FROM ledger_messages WHERE id IN (
             SELECT id FROM ledger_messages WHERE received_at < ${cutoff} ORDER BY received_at LIMIT ${PRUNE_CHUNK})`,
          [retentionDays],
        );
        const accessLog = await this.chunked(
          runner,
          `DELETE FROM ledger_access_log WHERE id IN (
             SELECT id FROM ledger_access_log WHERE accessed_at < ${cutoff} ORDER BY accessed_at LIMIT ${PRUNE_CHUNK})`,
          [retentionDays],
        );
        const replayJobs = await this.chunked(
          runner,
          `DELETE FROM ledger_replay_jobs WHERE id IN (
             SELECT id FROM ledger_replay_jobs WHERE status IN ('done', 'failed') AND finished_at < ${cutoff} LIMIT ${PRUNE_CHUNK})`,
          [REPLAY_JOBS_KEEP_DAYS],
        );
        const outbox = await this.messaging.relay.purgePublished(OUTBOX_KEEP_MS);
        return { ran: true, ledgerMessages, accessLog, replayJobs, outbox, retentionDays };
      } finally {
        await runner.query('SELECT pg_advisory_unlock($1)', [PRUNE_LOCK]);
      }
    } finally {
      await runner.release();
    }
  }

  /** Repeats a bounded DELETE until it deletes less than a chunk (or the service stops). */
  private async chunked(runner: QueryRunner, sql: string, params: unknown[]): Promise<number> {
    let total = 0;
    for (;;) {
      const result = (await runner.query(sql, params, true)) as { affected?: number };
      const affected = result.affected ?? 0;
      total += affected;
      if (affected < PRUNE_CHUNK || this.stopping) return total;
    }
  }
}
