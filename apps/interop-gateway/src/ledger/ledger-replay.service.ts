import { randomUUID } from 'node:crypto';
import type { OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import type { EntityManager } from 'typeorm';
import { SenderAuthentication } from '@tessera/contracts';
import { LOGGER } from '@tessera/platform-service';
import { decideFhirBundle } from '../fhir/fhir-bundle.converter';
import { InstitutionRegistry } from '../institutions/institution.registry';
import { MapMessageHandler } from '../mapping/map-message.handler';
import type { AppliedMapping } from '../mapping/map-message.handler';
import type { MappingDecision } from '../mapping/mapping-outcome.policy';
import type { LedgerFilter } from './ledger-filter';
import { filterFromJson, filterKey, filterSql, filterToJson, REPLAYABLE_STATES } from './ledger-filter';
import { decodeRaw } from './ledger-query.service';

export const REPLAY_BATCH = 200;

/** The columns a replay reads of one ledger message. */
interface StoredRow {
  readonly raw: Buffer;
  readonly charset: string;
  readonly channel: string;
  readonly institution_id: string | null;
  readonly sender_authentication: string | null;
  readonly received_at: Date;
}
/** A running job whose replica stopped heart-beating this long ago is resumed by another replica. */
const ORPHAN_AFTER_MS = 60_000;
const SWEEP_INTERVAL_MS = 30_000;

export type ReplayOneResult =
  | ({ readonly status: 'replayed'; readonly id: string } & AppliedMapping)
  | { readonly status: 'not-found' }
  | { readonly status: 'not-replayable'; readonly state: string };

export interface ReplayJob {
  readonly id: string;
  readonly status: 'queued' | 'running' | 'done' | 'failed';
  readonly filter: Record<string, unknown>;
  readonly requestedBy: string;
  readonly total: number;
  readonly done: number;
  readonly failed: number;
  readonly createdAt: string;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  readonly lastError: string | null;
}

interface JobRow {
  id: string;
  status: ReplayJob['status'];
  filter: Record<string, unknown>;
  requested_by: string;
  total: number;
  done: number;
  failed: number;
  snapshot_at: Date;
  cursor_received_at: string | null;
  cursor_id: string | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  last_error: string | null;
}

function toJob(r: JobRow): ReplayJob {
  return {
    id: r.id,
    status: r.status,
    filter: r.filter,
    requestedBy: r.requested_by,
    total: r.total,
    done: r.done,
    failed: r.failed,
    createdAt: r.created_at.toISOString(),
    startedAt: r.started_at?.toISOString() ?? null,
    finishedAt: r.finished_at?.toISOString() ?? null,
    lastError: r.last_error,
  };
}

/**
 * Replays stored messages through the CURRENT mapper (docs/architecture.md "Replay"): the raw message
 * is mapped again, its canonical events are enqueued again (new event ids, the same deterministic
 * resource ids) and {at, by, mapperVersion, outcome} is appended to the row's replays, all in one
 * transaction per message. Filtered replays are background jobs kept in Postgres: any replica
 * reports progress, one replica runs a job (claimed by heartbeat), an orphaned job is resumed
 * from its cursor, and one filter has at most one active job.
 */
@Injectable()
export class LedgerReplayService implements OnModuleInit, OnApplicationShutdown {
  private readonly owner = randomUUID();
  private readonly running = new Map<string, Promise<void>>();
  private stopping = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly dataSource: DataSource,
    private readonly mapper: MapMessageHandler,
    private readonly institutions: InstitutionRegistry,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onModuleInit(): void {
    this.timer = setInterval(() => void this.resumeOrphans(), SWEEP_INTERVAL_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    await Promise.allSettled([...this.running.values()]);
  }

  /** Re-maps one message. */
  async replayOne(id: string, by: string): Promise<ReplayOneResult> {
    return this.dataSource.transaction((tx) => this.replayIn(tx, id, by));
  }

  private async replayIn(tx: EntityManager, id: string, by: string): Promise<ReplayOneResult> {
    const [row] = await tx.query<Array<StoredRow & { state: string }>>(
      `SELECT raw, charset, channel, institution_id, sender_authentication, received_at, state FROM ledger_messages WHERE id = $1 FOR UPDATE`,
      [id],
    );
    if (row === undefined) return { status: 'not-found' };
    if (!(REPLAYABLE_STATES as readonly string[]).includes(row.state))
      return { status: 'not-replayable', state: row.state };
    const decision = this.decide(id, row);
    const applied = await this.mapper.apply(tx, id, decision, { by, at: new Date() });
    return { status: 'replayed', id, ...applied };
  }

  /** The message through the current mapper; its events keep how the original sender was authenticated. */
  private decide(id: string, row: StoredRow): MappingDecision {
    const recorded = SenderAuthentication.safeParse(row.sender_authentication);
    const senderAuthentication = recorded.success ? recorded.data : undefined;
    if (row.channel === 'http') {
      const institution =
        row.institution_id === null ? undefined : this.institutions.get(row.institution_id)?.institution;
      // A stored Bundle always came with the institution's access token.
      // Replayed under today's registrations: identifiers in another institution's system are refused.
      const othersSystems =
        row.institution_id === null
          ? undefined
          : this.institutions.identifierSystemsOfOthers(row.institution_id);
      return decideFhirBundle(
        row.raw,
        institution,
        id,
        senderAuthentication ?? 'access-token',
        othersSystems,
      );
    }
    return this.mapper.decide({
      ledgerId: id,
      institutionId: row.institution_id,
      text: decodeRaw(row.raw, row.charset, row.channel).text,
      receivedAt: row.received_at.toISOString(),
      ...(senderAuthentication === undefined ? {} : { senderAuthentication }),
    });
  }

  /**
   * Starts a background replay of every replayable message matching `filter` received until now.
   * When a job for the same filter is already queued or running, returns it (created: false).
   */
  async startJob(filter: LedgerFilter, by: string): Promise<{ job: ReplayJob; created: boolean }> {
    const key = filterKey(filter);
    const { conditions, params } = filterSql(filter, 2);
    const id = randomUUID();
    const inserted = await this.dataSource.query<JobRow[]>(
      `INSERT INTO ledger_replay_jobs (id, filter, filter_key, requested_by, status, total, snapshot_at)
       SELECT $${params.length + 2}, $${params.length + 3}::jsonb, $${params.length + 4}, $${params.length + 5}, 'queued', count(*), $1
       FROM ledger_messages WHERE received_at <= $1 ${conditions.map((c) => `AND ${c}`).join(' ')}
       ON CONFLICT (filter_key) WHERE status IN ('queued', 'running') DO NOTHING
       RETURNING *`,
      [new Date(), ...params, id, JSON.stringify(filterToJson(filter)), key, by],
    );
    const created = inserted[0];
    if (created === undefined) {
      const [active] = await this.dataSource.query<JobRow[]>(
        `SELECT * FROM ledger_replay_jobs WHERE filter_key = $1 AND status IN ('queued', 'running')`,
        [key],
      );
      if (active !== undefined) return { job: toJob(active), created: false };
      return this.startJob(filter, by); // it finished in between
    }
    this.launch(created.id);
    return { job: toJob(created), created: true };
  }

  async job(id: string): Promise<ReplayJob | undefined> {
    const [row] = await this.dataSource.query<JobRow[]>(`SELECT * FROM ledger_replay_jobs WHERE id = $1`, [
      id,
    ]);
    return row === undefined ? undefined : toJob(row);
  }

  private launch(id: string): void {
    if (this.running.has(id) || this.stopping) return;
    const run = this.run(id)
      .catch(async (error: unknown) => {
        this.logger.error({ err: error, jobId: id }, 'replay job interrupted; another pass resumes it');
        await this.dataSource
          .query(`UPDATE ledger_replay_jobs SET last_error = $2 WHERE id = $1`, [
            id,
            (error as Error).message.slice(0, 500),
          ])
          .catch(() => undefined);
      })
      .finally(() => this.running.delete(id));
    this.running.set(id, run);
  }

  private async resumeOrphans(): Promise<void> {
    try {
      const rows = await this.dataSource.query<Array<{ id: string }>>(
        `SELECT id FROM ledger_replay_jobs
         WHERE status = 'queued' OR (status = 'running' AND heartbeat_at < now() - ($1::int * interval '1 millisecond'))
         ORDER BY created_at LIMIT 10`,
        [ORPHAN_AFTER_MS],
      );
      for (const row of rows) this.launch(row.id);
    } catch (error) {
      this.logger.warn({ err: error }, 'replay job sweep failed; will retry');
    }
  }

  /** Claims the job (unless another replica heart-beats it) and replays it batch by batch from its cursor. */
  private async run(id: string): Promise<void> {
    // TypeORM answers an UPDATE … RETURNING with [rows, affected].
    const [claimed] = await this.dataSource.query<[JobRow[], number]>(
      `UPDATE ledger_replay_jobs SET status = 'running', owner = $2, started_at = COALESCE(started_at, now()), heartbeat_at = now()
       WHERE id = $1 AND (status = 'queued' OR (status = 'running' AND (owner = $2 OR heartbeat_at < now() - ($3::int * interval '1 millisecond'))))
       RETURNING *`,
      [id, this.owner, ORPHAN_AFTER_MS],
    );
    const job = claimed[0];
    if (job === undefined) return;
    const filter = filterFromJson(job.filter);
    let cursor =
      job.cursor_id === null ? undefined : { receivedAt: job.cursor_received_at ?? '', id: job.cursor_id };
    let done = job.done;
    let failed = job.failed;
    for (;;) {
      if (this.stopping) return;
      const { conditions, params } = filterSql(filter, 2);
      const keyset: unknown[] = [];
      if (cursor !== undefined) {
        keyset.push(cursor.receivedAt, cursor.id);
        conditions.push(
          `(received_at, id) > ($${params.length + 2}::timestamptz, $${params.length + 3}::uuid)`,
        );
      }
      const batch = await this.dataSource.query<Array<{ id: string; received_at_text: string }>>(
        `SELECT id, to_char(received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS received_at_text
         FROM ledger_messages WHERE received_at <= $1 ${conditions.map((c) => `AND ${c}`).join(' ')}
         ORDER BY received_at, id LIMIT ${REPLAY_BATCH}`,
        [job.snapshot_at, ...params, ...keyset],
      );
      for (const message of batch) {
        if (this.stopping) break;
        try {
          const result = await this.replayOne(message.id, job.requested_by);
          if (result.status === 'replayed' && result.state === 'mapped') done += 1;
          else failed += 1;
        } catch (error) {
          this.logger.warn({ err: error, jobId: id, ledgerId: message.id }, 'replay of one message failed');
          failed += 1;
        }
        cursor = { receivedAt: message.received_at_text, id: message.id };
      }
      const finished = batch.length < REPLAY_BATCH && !this.stopping;
      await this.dataSource.query(
        `UPDATE ledger_replay_jobs SET done = $2::int, failed = $3::int, cursor_received_at = $4::timestamptz, cursor_id = $5::uuid,
           heartbeat_at = now(), status = CASE WHEN $6::boolean THEN 'done' ELSE status END,
           finished_at = CASE WHEN $6::boolean THEN now() ELSE finished_at END,
           total = CASE WHEN $6::boolean THEN $2::int + $3::int ELSE total END
         WHERE id = $1`,
        [id, done, failed, cursor?.receivedAt ?? null, cursor?.id ?? null, finished],
      );
      if (finished) {
        this.logger.info({ jobId: id, done, failed }, 'replay job finished');
        return;
      }
    }
  }
}
