import { randomUUID } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import type { OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { MatchRecordHandler } from '../matching/match-record.handler';
import type { OperatorContext } from '../operator/operator-link.handler';
import { progressOf } from './rematch-progress';
import type { Progress } from './rematch-progress';
import { RematchJobRepository } from './rematch-job.repository';
import type { RematchChangeRow, RematchJobRow, RematchScope, RematchStatus } from './rematch-job.repository';

/** Records read per page; progress is written after each page. */
const PAGE = 200;

export interface RematchJobView {
  readonly id: string;
  readonly status: RematchStatus;
  readonly version: number;
  readonly dryRun: boolean;
  readonly ruleSetVersion: string;
  readonly scope: RematchScope;
  readonly requestedBy: string;
  readonly reason: string;
  readonly startedAt: string;
  readonly finishedAt: string | null;
  readonly error: string | null;
  /** Of the running phase: the dry run over the scope, then (after apply) the listed changes. */
  readonly phase: 'dry-run' | 'apply';
  readonly progress: Progress;
  readonly report: {
    readonly recordsEvaluated: number;
    readonly wouldChange: number;
    readonly toExistingEnterpriseId: number;
    readonly toNewEnterpriseId: number;
    readonly stateOnly: number;
  };
  readonly apply: { readonly by: string; readonly applied: number; readonly processed: number; readonly total: number } | null;
}

export type RematchResult<T> =
  | { readonly status: 'ok'; readonly value: T }
  | { readonly status: 'not-found' }
  | { readonly status: 'invalid'; readonly diagnostics: string }
  | { readonly status: 'conflict'; readonly diagnostics: string };

/**
 * Re-matching after a rule change: a job re-decides every active record in
 * scope with the named rule set in the background and lists the links that would change (dry run,
 * nothing written but the report); `apply` then re-decides each listed record again under the
 * matcher's locks and writes what still changes (MANUAL links never move, "not the same person" is
 * respected). The dry run decides each record against the current links independently, so two
 * records of one enterprise id may both be listed where applying the first settles the second
 * (reported as UNCHANGED). A job runs in the replica that accepted it; if that process stops, the job
 * stays RUNNING/APPLYING (start a new one).
 */
@Injectable()
export class RematchJobRunner implements OnApplicationShutdown {
  private readonly logger = new Logger(RematchJobRunner.name);
  private readonly running = new Set<Promise<void>>();
  private stopping = false;

  constructor(
    private readonly dataSource: DataSource,
    private readonly jobs: RematchJobRepository,
    private readonly matcher: MatchRecordHandler,
  ) {}

  async start(
    cmd: { readonly ruleSetVersion?: string; readonly scope: RematchScope; readonly dryRun: boolean },
    ctx: OperatorContext,
  ): Promise<RematchResult<RematchJobView>> {
    const ruleSetVersion = cmd.ruleSetVersion ?? this.matcher.ruleSet.version;
    if (!this.matcher.profile.ruleSets.has(ruleSetVersion)) {
      return { status: 'invalid', diagnostics: `unknown rule set version; known: ${[...this.matcher.profile.ruleSets.keys()].join(', ')}` };
    }
    const id = randomUUID();
    await this.jobs.insert(
      this.dataSource.manager,
      { id, dryRun: cmd.dryRun, ruleSetVersion, scope: cmd.scope, requestedBy: ctx.operator, reason: ctx.reason },
      new Date(),
    );
    this.background(id, async () => {
      await this.dryRun(id);
      if (!cmd.dryRun) {
        const job = await this.jobs.find(this.dataSource.manager, id);
        if (job !== null) await this.apply(job, ctx.operator);
      }
    });
    return this.view(id);
  }

  async requestApply(id: string, expectedVersion: number, ctx: OperatorContext): Promise<RematchResult<RematchJobView>> {
    const job = await this.dataSource.transaction(async (tx) => {
      const found = await this.jobs.find(tx, id, true);
      if (found === null) return 'not-found' as const;
      if (found.status !== 'DONE' || found.version !== expectedVersion) return found;
      await this.jobs.startApply(tx, id, ctx.operator, found.wouldChange);
      return { ...found, status: 'APPLYING' as const };
    });
    if (job === 'not-found') return { status: 'not-found' };
    if (job.status !== 'APPLYING') {
      return {
        status: 'conflict',
        diagnostics: `only a finished dry run (status DONE) at the version you read can be applied (now ${job.status}, version ${job.version})`,
      };
    }
    this.background(id, () => this.apply(job, ctx.operator, false));
    return this.view(id);
  }

  async view(id: string): Promise<RematchResult<RematchJobView>> {
    const job = await this.jobs.find(this.dataSource.manager, id);
    if (job === null) return { status: 'not-found' };
    const counts = await this.jobs.changeCounts(this.dataSource.manager, id);
    const applying = job.status === 'APPLYING' || job.status === 'APPLIED' || job.appliedBy !== null;
    const now = job.finishedAt ?? new Date();
    return {
      status: 'ok',
      value: {
        id: job.id,
        status: job.status,
        version: job.version,
        dryRun: job.dryRun,
        ruleSetVersion: job.ruleSetVersion,
        scope: job.scope,
        requestedBy: job.requestedBy,
        reason: job.reason,
        startedAt: new Date(job.startedAt).toISOString(),
        finishedAt: job.finishedAt === null ? null : new Date(job.finishedAt).toISOString(),
        error: job.error,
        phase: applying ? 'apply' : 'dry-run',
        progress: applying
          ? progressOf(job.applyProcessed, job.applyTotal, new Date(job.phaseStartedAt), new Date(now))
          : progressOf(job.processed, job.total, new Date(job.phaseStartedAt), new Date(now)),
        report: {
          recordsEvaluated: job.processed,
          wouldChange: job.wouldChange,
          toExistingEnterpriseId: counts.toExisting,
          toNewEnterpriseId: counts.toNew,
          stateOnly: counts.stateOnly,
        },
        apply: applying && job.appliedBy !== null
          ? { by: job.appliedBy, applied: job.applied, processed: job.applyProcessed, total: job.applyTotal }
          : null,
      },
    };
  }

  async changes(id: string, count: number, offset: number): Promise<RematchResult<{ readonly total: number; readonly items: RematchChangeRow[] }>> {
    const job = await this.jobs.find(this.dataSource.manager, id);
    if (job === null) return { status: 'not-found' };
    return { status: 'ok', value: { total: job.wouldChange, items: await this.jobs.changes(this.dataSource.manager, id, count, offset) } };
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    await Promise.allSettled([...this.running]);
  }

  /** Waits for every job this instance runs (tests). */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.running]);
  }

  private background(id: string, work: () => Promise<void>): void {
    const run = work()
      .catch(async (error: unknown) => {
        // No PHI: the error's class and message come from SQL/code, never from patient data.
        const message = error instanceof Error ? `${error.name}: ${error.message}` : 'unknown error';
        this.logger.error(`rematch job ${id} failed: ${message}`);
        await this.jobs.fail(this.dataSource.manager, id, message.slice(0, 500)).catch(() => undefined);
      })
      .finally(() => this.running.delete(run));
    this.running.add(run);
  }

  private ruleSetOf(job: Pick<RematchJobRow, 'ruleSetVersion'>) {
    const ruleSet = this.matcher.profile.ruleSets.get(job.ruleSetVersion);
    if (ruleSet === undefined) throw new Error(`rule set ${job.ruleSetVersion} is no longer known`);
    return ruleSet;
  }

  private async dryRun(id: string): Promise<void> {
    const manager = this.dataSource.manager;
    const job = await this.jobs.find(manager, id);
    if (job === null) return;
    const ruleSet = this.ruleSetOf(job);
    await this.jobs.setTotal(manager, id, await this.jobs.countInScope(manager, job.scope));
    let after = '00000000-0000-0000-0000-000000000000';
    let processed = 0;
    let wouldChange = 0;
    for (;;) {
      if (this.stopping) throw new Error('stopped: the MPI instance shut down');
      const ids = await this.jobs.pageInScope(manager, job.scope, after, PAGE);
      if (ids.length === 0) break;
      const changes = [];
      for (const recordId of ids) {
        const outcome = await this.matcher.rematch(manager, recordId, ruleSet, 'dry-run');
        if (outcome?.changed === true) changes.push(outcome);
      }
      await this.jobs.addChanges(manager, id, wouldChange + 1, changes);
      processed += ids.length;
      wouldChange += changes.length;
      after = ids[ids.length - 1] ?? after;
      await this.jobs.progress(manager, id, { processed, wouldChange });
    }
    await this.jobs.finishDryRun(manager, id);
  }

  private async apply(job: RematchJobRow, by: string, start = true): Promise<void> {
    const manager = this.dataSource.manager;
    if (start) await this.jobs.startApply(manager, job.id, by, job.wouldChange);
    const ruleSet = this.ruleSetOf(job);
    let lastSeq = 0;
    let processed = 0;
    let applied = 0;
    for (;;) {
      if (this.stopping) throw new Error('stopped: the MPI instance shut down');
      const page = await this.jobs.changes(manager, job.id, PAGE, 0, lastSeq);
      if (page.length === 0) break;
      for (const change of page) {
        // One transaction per record, under the matcher's locks, decided again on the state now.
        const outcome = await this.dataSource.transaction(async (tx) => {
          const result = await this.matcher.rematch(tx, change.sourceRecordId, ruleSet, 'apply', `rule-set re-match (job ${job.id})`);
          const done = result?.changed === true ? ('APPLIED' as const) : ('UNCHANGED' as const);
          await this.jobs.setOutcome(tx, job.id, change.seq, done);
          return done;
        });
        if (outcome === 'APPLIED') applied++;
        processed++;
        lastSeq = change.seq;
      }
      await this.jobs.progress(manager, job.id, { applyProcessed: processed, applied });
    }
    await this.jobs.finishApply(manager, job.id);
  }
}
