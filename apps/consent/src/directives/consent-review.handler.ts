import { HttpStatus, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { awaitsPrivacyReview } from '@tessera/consent-policy';
import type { ConsentDirective, DirectiveStatus, Period, PurposeOfUse } from '@tessera/consent-policy';
import { AuditUnavailableError, AuditWriter } from '@tessera/platform-audit';
import { OperationOutcomeException } from '@tessera/platform-service';
import { isPrivacyOfficer } from '../http/consent-caller';
import type { ConsentCaller } from '../http/consent-caller';
import { versionConflict } from '../http/if-match';
import { PolicyCachePublisher } from '../policy/policy-cache.publisher';
import { PolicyChangeWriter } from '../policy/policy-change.writer';
import { ConsentAccessService } from './consent-access.service';
import { raisePolicyVersions, storedResource } from './consent-directive.handler';
import { DirectiveRepository } from './directive.repository';
import type { StoredDirective } from './directive.repository';

const ID = /^[A-Za-z0-9\-.]{1,64}$/;

export type ReviewDecision = 'approve' | 'reject';

/** A permit under review, as the privacy officer decides on it. */
export interface ReviewedProvision {
  readonly actors: readonly string[];
  readonly purposes: readonly PurposeOfUse[];
  readonly securityLabels: readonly string[];
  readonly period?: Period;
}

/**
 * A Consent directive whose permits needed a privacy officer's review: the directive id and version
 * (If-Match of the decision), who recorded it and the permits under review. The rest of the Consent
 * (and the patient) is at GET /Consent/{id}.
 */
export interface ConsentReviewView {
  readonly id: string;
  readonly version: number;
  /** `proposed`: awaiting the decision; `active`: approved; `rejected`. */
  readonly status: DirectiveStatus;
  readonly recordedBy: string;
  readonly recordedAt: string;
  readonly provisions: readonly ReviewedProvision[];
}

function viewOf(stored: StoredDirective): ConsentReviewView {
  const d = stored.directive;
  return {
    id: d.id,
    version: d.version,
    status: d.status,
    recordedBy: stored.owner ?? d.recordedBy,
    recordedAt: d.recordedAt,
    provisions: d.provisions
      .filter((p) => p.reviewRequired === true)
      .map((p) => ({
        actors: p.actors,
        purposes: p.purposes,
        securityLabels: p.securityLabels,
        ...(p.period === undefined ? {} : { period: p.period }),
      })),
  };
}

function outcome(
  status: HttpStatus,
  code: 'forbidden' | 'not-found' | 'conflict' | 'transient',
  diagnostics: string,
): OperationOutcomeException {
  return new OperationOutcomeException(status, [{ code, diagnostics }]);
}

/**
 * The privacy review of permits institutions record (README "Privacy review of recorded permits"):
 * the queue of `proposed` directives, and the decision — approve (the directive becomes `active`,
 * its reviewed permits count) or reject (`rejected`, they never count) — as a new version of the
 * directive naming the officer, the person's policy version raised, audited before the commit.
 */
@Injectable()
export class ConsentReviewHandler {
  constructor(
    private readonly dataSource: DataSource,
    private readonly directives: DirectiveRepository,
    private readonly access: ConsentAccessService,
    private readonly changes: PolicyChangeWriter,
    private readonly cache: PolicyCachePublisher,
    private readonly audit: AuditWriter,
  ) {}

  async pending(limit: number): Promise<ConsentReviewView[]> {
    return (await this.directives.awaitingReview(this.dataSource, limit)).map(viewOf);
  }

  async decide(
    id: string,
    expectedVersion: number,
    decision: ReviewDecision,
    note: string | null,
    caller: ConsentCaller,
  ): Promise<ConsentReviewView> {
    if (!isPrivacyOfficer(caller))
      throw outcome(
        HttpStatus.FORBIDDEN,
        'forbidden',
        'Only a regional privacy officer (role privacy.officer, not bound to an institution) decides consent reviews.',
      );
    if (!ID.test(id)) throw outcome(HttpStatus.NOT_FOUND, 'not-found', 'No Consent with this id.');
    const result = await this.dataSource.transaction(async (tx) => {
      const current = await this.directives.find(tx, id, true);
      if (current === undefined) throw outcome(HttpStatus.NOT_FOUND, 'not-found', 'No Consent with this id.');
      if (current.directive.version !== expectedVersion) throw versionConflict(current.directive.version);
      if (!awaitsPrivacyReview(current.directive))
        throw outcome(
          HttpStatus.CONFLICT,
          'conflict',
          `This Consent is not awaiting a privacy review (status ${current.directive.status}).`,
        );
      const directive: ConsentDirective = {
        ...current.directive,
        version: current.directive.version + 1,
        status: decision === 'approve' ? 'active' : 'rejected',
        recordedAt: new Date().toISOString(),
      };
      const resource = storedResource(current.resource, directive, current.owner);
      const reason = `privacy review: ${decision === 'approve' ? 'approved' : 'rejected'}${note === null ? '' : ` (${note})`}`;
      await this.directives.update(tx, directive, resource, { revisedBy: caller.clientId, reason });
      const eid = await this.access.enterpriseIdForWrite(tx, directive.anchor);
      const policyVersions = await raisePolicyVersions(tx, this.directives, this.changes, directive, eid);
      await this.audited(caller, directive, eid);
      return {
        view: viewOf({ directive, resource, updatedAt: directive.recordedAt, owner: current.owner }),
        policyVersions,
      };
    });
    await this.cache.raise(result.policyVersions);
    return result.view;
  }

  /** The decision on hie.audit before the commit (fail closed): the directive id and the outcome, no content. */
  private async audited(
    caller: ConsentCaller,
    directive: ConsentDirective,
    eid: string | null,
  ): Promise<void> {
    try {
      await this.audit.record({
        type: 'consent-decision',
        subtype: 'review',
        action: 'U',
        outcome: '0',
        agent: { clientId: caller.clientId, institutionId: null, roles: caller.roles },
        patients: eid === null ? [] : [eid],
        entities: [{ type: 'Consent', reference: `Consent/${directive.id}` }],
        detail: `privacy review of an institution's permit: ${directive.status === 'active' ? 'approved' : 'rejected'}`,
      });
    } catch (error) {
      if (!(error instanceof AuditUnavailableError)) throw error;
      throw outcome(
        HttpStatus.SERVICE_UNAVAILABLE,
        'transient',
        'The audit trail is unavailable, so the review was not decided. Try again shortly.',
      );
    }
  }
}
