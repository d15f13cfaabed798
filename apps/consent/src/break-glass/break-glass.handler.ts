import { randomUUID } from 'node:crypto';
import { HttpStatus, Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { RegionPolicy } from '@tessera/consent-policy';
import { OperationOutcomeException } from '@tessera/platform-service';
import { versionConflict } from '../http/if-match';
import { PolicyCachePublisher } from '../policy/policy-cache.publisher';
import { PolicyChangeWriter } from '../policy/policy-change.writer';
import { BreakGlassRepository } from './break-glass.repository';
import type { PrivacyReviewView, ReviewDecision, ReviewStatus } from './break-glass.repository';
import { REGION_POLICY } from './region-policy.provider';

export interface BreakGlassRequest {
  readonly enterpriseId: string;
  readonly institutionId: string;
  readonly clientId: string;
  readonly reason: string;
  readonly user?: string | undefined;
}

export interface BreakGlassGranted {
  readonly grantId: string;
  readonly reviewId: string;
  readonly enterpriseId: string;
  readonly institutionId: string;
  readonly grantedAt: string;
  readonly expiresAt: string;
  readonly policyVersion: number;
}

/**
 * Break-the-glass (design "Consent"): a grant for region.breakGlassMinutes, an open privacy review,
 * a new policy version and ConsentChanged 'break-glass' in one transaction; then the Redis version
 * key, so the exchange's next policy read includes the grant. Reviews are closed by privacy officers.
 */
@Injectable()
export class BreakGlassHandler {
  constructor(
    private readonly dataSource: DataSource,
    private readonly repository: BreakGlassRepository,
    private readonly changes: PolicyChangeWriter,
    private readonly cache: PolicyCachePublisher,
    @Inject(REGION_POLICY) private readonly region: RegionPolicy,
  ) {}

  async grant(request: BreakGlassRequest, now: Date = new Date()): Promise<BreakGlassGranted> {
    const grantId = randomUUID();
    const reviewId = randomUUID();
    const expiresAt = new Date(now.getTime() + this.region.breakGlassMinutes * 60_000);
    const [change] = await this.dataSource.transaction(async (tx) => {
      await this.repository.insertGrant(
        tx,
        {
          id: grantId,
          enterpriseId: request.enterpriseId,
          institutionId: request.institutionId,
          clientId: request.clientId,
          user: request.user ?? null,
          reason: request.reason,
          grantedAt: now,
          expiresAt,
        },
        reviewId,
      );
      return this.changes.record(tx, [request.enterpriseId], 'break-glass');
    });
    if (change === undefined) throw new Error('break-glass raised no policy version');
    await this.cache.raise([change]);
    return {
      grantId,
      reviewId,
      enterpriseId: request.enterpriseId,
      institutionId: request.institutionId,
      grantedAt: now.toISOString(),
      expiresAt: expiresAt.toISOString(),
      policyVersion: change.version,
    };
  }

  reviews(status: ReviewStatus | undefined, limit: number): Promise<PrivacyReviewView[]> {
    return this.repository.reviews(this.dataSource, status, limit);
  }

  async decide(
    id: string,
    expectedVersion: number,
    decision: ReviewDecision,
    note: string | null,
    decidedBy: string,
  ): Promise<PrivacyReviewView> {
    return this.dataSource.transaction(async (tx) => {
      const review = await this.repository.review(tx, id, true);
      if (review === undefined) {
        throw new OperationOutcomeException(HttpStatus.NOT_FOUND, [{ code: 'not-found', diagnostics: 'No privacy review with this id.' }]);
      }
      if (review.version !== expectedVersion) throw versionConflict(review.version);
      if (review.status === 'closed') {
        throw new OperationOutcomeException(HttpStatus.CONFLICT, [
          { code: 'conflict', diagnostics: 'This review is already closed.' },
        ]);
      }
      await this.repository.closeReview(tx, id, decision, decidedBy, note);
      const closed = await this.repository.review(tx, id);
      if (closed === undefined) throw new Error('review vanished inside its transaction');
      return closed;
    });
  }
}
