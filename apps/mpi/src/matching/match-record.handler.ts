import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { Patient } from '@medplum/fhirtypes';
import type { EntityManager } from 'typeorm';
import { blockingKeys, normalizeRecord, scorePair } from '@tessera/matching';
import type { Decision, NormalizedRecord, RegionConfig, RuleSet } from '@tessera/matching';
import { IdentityRepository } from '../identity/identity.repository';
import type { LinkRow } from '../identity/identity.repository';
import { LinkWriter, linkEventKey } from '../links/link-writer.service';
import { ENTERPRISE_ID_SYSTEM } from '../pdq/golden-record.projection';
import { decideLink } from './link-decision.policy';
import type { LinkDecision, ScoredCandidate } from './link-decision.policy';
import { demographicsOf, searchPhones } from './patient-demographics';
import { MATCHING_PROFILE } from './rule-sets';
import type { MatchingProfile } from './rule-sets';
import { overlaySourceRecord } from './source-record-overlay.policy';

/** Candidates compared per record (a cap keeps a common name from exploding). */
export const CANDIDATE_CAP = 200;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A source record as an institution sent it (PatientUpserted / the surviving side of PatientMerged). */
export interface SourceRecordInput {
  readonly institutionId: string;
  readonly system: string;
  readonly localId: string;
  readonly patient: Patient;
  readonly sourceMessageId: string;
  /**
   * How it arrived. `hl7v2`: the Patient is what one message said, overlaid on the stored version
   * (overlaySourceRecord: an empty field keeps, `""` deletes). `fhir` or unset: the whole resource
   * (FHIR update semantics), stored as sent.
   */
  readonly channel?: 'hl7v2' | 'fhir';
}

/** The version of a record about to be stored, with what matching derives from it. */
interface RecordVersion {
  readonly patient: Patient;
  readonly normalized: NormalizedRecord;
  readonly keys: readonly string[];
}

export interface MatchOutcome {
  readonly sourceRecordId: string;
  readonly enterpriseId: string;
  readonly state: Decision;
  readonly changed: boolean;
}

/** What re-matching one stored record decides (or did, in `apply` mode). */
export interface RematchOutcome {
  readonly sourceRecordId: string;
  readonly system: string;
  readonly localId: string;
  readonly changed: boolean;
  readonly before: {
    readonly enterpriseId: string;
    readonly state: Decision;
    readonly origin: 'AUTO' | 'MANUAL';
  };
  /** `enterpriseId` null: a new enterprise id (dry run). */
  readonly after: {
    readonly action: 'keep' | 'link' | 'new';
    readonly enterpriseId: string | null;
    readonly state: Decision;
    readonly score: number | null;
    readonly reason: string;
  };
}

/** Advisory-lock key of one source record (operator actions take it too). */
export function recordLockKey(system: string, localId: string): string {
  return `rec:${system}|${localId}`;
}

/**
 * Use case "a source record arrived": version the record, normalize and block it
 * with libs/matching, score the blocked candidates (Fellegi–Sunter), decide with `decideLink`, and
 * write the link, its history row, any review task and an MpiLinkChanged outbox event in the caller's
 * transaction (the consumer's inbox transaction).
 */
@Injectable()
export class MatchRecordHandler {
  /** The rule set new records and updates are decided with (MPI_RULE_SET_VERSION). */
  readonly ruleSet: RuleSet;
  /** Normalization region (MPI_REGION, MPI_NATIONAL_ID_PROFILE). */
  readonly region: RegionConfig;

  constructor(
    private readonly repository: IdentityRepository,
    private readonly links: LinkWriter,
    @Inject(MATCHING_PROFILE) readonly profile: MatchingProfile,
  ) {
    this.ruleSet = profile.ruleSet;
    this.region = profile.region;
  }

  async upsert(
    input: SourceRecordInput,
    tx: EntityManager,
    extraLocks: readonly string[] = [],
  ): Promise<MatchOutcome> {
    const at = new Date();
    const overlay = input.channel === 'hl7v2';
    // An HL7 v2 update is overlaid on the stored version, whose blocking keys are then the merged
    // record's: read it first (no lock) so every lock below is taken in one sorted batch.
    const seen = overlay ? await this.repository.peekSourceRecord(tx, input.system, input.localId) : null;
    let next = this.recordVersion(input, seen?.patient ?? null);
    // Concurrency: two records of one new person sharing a blocking key are decided one
    // after the other, each seeing the other's committed link, whatever partition or replica they use.
    await this.repository.lockKeys(tx, [
      recordLockKey(input.system, input.localId),
      ...next.keys,
      ...extraLocks,
    ]);

    const existing = await this.repository.findSourceRecord(tx, input.system, input.localId);
    if (overlay && (existing?.currentVersion ?? 0) !== (seen?.currentVersion ?? 0)) {
      // Another transaction (an A40 retiring this record, arriving on another partition) wrote a version
      // between the read and the lock: overlay on that one. Its extra keys are locked out of order; a
      // resulting deadlock is broken by Postgres and the consumer retries the event.
      next = this.recordVersion(input, existing?.patient ?? null);
      await this.repository.lockKeys(tx, next.keys);
    }
    const { patient, normalized, keys } = next;
    const id = existing?.id ?? randomUUID();
    await this.repository.appendVersion(tx, id, existing, {
      ...input,
      patient,
      normalized,
      phones: searchPhones(patient, this.region),
      at,
    });
    const link = await this.repository.findLink(tx, id);
    if (existing !== null && existing.retiredInto !== null && link !== null) {
      // A record its source merged away (A40) keeps its redirect: the new version is kept, not matched.
      return { sourceRecordId: id, enterpriseId: link.enterpriseId, state: link.state, changed: false };
    }
    await this.repository.replaceBlockingKeys(tx, id, keys);
    const decision = await this.evaluate(tx, id, normalized, keys, link, patient, this.ruleSet);
    return this.apply(
      tx,
      { id, system: input.system, localId: input.localId },
      link,
      decision,
      at,
      this.ruleSet,
    );
  }

  /** The version to store: an HL7 v2 Patient overlaid on `previous`, any other stored as sent. */
  private recordVersion(input: SourceRecordInput, previous: Patient | null): RecordVersion {
    const patient = input.channel === 'hl7v2' ? overlaySourceRecord(previous, input.patient) : input.patient;
    const normalized = normalizeRecord(demographicsOf(patient), this.region, this.ruleSet);
    return { patient, normalized, keys: blockingKeys(normalized) };
  }

  /**
   * Re-runs the decision about one stored record (re-matching after a rule change) with `ruleSet`, on
   * its current version and the current links. `dry-run` only reports what would change; `apply` takes
   * the same locks as a new record, decides again and writes the change (a MANUAL link is never moved
   * and "not the same person" is respected: `decideLink` rules 1 and 3). Retired records are not
   * matched.
   */
  async rematch(
    tx: EntityManager,
    sourceRecordId: string,
    ruleSet: RuleSet,
    mode: 'dry-run' | 'apply',
    reasonPrefix = 'rule-set re-match',
  ): Promise<RematchOutcome | null> {
    const record = await this.repository.currentRecord(tx, sourceRecordId);
    if (record === null || record.retiredInto !== null) return null;
    const normalized = normalizeRecord(demographicsOf(record.patient), this.region, ruleSet);
    const keys = blockingKeys(normalized);
    if (mode === 'apply')
      await this.repository.lockKeys(tx, [recordLockKey(record.system, record.localId), ...keys]);
    const link = await this.repository.findLink(tx, sourceRecordId);
    if (link === null) return null;
    const decision = await this.evaluate(tx, sourceRecordId, normalized, keys, link, record.patient, ruleSet);
    const target =
      decision.action === 'link'
        ? decision.enterpriseId
        : decision.action === 'keep'
          ? link.enterpriseId
          : null;
    const before = { enterpriseId: link.enterpriseId, state: link.state, origin: link.origin };
    const after = {
      action: decision.action,
      enterpriseId: target,
      state: decision.state,
      score: decision.best?.score ?? null,
      reason: decision.reason,
    };
    const base = { sourceRecordId, system: record.system, localId: record.localId, before, after };
    if (target === link.enterpriseId && decision.state === link.state) return { ...base, changed: false };
    if (mode === 'apply') {
      const outcome = await this.apply(
        tx,
        { id: sourceRecordId, system: record.system, localId: record.localId },
        link,
        { ...decision, reason: `${reasonPrefix}: ${decision.reason}` },
        new Date(),
        ruleSet,
      );
      return { ...base, after: { ...after, enterpriseId: outcome.enterpriseId }, changed: true };
    }
    return { ...base, changed: true };
  }

  /** Scores the blocked candidates of a record and decides its link (pure policy `decideLink`). */
  private async evaluate(
    tx: EntityManager,
    id: string,
    normalized: NormalizedRecord,
    keys: readonly string[],
    link: LinkRow | null,
    patient: Patient,
    ruleSet: RuleSet,
  ): Promise<LinkDecision> {
    const current =
      link === null
        ? null
        : {
            enterpriseId: link.enterpriseId,
            state: link.state,
            origin: link.origin,
            otherMembers: await this.repository.otherMembers(tx, link.enterpriseId, id),
          };
    const asserted = await this.assertedEnterpriseId(tx, patient);
    // The members of the current and of a claimed enterprise id are scored whatever their blocking keys.
    const members = [link?.enterpriseId, asserted].filter((e): e is string => e !== undefined && e !== null);
    const rows = await this.repository.candidates(tx, id, keys, members, CANDIDATE_CAP);
    const excluded = await this.repository.notSamePerson(tx, id);
    const candidates: ScoredCandidate[] = rows.map((row) => {
      const result = scorePair(normalized, row.normalized, ruleSet);
      return {
        sourceRecordId: row.sourceRecordId,
        enterpriseId: row.enterpriseId,
        score: result.score,
        decision: result.decision,
        comparisons: result.comparisons,
        notSamePerson: excluded.has(row.sourceRecordId),
        manual: row.origin === 'MANUAL',
      };
    });
    return decideLink({
      placeholder: normalized.placeholder,
      current,
      candidates,
      assertedEnterpriseId: asserted,
    });
  }

  /**
   * A40 (HL7 v2.5 §3.3.40, "merge patient – patient identifier list"): the prior local id was merged
   * into the surviving one by its institution. The surviving record is matched as an update; the prior
   * record is kept (never destroyed) but retired and redirected to the surviving record's enterprise id
   * with state NO_MATCH, so it is no longer a candidate and PIXm of the prior id resolves to the survivor.
   */
  async merge(
    surviving: SourceRecordInput,
    prior: { readonly system: string; readonly localId: string; readonly patient: Patient },
    tx: EntityManager,
  ): Promise<{ readonly surviving: MatchOutcome; readonly priorSourceRecordId: string }> {
    const outcome = await this.upsert(surviving, tx, [recordLockKey(prior.system, prior.localId)]);
    const at = new Date();
    const normalized = normalizeRecord(demographicsOf(prior.patient), this.region, this.ruleSet);
    const existing = await this.repository.findSourceRecord(tx, prior.system, prior.localId);
    const priorId = existing?.id ?? randomUUID();
    await this.repository.appendVersion(tx, priorId, existing, {
      institutionId: surviving.institutionId,
      system: prior.system,
      localId: prior.localId,
      patient: prior.patient,
      sourceMessageId: surviving.sourceMessageId,
      normalized,
      phones: searchPhones(prior.patient, this.region),
      at,
    });
    await this.repository.retire(tx, priorId, outcome.sourceRecordId);
    const link = await this.repository.findLink(tx, priorId);
    const reason = `retired: merged by its source into ${linkEventKey(surviving.system, surviving.localId)} (A40)`;
    await this.links.write(tx, { id: priorId, system: prior.system, localId: prior.localId }, link, {
      enterpriseId: outcome.enterpriseId,
      state: 'NO_MATCH',
      origin: 'AUTO',
      score: null,
      comparisons: [],
      ruleSetVersion: this.ruleSet.version,
      reason,
      decidedBy: null,
      at,
    });
    return { surviving: outcome, priorSourceRecordId: priorId };
  }

  /** An existing enterprise id the Patient claims as an identifier in the enterprise-id system (checked by decideLink). */
  private async assertedEnterpriseId(tx: EntityManager, patient: Patient): Promise<string | null> {
    const value = patient.identifier?.find((i) => i.system === ENTERPRISE_ID_SYSTEM)?.value;
    if (value === undefined || !UUID.test(value)) return null;
    return (await this.repository.enterpriseIdExists(tx, value)) ? value : null;
  }

  private async apply(
    tx: EntityManager,
    record: { readonly id: string; readonly system: string; readonly localId: string },
    link: LinkRow | null,
    decision: LinkDecision,
    at: Date,
    ruleSet: RuleSet,
  ): Promise<MatchOutcome> {
    let enterpriseId: string;
    if (decision.action === 'new') {
      enterpriseId = randomUUID();
      await this.repository.createEnterpriseId(tx, enterpriseId, at);
    } else if (decision.action === 'link') {
      enterpriseId = decision.enterpriseId;
    } else {
      if (link === null) throw new Error('keep without a current link');
      enterpriseId = link.enterpriseId;
    }
    const changed = link === null || link.enterpriseId !== enterpriseId || link.state !== decision.state;
    if (changed) {
      await this.links.write(tx, record, link, {
        enterpriseId,
        state: decision.state,
        origin: 'AUTO',
        score: decision.best?.score ?? null,
        comparisons: decision.best?.comparisons ?? [],
        ruleSetVersion: ruleSet.version,
        reason: decision.reason,
        decidedBy: null,
        at,
      });
    }
    if (decision.review !== null) {
      await this.repository.openReviewTask(tx, {
        id: randomUUID(),
        kind: decision.review.kind,
        sourceRecordId: record.id,
        enterpriseIds: decision.review.enterpriseIds,
        bestScore: decision.review.candidates[0]?.score ?? null,
        payload: {
          ruleSetVersion: ruleSet.version,
          enterpriseId,
          candidates: decision.review.candidates.map((c) => ({
            sourceRecordId: c.sourceRecordId,
            enterpriseId: c.enterpriseId,
            score: c.score,
            decision: c.decision,
            comparisons: c.comparisons,
          })),
        },
        at,
      });
    }
    return { sourceRecordId: record.id, enterpriseId, state: decision.state, changed };
  }
}
