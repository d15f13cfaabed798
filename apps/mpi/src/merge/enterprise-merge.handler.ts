import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { IdentityRepository } from '../identity/identity.repository';
import { LinkWriter } from '../links/link-writer.service';
import { MatchRecordHandler, recordLockKey } from '../matching/match-record.handler';
import type { OperatorContext } from '../operator/operator-link.handler';
import { EnterpriseMergeRepository } from './enterprise-merge.repository';
import type { MergeDecisionRef, MergeRow } from './enterprise-merge.repository';

export interface MergeView {
  readonly id: string;
  readonly status: 'MERGED' | 'UNMERGED';
  readonly version: number;
  readonly survivingEnterpriseId: string;
  readonly mergedEnterpriseId: string;
  readonly reason: string;
  readonly decidedBy: string;
  readonly at: string;
  /** Link decisions the merge wrote, one per moved source record. */
  readonly decisions: readonly MergeDecisionRef[];
  readonly reopenedOnUnmerge: readonly string[];
  readonly unmerge: { readonly reason: string; readonly by: string; readonly at: string } | null;
}

export interface UnmergeView extends MergeView {
  /** Records put back where the remaining decisions put them. */
  readonly restored: readonly { readonly sourceRecordId: string; readonly enterpriseId: string; readonly decisionId: string }[];
  /** Records a later decision moved after the merge: that later decision stands. */
  readonly keptByLaterDecision: readonly string[];
}

export type MergeResult<T> =
  | { readonly status: 'ok'; readonly value: T }
  | { readonly status: 'not-found'; readonly what: 'enterprise id' | 'merge' }
  | { readonly status: 'invalid'; readonly diagnostics: string }
  | { readonly status: 'refused'; readonly diagnostics: string }
  | { readonly status: 'conflict'; readonly diagnostics: string };

function view(merge: MergeRow): MergeView {
  return {
    id: merge.id,
    status: merge.status,
    version: merge.version,
    survivingEnterpriseId: merge.survivingEnterpriseId,
    mergedEnterpriseId: merge.mergedEnterpriseId,
    reason: merge.reason,
    decidedBy: merge.decidedBy,
    at: new Date(merge.at).toISOString(),
    decisions: merge.decisions,
    reopenedOnUnmerge: merge.closedReviewTasks,
    unmerge:
      merge.unmergedAt === null || merge.unmergeReason === null || merge.unmergedBy === null
        ? null
        : { reason: merge.unmergeReason, by: merge.unmergedBy, at: new Date(merge.unmergedAt).toISOString() },
  };
}

/**
 * Operator merge and unmerge of two enterprise ids. A merge is one
 * recorded decision: every source record of the merged id gets a MANUAL link to the surviving id (an
 * event each), the merged id points at the survivor, and the merge lists the decisions it wrote. An
 * unmerge removes exactly that effect by replaying each moved record's remaining decisions: a record
 * whose latest decision is still the merge's goes back to its latest decision before it (enterprise
 * id, state, origin, score, rule set and comparisons as they were); a record decided again since keeps
 * that later decision. Both check versions the operator saw (optimistic locking) and name who and why.
 */
@Injectable()
export class EnterpriseMergeHandler {
  constructor(
    private readonly dataSource: DataSource,
    private readonly identities: IdentityRepository,
    private readonly merges: EnterpriseMergeRepository,
    private readonly links: LinkWriter,
    private readonly matcher: MatchRecordHandler,
  ) {}

  async merge(
    cmd: {
      readonly survivingEnterpriseId: string;
      readonly mergedEnterpriseId: string;
      readonly expectedVersions: { readonly surviving: number; readonly merged: number };
    },
    ctx: OperatorContext,
  ): Promise<MergeResult<MergeView>> {
    const { survivingEnterpriseId: surviving, mergedEnterpriseId: merged } = cmd;
    if (surviving === merged) return { status: 'invalid', diagnostics: 'the surviving and the merged enterprise id must differ' };
    return this.dataSource.transaction(async (tx): Promise<MergeResult<MergeView>> => {
      // Record locks first, like the matcher (record key, then enterprise-id rows), so neither waits in a cycle.
      const seen = await this.merges.members(tx, merged);
      await this.identities.lockKeys(tx, seen.map((m) => recordLockKey(m.system, m.localId)));
      const ids = await this.merges.lockEnterpriseIds(tx, [surviving, merged]);
      const survivor = ids.find((r) => r.id === surviving);
      const absorbed = ids.find((r) => r.id === merged);
      if (survivor === undefined || absorbed === undefined) return { status: 'not-found', what: 'enterprise id' };
      if (survivor.mergedInto !== null || absorbed.mergedInto !== null) {
        return { status: 'conflict', diagnostics: 'one of the enterprise ids was already merged into another: reload and decide again' };
      }
      if (survivor.version !== cmd.expectedVersions.surviving || absorbed.version !== cmd.expectedVersions.merged) {
        return {
          status: 'conflict',
          diagnostics: `the enterprise ids changed since you read them (now surviving version ${survivor.version}, merged version ${absorbed.version}): reload them and decide again`,
        };
      }
      if (await this.merges.notSamePersonAcross(tx, surviving, merged)) {
        return {
          status: 'refused',
          diagnostics: 'an operator recorded that a record of one enterprise id is not the same person as a record of the other',
        };
      }
      // The versions did not move, so the members read before the locks are still the members.
      const at = new Date();
      const id = randomUUID();
      const closed = await this.merges.closeReviewTasksBetween(tx, surviving, merged, at);
      const decisions: MergeDecisionRef[] = [];
      for (const member of seen) {
        const link = await this.identities.findLink(tx, member.sourceRecordId);
        const decisionId = await this.links.write(tx, { id: member.sourceRecordId, system: member.system, localId: member.localId }, link, {
          enterpriseId: surviving,
          state: member.retired ? 'NO_MATCH' : 'MATCH',
          origin: 'MANUAL',
          score: null,
          comparisons: [],
          ruleSetVersion: this.matcher.ruleSet.version,
          reason: `enterprise id merge ${id}: ${ctx.reason}`,
          decidedBy: ctx.operator,
          at,
        });
        decisions.push({ sourceRecordId: member.sourceRecordId, decisionId });
      }
      await this.merges.setMergedInto(tx, merged, surviving);
      const row: MergeRow = {
        id,
        survivingEnterpriseId: surviving,
        mergedEnterpriseId: merged,
        status: 'MERGED',
        version: 1,
        reason: ctx.reason,
        decidedBy: ctx.operator,
        at,
        decisions,
        closedReviewTasks: closed,
        unmergeReason: null,
        unmergedBy: null,
        unmergedAt: null,
      };
      await this.merges.insertMerge(tx, row);
      return { status: 'ok', value: view(row) };
    });
  }

  async unmerge(mergeId: string, expectedVersion: number, ctx: OperatorContext): Promise<MergeResult<UnmergeView>> {
    return this.dataSource.transaction(async (tx): Promise<MergeResult<UnmergeView>> => {
      const merge = await this.merges.findMerge(tx, mergeId, true);
      if (merge === null) return { status: 'not-found', what: 'merge' };
      if (merge.status !== 'MERGED' || merge.version !== expectedVersion) {
        return { status: 'conflict', diagnostics: `the merge changed since you read it (now ${merge.status}, version ${merge.version}): reload it` };
      }
      const refs = await this.merges.recordRefs(tx, merge.decisions.map((d) => d.sourceRecordId));
      await this.identities.lockKeys(tx, refs.map((r) => recordLockKey(r.system, r.localId)));
      await this.merges.lockEnterpriseIds(tx, [merge.survivingEnterpriseId, merge.mergedEnterpriseId]);
      const at = new Date();
      const excluded = merge.decisions.map((d) => d.decisionId);
      const restored: { sourceRecordId: string; enterpriseId: string; decisionId: string }[] = [];
      const kept: string[] = [];
      await this.merges.setMergedInto(tx, merge.mergedEnterpriseId, null);
      for (const ref of refs) {
        const own = merge.decisions.find((d) => d.sourceRecordId === ref.sourceRecordId);
        if (own === undefined || (await this.merges.latestDecisionId(tx, ref.sourceRecordId)) !== own.decisionId) {
          kept.push(ref.sourceRecordId);
          continue;
        }
        const previous = await this.merges.latestDecisionExcept(tx, ref.sourceRecordId, excluded);
        if (previous === null) {
          kept.push(ref.sourceRecordId);
          continue;
        }
        const link = await this.identities.findLink(tx, ref.sourceRecordId);
        const decisionId = await this.links.write(tx, { id: ref.sourceRecordId, system: ref.system, localId: ref.localId }, link, {
          enterpriseId: previous.enterpriseId,
          state: previous.state,
          origin: previous.origin,
          score: previous.score,
          comparisons: previous.comparisons,
          ruleSetVersion: previous.ruleSetVersion,
          reason: `enterprise id unmerge ${merge.id}: ${ctx.reason}`,
          decidedBy: ctx.operator,
          at,
        });
        restored.push({ sourceRecordId: ref.sourceRecordId, enterpriseId: previous.enterpriseId, decisionId });
      }
      await this.merges.reopenReviewTasks(tx, merge.closedReviewTasks);
      await this.merges.markUnmerged(tx, merge.id, ctx.reason, ctx.operator, at);
      const after = await this.merges.findMerge(tx, merge.id, false);
      if (after === null) return { status: 'not-found', what: 'merge' };
      return { status: 'ok', value: { ...view(after), restored, keptByLaterDecision: kept } };
    });
  }

  async find(mergeId: string): Promise<MergeView | null> {
    const merge = await this.merges.findMerge(this.dataSource.manager, mergeId, false);
    return merge === null ? null : view(merge);
  }
}
