import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { EntityManager } from 'typeorm';
import { IdentityRepository } from '../identity/identity.repository';
import type { SourceRecordRow } from '../identity/identity.repository';
import { LinkWriter } from '../links/link-writer.service';
import { MatchRecordHandler, recordLockKey } from '../matching/match-record.handler';

export interface SourceRef {
  readonly system: string;
  readonly value: string;
}

export interface OperatorContext {
  readonly operator: string;
  readonly reason: string;
}

export type OperatorResult =
  | {
      readonly status: 'ok';
      readonly enterpriseId: string;
      readonly state: string;
      readonly origin: 'MANUAL';
      readonly version: number;
      readonly decisionId: string;
    }
  | { readonly status: 'not-found'; readonly what: 'source record' | 'enterprise id' | 'review task' }
  | { readonly status: 'invalid'; readonly diagnostics: string }
  | { readonly status: 'conflict'; readonly currentVersion: number };

/**
 * Operators' link decisions: each is MANUAL (the engine never moves it
 * again), names who and why, is checked against the link version the operator saw (optimistic
 * locking between concurrent reviewers), decides the record's open review tasks, and is an event.
 */
@Injectable()
export class OperatorLinkHandler {
  constructor(
    private readonly dataSource: DataSource,
    private readonly repository: IdentityRepository,
    private readonly links: LinkWriter,
    private readonly matcher: MatchRecordHandler,
  ) {}

  /** Links the source record to an existing enterprise id. */
  link(source: SourceRef, enterpriseId: string, expectedVersion: number, ctx: OperatorContext): Promise<OperatorResult> {
    return this.decide(source, expectedVersion, ctx, async (tx) =>
      (await this.repository.enterpriseIdExists(tx, enterpriseId)) ? enterpriseId : null,
    );
  }

  /** Detaches the source record from its enterprise id onto a new one of its own. */
  unlink(source: SourceRef, expectedVersion: number, ctx: OperatorContext, at = new Date()): Promise<OperatorResult> {
    return this.decide(source, expectedVersion, ctx, async (tx) => {
      const id = randomUUID();
      await this.repository.createEnterpriseId(tx, id, at);
      return id;
    });
  }

  /** Remembers that two source records are not the same person; the engine never links them again. */
  async notSamePerson(a: SourceRef, b: SourceRef, ctx: OperatorContext): Promise<'ok' | 'not-found'> {
    return this.dataSource.transaction(async (tx) => {
      await this.repository.lockKeys(tx, [recordLockKey(a.system, a.value), recordLockKey(b.system, b.value)]);
      const first = await this.repository.findSourceRecord(tx, a.system, a.value);
      const second = await this.repository.findSourceRecord(tx, b.system, b.value);
      if (first === null || second === null || first.id === second.id) return 'not-found';
      await this.repository.addNotSamePerson(tx, first.id, second.id, ctx.reason, ctx.operator, new Date());
      return 'ok';
    });
  }

  /**
   * Decides an open review task (optimistic locking on the task's version): `link` links its record
   * MANUALly to one of the task's enterprise ids; `separate` remembers that the record is not the same
   * person as any of the task's candidates, so the engine never proposes them again.
   */
  async decideTask(
    taskId: string,
    decision: { readonly kind: 'link'; readonly enterpriseId: string } | { readonly kind: 'separate' },
    expectedVersion: number,
    ctx: OperatorContext,
  ): Promise<OperatorResult> {
    return this.dataSource.transaction(async (tx): Promise<OperatorResult> => {
      const task = await this.repository.findReviewTask(tx, taskId);
      if (task === null) return { status: 'not-found', what: 'review task' };
      if (task.status !== 'OPEN' || task.version !== expectedVersion) return { status: 'conflict', currentVersion: task.version };
      await this.repository.lockKeys(tx, [recordLockKey(task.system, task.localId)]);
      const link = await this.repository.findLink(tx, task.sourceRecordId);
      if (link === null) return { status: 'not-found', what: 'source record' };
      const at = new Date();
      if (decision.kind === 'separate') {
        for (const candidate of task.payload.candidates ?? []) {
          if (candidate.sourceRecordId === task.sourceRecordId) continue;
          await this.repository.addNotSamePerson(tx, task.sourceRecordId, candidate.sourceRecordId, ctx.reason, ctx.operator, at);
        }
        await this.repository.decideReviewTask(tx, task.id, at);
        return { status: 'ok', enterpriseId: link.enterpriseId, state: link.state, origin: 'MANUAL', version: link.version, decisionId: task.id };
      }
      if (!task.enterpriseIds.includes(decision.enterpriseId)) {
        return { status: 'invalid', diagnostics: 'enterpriseId must be one of the task’s enterprise ids' };
      }
      const decisionId = await this.links.write(tx, { id: task.sourceRecordId, system: task.system, localId: task.localId }, link, {
        enterpriseId: decision.enterpriseId,
        state: 'MATCH',
        origin: 'MANUAL',
        score: null,
        comparisons: [],
        ruleSetVersion: this.matcher.ruleSet.version,
        reason: ctx.reason,
        decidedBy: ctx.operator,
        at,
      });
      await this.repository.closeReviewTasks(tx, task.sourceRecordId, at);
      return { status: 'ok', enterpriseId: decision.enterpriseId, state: 'MATCH', origin: 'MANUAL', version: link.version + 1, decisionId };
    });
  }

  private async decide(
    source: SourceRef,
    expectedVersion: number,
    ctx: OperatorContext,
    target: (tx: EntityManager) => Promise<string | null>,
  ): Promise<OperatorResult> {
    return this.dataSource.transaction(async (tx): Promise<OperatorResult> => {
      await this.repository.lockKeys(tx, [recordLockKey(source.system, source.value)]);
      const record: SourceRecordRow | null = await this.repository.findSourceRecord(tx, source.system, source.value);
      const link = record === null ? null : await this.repository.findLink(tx, record.id);
      if (record === null || link === null) return { status: 'not-found', what: 'source record' };
      if (link.version !== expectedVersion) return { status: 'conflict', currentVersion: link.version };
      const enterpriseId = await target(tx);
      if (enterpriseId === null) return { status: 'not-found', what: 'enterprise id' };
      const at = new Date();
      const decisionId = await this.links.write(tx, { id: record.id, system: record.system, localId: record.localId }, link, {
        enterpriseId,
        state: 'MATCH',
        origin: 'MANUAL',
        score: null,
        comparisons: [],
        ruleSetVersion: this.matcher.ruleSet.version,
        reason: ctx.reason,
        decidedBy: ctx.operator,
        at,
      });
      await this.repository.closeReviewTasks(tx, record.id, at);
      return { status: 'ok', enterpriseId, state: 'MATCH', origin: 'MANUAL', version: link.version + 1, decisionId };
    });
  }
}
