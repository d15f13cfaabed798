import { HttpStatus, Inject, Injectable } from '@nestjs/common';
import { decideItem, decidePatient, encodeVisibility } from '@tessera/consent-policy';
import type { ItemFacts, PatientDecision, PatientPolicy, RegionPolicy } from '@tessera/consent-policy';
import type { Principal } from '@tessera/platform-auth';
import { LOGGER } from '@tessera/platform-service';
import type { Logger } from 'pino';
import type { RequestContext } from '../context/request-context';
import { outcomeError } from '../http/outcome';
import { CONSENT_UPSTREAM } from '../upstream/upstream.tokens';
import { unavailable, UpstreamStatusError, UpstreamUnavailable } from '../upstream/upstream.client';
import type { UpstreamClient } from '../upstream/upstream.client';
import { PatientPolicyService } from './patient-policy.service';
import { REGION_POLICY } from './region.provider';

/** A decision for one person as the exchange uses it: what to push down and what to audit. */
export interface AccessDecision {
  readonly enterpriseId: string | null;
  readonly decision: PatientDecision;
  readonly policy: PatientPolicy | null;
  /** X-Tessera-Visibility value for the data services. */
  readonly header: string;
}

/** The decision for a person the MPI does not know: only the requester's own records, nothing else. */
function unknownPerson(institutionId: string): PatientDecision {
  return {
    discoverable: false,
    visibility: { ownInstitution: institutionId, others: 'none', deniedLabels: [] },
    breakGlass: 'not-requested',
    reasons: ['unknown-person'],
    obligations: [{ kind: 'audit' }],
  };
}

export function institutionOf(principal: Principal): string {
  if (principal.institutionId === null) {
    throw outcomeError(
      HttpStatus.FORBIDDEN,
      'forbidden',
      'this client belongs to no institution; clinical data is served to institution clients only',
    );
  }
  return principal.institutionId;
}

/**
 * Asks the consent policy (libs/consent-policy decidePatient) for one person, on the cached
 * PatientPolicy, and carries out its break-the-glass obligation: when the decision applies a
 * break-the-glass that opens a privacy review, the consent service records the grant and the
 * review BEFORE anything is returned (any error → 503, fail closed).
 */
@Injectable()
export class AccessDecisionService {
  constructor(
    private readonly policies: PatientPolicyService,
    @Inject(REGION_POLICY) private readonly region: RegionPolicy,
    @Inject(CONSENT_UPSTREAM) private readonly consent: UpstreamClient,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async decide(
    principal: Principal,
    context: RequestContext,
    enterpriseId: string | null,
  ): Promise<AccessDecision> {
    const institutionId = institutionOf(principal);
    if (enterpriseId === null) return this.wrap(null, unknownPerson(institutionId), null);
    const policy = await this.policyOrUnavailable(enterpriseId);
    return this.decideWith(principal, context, enterpriseId, policy);
  }

  /** Decisions for several persons (PDQm / $match): one batched policy read; no break-the-glass side effects. */
  async decideMany(
    principal: Principal,
    context: RequestContext,
    enterpriseIds: readonly string[],
  ): Promise<Map<string, AccessDecision>> {
    const institutionId = institutionOf(principal);
    let policies: Map<string, PatientPolicy | null>;
    try {
      policies = await this.policies.policiesOf(enterpriseIds);
    } catch (error) {
      throw this.mapError(error);
    }
    const out = new Map<string, AccessDecision>();
    const discovery: RequestContext = { purposeOfUse: context.purposeOfUse };
    for (const id of enterpriseIds) {
      const policy = policies.get(id) ?? null;
      const decision =
        policy === null
          ? unknownPerson(institutionId)
          : decidePatient(this.region, policy, request(institutionId, discovery), new Date());
      out.set(id, this.wrap(id, decision, policy));
    }
    return out;
  }

  async decideWith(
    principal: Principal,
    context: RequestContext,
    enterpriseId: string,
    policy: PatientPolicy | null,
  ): Promise<AccessDecision> {
    const institutionId = institutionOf(principal);
    if (policy === null) return this.wrap(enterpriseId, unknownPerson(institutionId), null);
    const decision = decidePatient(this.region, policy, request(institutionId, context), new Date());
    const review = decision.obligations.find((o) => o.kind === 'open-privacy-review');
    if (decision.breakGlass === 'applied' && review !== undefined) {
      try {
        await this.consent.json(
          {
            method: 'POST',
            path: ['internal', 'break-glass'],
            body: {
              enterpriseId,
              institutionId,
              clientId: principal.clientId,
              reason: context.breakGlassReason ?? review.reason,
              ...(context.onBehalfOf === undefined ? {} : { user: context.onBehalfOf }),
            },
          },
          [200, 201],
        );
      } catch (error) {
        this.logger.error(
          {
            err: { name: (error as Error).name, message: (error as Error).message },
            clientId: principal.clientId,
          },
          'break-the-glass grant could not be recorded',
        );
        throw unavailable('the break-the-glass review service');
      }
    }
    return this.wrap(enterpriseId, decision, policy);
  }

  /** decideItem of one item against a decision (the re-check of every returned item). */
  permits(access: AccessDecision, facts: ItemFacts): boolean {
    return decideItem(access.decision.visibility, facts).permit;
  }

  async policyOrUnavailable(enterpriseId: string): Promise<PatientPolicy | null> {
    try {
      return await this.policies.policyOf(enterpriseId);
    } catch (error) {
      throw this.mapError(error);
    }
  }

  private mapError(error: unknown): Error {
    if (error instanceof UpstreamUnavailable || error instanceof UpstreamStatusError) {
      this.logger.error({ err: { name: error.name, message: error.message } }, 'consent policy unavailable');
      return unavailable('the consent service');
    }
    return error as Error;
  }

  private wrap(
    enterpriseId: string | null,
    decision: PatientDecision,
    policy: PatientPolicy | null,
  ): AccessDecision {
    return {
      enterpriseId,
      decision,
      policy,
      header: encodeVisibility({ ...decision.visibility, enterpriseId }),
    };
  }
}

function request(institutionId: string, context: RequestContext) {
  return {
    institutionId,
    purposeOfUse: context.purposeOfUse,
    ...(context.breakGlassReason === undefined ? {} : { breakGlassReason: context.breakGlassReason }),
  };
}
