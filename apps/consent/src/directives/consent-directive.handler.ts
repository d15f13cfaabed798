import { randomUUID } from 'node:crypto';
import { HttpStatus, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { EntityManager } from 'typeorm';
import type { Consent } from '@tessera/contracts';
import { fromFhirConsent } from '@tessera/consent-policy';
import type { ConsentAnchor, ConsentDirective, ConsentIssue } from '@tessera/consent-policy';
import { OperationOutcomeException } from '@tessera/platform-service';
import type { ConsentCaller } from '../http/consent-caller';
import { versionConflict } from '../http/if-match';
import { PolicyCachePublisher } from '../policy/policy-cache.publisher';
import { PolicyChangeWriter } from '../policy/policy-change.writer';
import type { PolicyVersion } from '../policy/policy-version.repository';
import { ConsentAccessService } from './consent-access.service';
import { DirectiveRepository } from './directive.repository';
import type { StoredDirective } from './directive.repository';

const ID = /^[A-Za-z0-9\-.]{1,64}$/;

function invalid(issues: readonly ConsentIssue[]): OperationOutcomeException {
  return new OperationOutcomeException(HttpStatus.BAD_REQUEST, issues);
}

function notFound(): OperationOutcomeException {
  return new OperationOutcomeException(HttpStatus.NOT_FOUND, [{ code: 'not-found', diagnostics: 'No Consent with this id.' }]);
}

function sameAnchor(a: ConsentAnchor, b: ConsentAnchor): boolean {
  return a.kind === 'enterprise'
    ? b.kind === 'enterprise' && a.enterpriseId === b.enterpriseId
    : b.kind === 'source' && a.system === b.system && a.value === b.value;
}

/** The Consent as stored and served: the accepted resource with its server-assigned id and meta. */
export function storedResource(accepted: unknown, directive: ConsentDirective): Consent {
  const body = accepted as Consent;
  return {
    ...body,
    resourceType: 'Consent',
    id: directive.id,
    meta: { ...body.meta, versionId: String(directive.version), lastUpdated: directive.recordedAt },
  };
}

export interface DirectiveWriteResult {
  readonly stored: StoredDirective;
  /** Enterprise ids whose policy version was raised (already raised in Redis when this returns). */
  readonly policyVersions: readonly { readonly enterpriseId: string; readonly version: number }[];
}

/**
 * Recording and revising consent directives (FHIR Consent): validated by fromFhirConsent (every
 * problem reported with its expression, nothing stored on error), access-checked, stored with its
 * history, the person's policy version raised and ConsentChanged enqueued in the same transaction;
 * after the commit the Redis version key is raised before the caller answers.
 */
@Injectable()
export class ConsentDirectiveHandler {
  constructor(
    private readonly dataSource: DataSource,
    private readonly directives: DirectiveRepository,
    private readonly access: ConsentAccessService,
    private readonly changes: PolicyChangeWriter,
    private readonly cache: PolicyCachePublisher,
  ) {}

  async create(resource: unknown, caller: ConsentCaller): Promise<DirectiveWriteResult> {
    const id = randomUUID();
    const recordedAt = new Date().toISOString();
    const parsed = fromFhirConsent(resource, {
      id,
      version: 1,
      recordedAt,
      ...(caller.kind === 'institution' ? { recordedBy: caller.institutionId } : {}),
    });
    if (parsed.issues !== undefined) throw invalid(parsed.issues);
    const directive = parsed.directive;
    const result = await this.dataSource.transaction(async (tx) => {
      const eid = await this.access.enterpriseIdForWrite(tx, directive.anchor);
      await this.access.assertMayAccess(tx, caller, directive.anchor);
      const stored = storedResource(resource, directive);
      await this.directives.insert(tx, directive, stored);
      const policyVersions = await this.raiseAffected(tx, directive, eid);
      return { stored: { directive, resource: stored, updatedAt: recordedAt }, policyVersions };
    });
    await this.cache.raise(result.policyVersions);
    return result;
  }

  async update(id: string, resource: unknown, expectedVersion: number, caller: ConsentCaller): Promise<DirectiveWriteResult> {
    if (!ID.test(id)) throw notFound();
    const bodyId = (resource as { id?: unknown } | null)?.id;
    if (bodyId !== undefined && bodyId !== id) {
      throw invalid([{ code: 'invariant', expression: 'Consent.id', diagnostics: 'Consent.id must match the id in the URL.' }]);
    }
    const result = await this.dataSource.transaction(async (tx) => {
      const current = await this.directives.find(tx, id, true);
      if (current === undefined) throw notFound();
      await this.access.assertMayAccess(tx, caller, current.directive.anchor);
      if (current.directive.version !== expectedVersion) throw versionConflict(current.directive.version);
      if (current.directive.source === 'hl7v2') {
        throw new OperationOutcomeException(HttpStatus.CONFLICT, [
          {
            code: 'business-rule',
            diagnostics:
              'This Consent is managed by the institution feed (PD1-12 protection indicator); change it by sending the patient with PD1-12 = N.',
          },
        ]);
      }
      const recordedAt = new Date().toISOString();
      const parsed = fromFhirConsent(resource, {
        id,
        version: current.directive.version + 1,
        recordedAt,
        ...(caller.kind === 'institution' ? { recordedBy: caller.institutionId } : {}),
      });
      if (parsed.issues !== undefined) throw invalid(parsed.issues);
      const directive = parsed.directive;
      if (!sameAnchor(directive.anchor, current.directive.anchor)) {
        throw invalid([
          {
            code: 'invariant',
            expression: 'Consent.patient',
            diagnostics: 'Consent.patient cannot change; record a new Consent for the other patient.',
          },
        ]);
      }
      const eid = await this.access.enterpriseIdForWrite(tx, directive.anchor);
      const stored = storedResource(resource, directive);
      await this.directives.update(tx, directive, stored);
      const policyVersions = await this.raiseAffected(tx, directive, eid);
      return { stored: { directive, resource: stored, updatedAt: recordedAt }, policyVersions };
    });
    await this.cache.raise(result.policyVersions);
    return result;
  }

  /**
   * An eid-anchored directive also covers the source records linked to the eid now, so it follows
   * them through an MPI merge/unmerge; every person it applies to (the anchor and the persons its
   * covered records are linked to now) gets a new policy version.
   */
  private async raiseAffected(tx: EntityManager, directive: ConsentDirective, eid: string | null): Promise<PolicyVersion[]> {
    if (eid === null) return [];
    if (directive.anchor.kind !== 'enterprise') return this.changes.record(tx, [eid], 'directive', directive.id);
    await this.directives.recordCoverage(tx, directive.id, eid);
    const covered = await this.directives.coveredPersons(tx, directive.id);
    return this.changes.record(tx, [eid, ...covered], 'directive', directive.id);
  }

  async read(id: string, caller: ConsentCaller): Promise<StoredDirective> {
    if (!ID.test(id)) throw notFound();
    const stored = await this.directives.find(this.dataSource, id);
    if (stored === undefined) throw notFound();
    await this.access.assertMayAccess(this.dataSource, caller, stored.directive.anchor);
    return stored;
  }

  /**
   * Directives of a patient: an enterprise id gives the person's (anchored on it or on its linked
   * records); a source record gives its person's when it is linked, else its own.
   */
  async search(anchor: ConsentAnchor, status: ConsentDirective['status'] | undefined, caller: ConsentCaller): Promise<StoredDirective[]> {
    await this.access.assertMayAccess(this.dataSource, caller, anchor);
    const eid = await this.access.enterpriseIdOf(this.dataSource, anchor);
    if (eid !== null) return this.directives.forPerson(this.dataSource, eid, status);
    if (anchor.kind === 'source') return this.directives.forSource(this.dataSource, anchor.system, anchor.value, status);
    return [];
  }
}
