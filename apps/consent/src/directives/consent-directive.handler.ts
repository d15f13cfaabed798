import { randomUUID } from 'node:crypto';
import { HttpStatus, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { EntityManager } from 'typeorm';
import type { Consent } from '@tessera/contracts';
import { fromFhirConsent, withPrivacyReview, withReviewTag } from '@tessera/consent-policy';
import type { ConsentAnchor, ConsentDirective, ConsentIssue } from '@tessera/consent-policy';
import { AuditUnavailableError, AuditWriter } from '@tessera/platform-audit';
import { OperationOutcomeException } from '@tessera/platform-service';
import { reasonOf } from '../http/consent-caller';
import type { ConsentCaller } from '../http/consent-caller';
import { versionConflict } from '../http/if-match';
import { PolicyCachePublisher } from '../policy/policy-cache.publisher';
import { PolicyChangeWriter } from '../policy/policy-change.writer';
import type { PolicyVersion } from '../policy/policy-version.repository';
import { ConsentAccessService } from './consent-access.service';
import { DirectiveRepository } from './directive.repository';
import type { Revision, StoredDirective } from './directive.repository';
import {
  changeRight,
  mayRead,
  RECORDED_BY_ANOTHER_INSTITUTION,
  restrictsSharing,
} from './directive-ownership.policy';

const ID = /^[A-Za-z0-9\-.]{1,64}$/;

function invalid(issues: readonly ConsentIssue[]): OperationOutcomeException {
  return new OperationOutcomeException(HttpStatus.BAD_REQUEST, issues);
}

function notFound(): OperationOutcomeException {
  return new OperationOutcomeException(HttpStatus.NOT_FOUND, [
    { code: 'not-found', diagnostics: 'No Consent with this id.' },
  ]);
}

function sameAnchor(a: ConsentAnchor, b: ConsentAnchor): boolean {
  return a.kind === 'enterprise'
    ? b.kind === 'enterprise' && a.enterpriseId === b.enterpriseId
    : b.kind === 'source' && a.system === b.system && a.value === b.value;
}

/**
 * The Consent as stored and served: the accepted resource with its server-assigned id and meta, the
 * status the server gave it (`proposed` while permits await a privacy review, README "Privacy
 * review of recorded permits") with the review meta.tag saying so, and `organization` naming the
 * owner institution (`Organization/<institution id>`; none for a regional operator's directive),
 * whatever the client sent.
 */
export function storedResource(
  accepted: unknown,
  directive: ConsentDirective,
  owner: string | null,
): Consent {
  const { organization: _claimed, ...body } = accepted as Consent;
  const { tag: _sent, ...meta } = body.meta ?? {};
  const tag = withReviewTag(body.meta?.tag, directive);
  return {
    ...body,
    ...(owner === null ? {} : { organization: [{ reference: `Organization/${owner}` }] }),
    resourceType: 'Consent',
    id: directive.id,
    status: directive.status,
    meta: {
      ...meta,
      ...(tag.length > 0 ? { tag } : {}),
      versionId: String(directive.version),
      lastUpdated: directive.recordedAt,
    },
  };
}

function forbidden(diagnostics: string): OperationOutcomeException {
  return new OperationOutcomeException(HttpStatus.FORBIDDEN, [{ code: 'forbidden', diagnostics }]);
}

/** Who made a version: `<institution>/<client>` for an institution, the client id for a regional operator. */
function revisedBy(caller: ConsentCaller): string {
  return caller.kind === 'institution' ? `${caller.institutionId}/${caller.clientId}` : caller.clientId;
}

/**
 * An eid-anchored directive also covers the source records linked to the eid now, so it follows
 * them through an MPI merge/unmerge; every person it applies to (the anchor and the persons its
 * covered records are linked to now) gets a new policy version.
 */
export async function raisePolicyVersions(
  tx: EntityManager,
  directives: DirectiveRepository,
  changes: PolicyChangeWriter,
  directive: ConsentDirective,
  eid: string | null,
): Promise<PolicyVersion[]> {
  if (eid === null) return [];
  if (directive.anchor.kind !== 'enterprise') return changes.record(tx, [eid], 'directive', directive.id);
  await directives.recordCoverage(tx, directive.id, eid);
  const covered = await directives.coveredPersons(tx, directive.id);
  return changes.record(tx, [eid, ...covered], 'directive', directive.id);
}

/** A patient's directives as one caller may see them (README "Ownership of consent"). */
export interface DirectiveSearchResult {
  /** The directives the caller may read (an institution: those it recorded). */
  readonly matches: readonly StoredDirective[];
  /** Active directives recorded by others that restrict sharing, whose content is not shown (institutions only). */
  readonly hiddenRestricting: number;
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
    private readonly audit: AuditWriter,
  ) {}

  /**
   * Recording by an institution: its permits that lift a security label, whoever they name, wait
   * for a privacy officer (the directive becomes `proposed`). Regional
   * operators and privacy officers are the reviewers: what they record counts at once.
   */
  private reviewed(directive: ConsentDirective, institutionId: string | null): ConsentDirective {
    return institutionId === null ? directive : withPrivacyReview(directive);
  }

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
    const directive = this.reviewed(
      parsed.directive,
      caller.kind === 'institution' ? caller.institutionId : null,
    );
    const result = await this.dataSource.transaction(async (tx) => {
      const eid = await this.access.enterpriseIdForWrite(tx, directive.anchor);
      await this.access.assertMayAccess(tx, caller, directive.anchor, 'record');
      const owner = caller.kind === 'institution' ? caller.institutionId : null;
      const stored = storedResource(resource, directive, owner);
      await this.directives.insert(tx, directive, stored, owner, { revisedBy: revisedBy(caller) });
      const policyVersions = await raisePolicyVersions(tx, this.directives, this.changes, directive, eid);
      return { stored: { directive, resource: stored, updatedAt: recordedAt, owner }, policyVersions };
    });
    await this.cache.raise(result.policyVersions);
    return result;
  }

  /**
   * Revises a directive: only its owner, a consent operator (directives regional operators
   * recorded) or a privacy officer with a reason (`reasonHeader`, audited before the commit).
   * The owner and recordedBy stay; the history row names who revised it and why. A PD1-12
   * directive stays feed-managed (source hl7v2) when its institution revises it through FHIR.
   */
  async update(
    id: string,
    resource: unknown,
    expectedVersion: number,
    caller: ConsentCaller,
    reasonHeader?: string,
  ): Promise<DirectiveWriteResult> {
    if (!ID.test(id)) throw notFound();
    const bodyId = (resource as { id?: unknown } | null)?.id;
    if (bodyId !== undefined && bodyId !== id) {
      throw invalid([
        {
          code: 'invariant',
          expression: 'Consent.id',
          diagnostics: 'Consent.id must match the id in the URL.',
        },
      ]);
    }
    const result = await this.dataSource.transaction(async (tx) => {
      const current = await this.directives.find(tx, id, true);
      if (current === undefined) throw notFound();
      const right = changeRight(caller, current.owner);
      if (right.kind === 'forbidden') {
        this.refused(caller, id, 'update');
        throw forbidden(right.diagnostics);
      }
      const revision: Revision =
        right.kind === 'privacy-officer'
          ? { revisedBy: revisedBy(caller), reason: reasonOf(reasonHeader) }
          : { revisedBy: revisedBy(caller) };
      if (current.directive.version !== expectedVersion) throw versionConflict(current.directive.version);
      const recordedAt = new Date().toISOString();
      const parsed = fromFhirConsent(resource, {
        id,
        version: current.directive.version + 1,
        recordedAt,
        recordedBy: current.directive.recordedBy,
      });
      if (parsed.issues !== undefined) throw invalid(parsed.issues);
      // The owner's every change that still holds such a permit goes back to review.
      const directive = this.reviewed(
        { ...parsed.directive, source: current.directive.source },
        right.kind === 'owner' ? current.owner : null,
      );
      if (!sameAnchor(directive.anchor, current.directive.anchor)) {
        throw invalid([
          {
            code: 'invariant',
            expression: 'Consent.patient',
            diagnostics: 'Consent.patient cannot change; record a new Consent for the other patient.',
          },
        ]);
      }
      // The owner revises only while it still holds the person (a privacy officer or a consent
      // operator may revise regardless).
      if (right.kind === 'owner') await this.access.assertMayAccess(tx, caller, directive.anchor, 'record');
      const eid = await this.access.enterpriseIdForWrite(tx, directive.anchor);
      const stored = storedResource(resource, directive, current.owner);
      await this.directives.update(tx, directive, stored, revision);
      const policyVersions = await raisePolicyVersions(tx, this.directives, this.changes, directive, eid);
      if (right.kind === 'privacy-officer') await this.auditOverride(caller, directive, eid, revision);
      return {
        stored: { directive, resource: stored, updatedAt: recordedAt, owner: current.owner },
        policyVersions,
      };
    });
    await this.cache.raise(result.policyVersions);
    return result;
  }

  /**
   * The privacy officer's override, on hie.audit before the transaction commits (fail closed: no
   * record, no change). The directive id and the reason, no content.
   */
  private async auditOverride(
    caller: ConsentCaller,
    directive: ConsentDirective,
    eid: string | null,
    revision: Revision,
  ): Promise<void> {
    try {
      await this.audit.record({
        type: 'consent-decision',
        subtype: 'update',
        action: 'U',
        outcome: '0',
        agent: { clientId: caller.clientId, institutionId: null, roles: caller.roles },
        patients: eid === null ? [] : [eid],
        entities: [{ type: 'Consent', reference: `Consent/${directive.id}` }],
        detail: `privacy officer override of an institution's directive (now ${directive.status}); reason: ${revision.reason ?? ''}`,
      });
    } catch (error) {
      if (!(error instanceof AuditUnavailableError)) throw error;
      throw new OperationOutcomeException(HttpStatus.SERVICE_UNAVAILABLE, [
        {
          code: 'transient',
          diagnostics: 'The audit trail is unavailable, so the directive was not changed. Try again shortly.',
        },
      ]);
    }
  }

  /** A refused attempt on another's directive: a security alert, not waited for. */
  private refused(caller: ConsentCaller, id: string, subtype: 'read' | 'update'): void {
    this.audit.recordDetached({
      type: 'security-alert',
      subtype,
      action: subtype === 'read' ? 'R' : 'U',
      outcome: '4',
      outcomeDesc: '403 consent directive recorded by another institution',
      agent: {
        clientId: caller.clientId,
        institutionId: caller.kind === 'institution' ? caller.institutionId : null,
        roles: caller.roles,
      },
      entities: [{ type: 'Consent', reference: `Consent/${id}` }],
    });
  }

  /** An institution reads only the directives it recorded (403 otherwise: it learns one exists, not its text). */
  async read(id: string, caller: ConsentCaller): Promise<StoredDirective> {
    if (!ID.test(id)) throw notFound();
    const stored = await this.directives.find(this.dataSource, id);
    if (stored === undefined) throw notFound();
    if (!mayRead(caller, stored.owner)) {
      this.refused(caller, id, 'read');
      throw forbidden(RECORDED_BY_ANOTHER_INSTITUTION);
    }
    return stored;
  }

  /**
   * Directives of a patient: an enterprise id gives the person's (anchored on it or on its linked
   * records); a source record gives its person's when it is linked, else its own. An institution
   * gets the directives it recorded, and the number of active directives recorded by others that
   * restrict sharing (their content withheld).
   */
  async search(
    anchor: ConsentAnchor,
    status: ConsentDirective['status'] | undefined,
    caller: ConsentCaller,
    now: Date = new Date(),
  ): Promise<DirectiveSearchResult> {
    await this.access.assertMayAccess(this.dataSource, caller, anchor, 'read');
    const eid = await this.access.enterpriseIdOf(this.dataSource, anchor);
    const all =
      eid !== null
        ? await this.directives.forPerson(this.dataSource, eid)
        : anchor.kind === 'source'
          ? await this.directives.forSource(this.dataSource, anchor.system, anchor.value)
          : [];
    const visible = all.filter((s) => mayRead(caller, s.owner));
    return {
      matches: visible.filter((s) => status === undefined || s.directive.status === status),
      hiddenRestricting: all.filter((s) => !mayRead(caller, s.owner) && restrictsSharing(s.directive, now))
        .length,
    };
  }
}
