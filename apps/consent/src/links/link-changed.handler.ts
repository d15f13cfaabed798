import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { linkDecisionSupersedes } from '@tessera/contracts';
import { DirectiveRepository } from '../directives/directive.repository';
import { PolicyChangeWriter } from '../policy/policy-change.writer';
import { PolicyVersionRepository } from '../policy/policy-version.repository';
import { ConsentLinkRepository, matchedEnterpriseId } from './consent-link.repository';
import type { LinkOrigin, LinkState } from './consent-link.repository';

export interface LinkChange {
  readonly patientSystem: string;
  readonly localPatientId: string;
  readonly enterpriseId: string | null;
  readonly state: LinkState;
  readonly origin: LinkOrigin;
  readonly decidedAt: string;
}

/**
 * Applies one MPI link decision to `consent_links` when it is the newest for its source record
 * (libs/contracts linkDecisionSupersedes: any arrival order ends on the same row). When the record
 * moves between enterprise ids, both persons' policies may change: directives anchored on the
 * record (or covering it: an eid-anchored directive recorded while the record was linked to that
 * eid) move with it, and the institutions holding each person change. Both versions are raised
 * (ConsentChanged reason 'link') if the record carries or is covered by directives; otherwise the person the record
 * leaves and persons that have consent state at all (a policy version row), so plain registrations
 * stay quiet.
 *
 * Returns the enterprise ids whose version was raised (the caller raises Redis after commit).
 */
@Injectable()
export class LinkChangedHandler {
  constructor(
    private readonly links: ConsentLinkRepository,
    private readonly directives: DirectiveRepository,
    private readonly versions: PolicyVersionRepository,
    private readonly changes: PolicyChangeWriter,
  ) {}

  async apply(change: LinkChange, eventId: string, tx: EntityManager): Promise<string[]> {
    const { patientSystem: system, localPatientId: value } = change;
    const current = await this.links.find(tx, system, value, true);
    const currentDecision =
      current?.decidedAt === null || current?.decidedAt === undefined || current.eventId === null
        ? undefined
        : { decidedAt: current.decidedAt, eventId: current.eventId };
    if (!linkDecisionSupersedes({ decidedAt: change.decidedAt, eventId }, currentDecision)) return [];

    await this.links.writeDecision(tx, system, value, {
      enterpriseId: change.enterpriseId,
      state: change.state,
      origin: change.origin,
      decidedAt: change.decidedAt,
      eventId,
    });
    const before = matchedEnterpriseId(current);
    const after = matchedEnterpriseId(change);
    if (before === after) return [];
    const affected = [before, after].filter((eid): eid is string => eid !== null);
    const carriesDirectives = await this.directives.sourceHasDirectives(tx, system, value);
    // The person a held record leaves always gets a new version: a policy cached before (without a
    // version row, version 0) would otherwise keep naming that institution as holding the person
    // (audit trail, discovery) until its TTL.
    const bumped = carriesDirectives
      ? affected
      : current?.institutionId === null || current?.institutionId === undefined
        ? []
        : [...new Set([...(before === null ? [] : [before]), ...(await this.versions.known(tx, affected))])];
    if (bumped.length === 0) return [];
    await this.changes.record(tx, bumped, 'link');
    return bumped;
  }
}
