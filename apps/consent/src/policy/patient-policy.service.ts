import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { EntityManager } from 'typeorm';
import { compilePolicy, restrictionsOnly } from '@tessera/consent-policy';
import type { ConsentDirective, PatientPolicy } from '@tessera/consent-policy';
import { BreakGlassRepository } from '../break-glass/break-glass.repository';
import { DirectiveRepository } from '../directives/directive.repository';
import { ConsentLinkRepository } from '../links/consent-link.repository';
import { PolicyVersionRepository } from './policy-version.repository';

/**
 * The PatientPolicy of a person (design "Consent"): directives anchored on the enterprise id, on
 * any source record currently MATCH-linked to it or covering such a record (then only its
 * restrictions: `restrictionsOnly`), the active break-the-glass grants, and the
 * institutions holding a record, read in one REPEATABLE READ snapshot with its version.
 */
@Injectable()
export class PatientPolicyService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly versions: PolicyVersionRepository,
    private readonly directives: DirectiveRepository,
    private readonly links: ConsentLinkRepository,
    private readonly grants: BreakGlassRepository,
  ) {}

  /**
   * Null when the service has no trace of the person: no policy version (no directive, grant or
   * link change ever touched it) and no source record linked to it. The exchange then treats the
   * person as unknown (only the requester's own records).
   */
  async policyOf(enterpriseId: string, now: Date = new Date()): Promise<PatientPolicy | null> {
    return this.dataSource.transaction('REPEATABLE READ', (tx: EntityManager) =>
      this.read(tx, enterpriseId, now),
    );
  }

  private async read(tx: EntityManager, enterpriseId: string, now: Date): Promise<PatientPolicy | null> {
    const version = await this.versions.current(tx, enterpriseId);
    if (version === 0 && (await this.links.linkedRecords(tx, enterpriseId)).length === 0) return null;
    // Every status: compilePolicy keeps those that count (active, or under privacy review).
    // A directive reaching the person only through a record it covers brings its restrictions only.
    const directives = (await this.directives.forPerson(tx, enterpriseId)).flatMap(
      (s): ConsentDirective[] => {
        const applied = s.coveredOnly === true ? restrictionsOnly(s.directive) : s.directive;
        return applied === undefined ? [] : [applied];
      },
    );
    const breakGlass = await this.grants.activeGrants(tx, enterpriseId, now);
    const holdingInstitutions = await this.links.holdingInstitutions(tx, enterpriseId);
    return compilePolicy({ enterpriseId, version, directives, breakGlass, holdingInstitutions }, now);
  }
}
