import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { Consent } from '@tessera/contracts';
import type { ConsentDirective } from '@tessera/consent-policy';
import { DirectiveRepository } from '../directives/directive.repository';
import { ConsentLinkRepository, matchedEnterpriseId } from '../links/consent-link.repository';
import { PolicyChangeWriter } from '../policy/policy-change.writer';

export interface IdentityCorrection {
  readonly prior: { readonly system: string; readonly value: string };
  readonly corrected: { readonly system: string; readonly value: string };
  readonly institutionId: string;
  /** Names the replay (PatientIdentityCorrected.reason): kept as the revision reason. */
  readonly reason: string;
}

/**
 * hie.patient PatientIdentityCorrected for the consent service (docs/identity-corrections.md): a
 * gateway replay found that the prior source record never existed at its hospital, so whatever was
 * consented on it belongs to the corrected record. Directives anchored on the prior record are
 * re-anchored on the corrected one (a new version, the reason naming the replay), the coverage of
 * eid-anchored directives moves with it. A feed-managed (PD1-12) directive the corrected record
 * already has wins: the prior one is set inactive, since one record has one feed directive. The
 * prior record's link (NO_MATCH, from the MPI) then ends its holder status.
 *
 * Returns the enterprise ids whose policy version was raised.
 */
@Injectable()
export class IdentityCorrectionHandler {
  constructor(
    private readonly links: ConsentLinkRepository,
    private readonly directives: DirectiveRepository,
    private readonly changes: PolicyChangeWriter,
  ) {}

  async apply(correction: IdentityCorrection, tx: EntityManager): Promise<string[]> {
    const { prior, corrected } = correction;
    if (prior.system === corrected.system && prior.value === corrected.value) return [];
    // Both records locked in one order, so a directive written on either meanwhile is serialized.
    const [first, second] = [prior, corrected].sort((a, b) =>
      `${a.system}|${a.value}` < `${b.system}|${b.value}` ? -1 : 1,
    ) as [typeof prior, typeof prior];
    const rows = [
      await this.links.lockSource(tx, first.system, first.value),
      await this.links.lockSource(tx, second.system, second.value),
    ];
    const revision = {
      revisedBy: `replay:${correction.institutionId}`,
      reason: correction.reason.slice(0, 500),
    };
    let changed = 0;
    for (const stored of await this.directives.forSource(tx, prior.system, prior.value)) {
      const feedOwnedThere =
        stored.directive.source === 'hl7v2' &&
        (await this.directives.findHl7v2(tx, corrected.system, corrected.value)) !== undefined;
      const next: ConsentDirective = feedOwnedThere
        ? { ...stored.directive, version: stored.directive.version + 1, status: 'inactive' }
        : {
            ...stored.directive,
            version: stored.directive.version + 1,
            anchor: { kind: 'source', system: corrected.system, value: corrected.value },
          };
      const resource: Consent = feedOwnedThere
        ? { ...stored.resource, status: 'inactive' }
        : {
            ...stored.resource,
            patient: { identifier: { system: corrected.system, value: corrected.value } },
          };
      if (feedOwnedThere) await this.directives.update(tx, next, resource, revision);
      else await this.directives.reanchor(tx, next, resource, revision);
      changed += 1;
    }
    changed += await this.directives.moveCoverage(tx, prior, corrected);
    if (changed === 0) return [];
    const persons = rows.map((r) => matchedEnterpriseId(r)).filter((eid): eid is string => eid !== null);
    if (persons.length === 0) return [];
    return (await this.changes.record(tx, [...new Set(persons)], 'link')).map((c) => c.enterpriseId);
  }
}
