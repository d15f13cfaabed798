import { Injectable } from '@nestjs/common';
import type { Patient } from '@medplum/fhirtypes';
import type { EntityManager } from 'typeorm';
import type { Decision, FieldComparison, NormalizedRecord } from '@tessera/matching';

export interface SourceRecordRow {
  readonly id: string;
  readonly system: string;
  readonly localId: string;
  readonly currentVersion: number;
  readonly retiredInto: string | null;
  /** The FHIR Patient of the current version. */
  readonly patient: Patient;
}

export interface LinkRow {
  readonly sourceRecordId: string;
  readonly enterpriseId: string;
  readonly state: Decision;
  readonly origin: 'AUTO' | 'MANUAL';
  readonly score: number | null;
  readonly version: number;
}

export interface CandidateRow {
  readonly sourceRecordId: string;
  readonly enterpriseId: string;
  readonly origin: 'AUTO' | 'MANUAL';
  readonly normalized: NormalizedRecord;
}

export interface NewVersion {
  readonly system: string;
  readonly localId: string;
  readonly institutionId: string;
  readonly patient: Patient;
  readonly normalized: NormalizedRecord;
  /** Every phone, normalized (PDQm `telecom`). */
  readonly phones: readonly string[];
  readonly sourceMessageId: string;
  readonly at: Date;
}

export interface LinkWrite {
  readonly sourceRecordId: string;
  readonly enterpriseId: string;
  readonly state: Decision;
  readonly origin: 'AUTO' | 'MANUAL';
  readonly score: number | null;
  readonly ruleSetVersion: string;
  readonly comparisons: readonly FieldComparison[];
  readonly at: Date;
}

export interface LinkEventWrite extends LinkWrite {
  readonly id: string;
  /** Operator id of a MANUAL decision; null for the engine. */
  readonly decidedBy: string | null;
  readonly before: { readonly enterpriseId: string; readonly state: Decision } | null;
  readonly reason: string;
}

export interface ReviewTaskWrite {
  readonly id: string;
  readonly kind: 'POSSIBLE_MATCH' | 'POSSIBLE_DUPLICATE';
  readonly sourceRecordId: string;
  readonly enterpriseIds: readonly string[];
  readonly bestScore: number | null;
  readonly payload: unknown;
  readonly at: Date;
}

export interface ReviewTaskRow {
  readonly id: string;
  readonly status: string;
  readonly version: number;
  readonly enterpriseIds: readonly string[];
  readonly payload: { readonly candidates?: readonly { readonly sourceRecordId: string }[] };
  readonly sourceRecordId: string;
  readonly system: string;
  readonly localId: string;
}

/**
 * SQL of the identity model (migration MpiIdentity1732500000000). Every method takes the caller's
 * transaction, so a decision, its history row and its outbox event commit together.
 */
@Injectable()
export class IdentityRepository {
  /**
   * Serializes decisions that could see each other as candidates: one transaction-scoped advisory lock
   * per key (the record's own key and its blocking keys), taken in sorted order so two transactions
   * never wait on each other in a cycle. Released at commit or rollback.
   */
  async lockKeys(tx: EntityManager, keys: readonly string[]): Promise<void> {
    for (const key of [...new Set(keys)].sort()) {
      await tx.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [key]);
    }
  }

  async findSourceRecord(
    tx: EntityManager,
    system: string,
    localId: string,
  ): Promise<SourceRecordRow | null> {
    const rows = await tx.query<SourceRecordRow[]>(
      `SELECT id, system, local_id AS "localId", current_version AS "currentVersion", retired_into AS "retiredInto", patient
         FROM source_records WHERE system = $1 AND local_id = $2 FOR UPDATE`,
      [system, localId],
    );
    return rows[0] ?? null;
  }

  /**
   * The current version of a record by its source identity, read without a lock (the matcher reads it
   * to know which blocking keys to lock, then reads it again under the lock).
   */
  async peekSourceRecord(
    tx: EntityManager,
    system: string,
    localId: string,
  ): Promise<{ readonly currentVersion: number; readonly patient: Patient } | null> {
    const rows = await tx.query<{ currentVersion: number; patient: Patient }[]>(
      `SELECT current_version AS "currentVersion", patient FROM source_records WHERE system = $1 AND local_id = $2`,
      [system, localId],
    );
    return rows[0] ?? null;
  }

  /** A record's current FHIR Patient and identity (re-matching). */
  async currentRecord(
    tx: EntityManager,
    id: string,
  ): Promise<{
    readonly system: string;
    readonly localId: string;
    readonly retiredInto: string | null;
    readonly patient: Patient;
  } | null> {
    const rows = await tx.query<
      { system: string; localId: string; retiredInto: string | null; patient: Patient }[]
    >(
      `SELECT system, local_id AS "localId", retired_into AS "retiredInto", patient FROM source_records WHERE id = $1`,
      [id],
    );
    return rows[0] ?? null;
  }

  /** Appends a version of the record (creating the record at version 1) and returns the record's id. */
  async appendVersion(
    tx: EntityManager,
    id: string,
    existing: SourceRecordRow | null,
    input: NewVersion,
  ): Promise<number> {
    const n = input.normalized;
    const search = [
      n.family?.latin ?? null,
      n.given?.latin ?? null,
      n.birthDate ?? null,
      input.patient.gender ?? null,
      JSON.stringify(input.patient),
      input.at,
      input.phones,
      n.postalCode ?? null,
    ];
    let version: number;
    if (existing === null) {
      version = 1;
      await tx.query(
        `INSERT INTO source_records (id, system, local_id, institution_id, current_version, family_norm, given_norm,
           birth_date, gender, patient, created_at, updated_at, phones, postal_code)
         VALUES ($1, $2, $3, $4, 1, $5, $6, $7, $8, $9::jsonb, $10, $10, $11::text[], $12)`,
        [id, input.system, input.localId, input.institutionId, ...search],
      );
    } else {
      version = existing.currentVersion + 1;
      await tx.query(
        `UPDATE source_records SET current_version = $2, family_norm = $3, given_norm = $4, birth_date = $5,
           gender = $6, patient = $7::jsonb, updated_at = $8, phones = $9::text[], postal_code = $10 WHERE id = $1`,
        [id, version, ...search],
      );
    }
    await tx.query(
      `INSERT INTO source_record_versions (source_record_id, version, patient, normalized, source_message_id, received_at)
       VALUES ($1, $2, $3::jsonb, $4::jsonb, $5, $6)`,
      [
        id,
        version,
        JSON.stringify(input.patient),
        JSON.stringify(input.normalized),
        input.sourceMessageId,
        input.at,
      ],
    );
    return version;
  }

  async replaceBlockingKeys(
    tx: EntityManager,
    sourceRecordId: string,
    keys: readonly string[],
  ): Promise<void> {
    await tx.query('DELETE FROM blocking_keys WHERE source_record_id = $1', [sourceRecordId]);
    if (keys.length === 0) return;
    await tx.query(
      `INSERT INTO blocking_keys (key, source_record_id) SELECT DISTINCT k, $2::uuid FROM unnest($1::text[]) AS k`,
      [keys, sourceRecordId],
    );
  }

  async retire(tx: EntityManager, sourceRecordId: string, survivorId: string): Promise<void> {
    await tx.query('UPDATE source_records SET retired_into = $2 WHERE id = $1', [sourceRecordId, survivorId]);
    await tx.query('DELETE FROM blocking_keys WHERE source_record_id = $1', [sourceRecordId]);
  }

  async findLink(tx: EntityManager, sourceRecordId: string): Promise<LinkRow | null> {
    const rows = await tx.query<LinkRow[]>(
      `SELECT source_record_id AS "sourceRecordId", enterprise_id AS "enterpriseId", state, origin, score, version
         FROM links WHERE source_record_id = $1`,
      [sourceRecordId],
    );
    return rows[0] ?? null;
  }

  /**
   * Active records sharing a blocking key with `keys` (at most `cap`, those sharing the most keys
   * first: a broad key such as birth year + initial must not crowd out the record that shares birth
   * date, phone and phonetic name), plus every active member of `enterpriseIds`, each with the
   * normalized fields of its current version and its enterprise id.
   */
  async candidates(
    tx: EntityManager,
    sourceRecordId: string,
    keys: readonly string[],
    enterpriseIds: readonly string[],
    cap: number,
  ): Promise<CandidateRow[]> {
    return tx.query<CandidateRow[]>(
      `WITH blocked AS (
         SELECT bk.source_record_id AS id FROM blocking_keys bk
          WHERE bk.key = ANY($1::text[]) AND bk.source_record_id <> $2
          GROUP BY bk.source_record_id
          ORDER BY count(*) DESC, bk.source_record_id
          LIMIT $3
       ), members AS (
         SELECT source_record_id AS id FROM links WHERE enterprise_id = ANY($4::uuid[]) AND source_record_id <> $2
       )
       SELECT sr.id AS "sourceRecordId", l.enterprise_id AS "enterpriseId", l.origin, v.normalized
         FROM (SELECT id FROM blocked UNION SELECT id FROM members) c
         JOIN source_records sr ON sr.id = c.id AND sr.retired_into IS NULL
         JOIN source_record_versions v ON v.source_record_id = sr.id AND v.version = sr.current_version
         JOIN links l ON l.source_record_id = sr.id`,
      [keys, sourceRecordId, cap, enterpriseIds],
    );
  }

  async otherMembers(tx: EntityManager, enterpriseId: string, sourceRecordId: string): Promise<number> {
    const rows = await tx.query<{ n: number }[]>(
      `SELECT count(*)::int AS n FROM links l JOIN source_records sr ON sr.id = l.source_record_id
        WHERE l.enterprise_id = $1 AND l.source_record_id <> $2 AND sr.retired_into IS NULL`,
      [enterpriseId, sourceRecordId],
    );
    return rows[0]?.n ?? 0;
  }

  /** Records an operator declared not to be the same person as `sourceRecordId`. */
  async notSamePerson(tx: EntityManager, sourceRecordId: string): Promise<Set<string>> {
    const rows = await tx.query<{ other: string }[]>(
      `SELECT CASE WHEN record_a = $1 THEN record_b ELSE record_a END AS other
         FROM not_same_person WHERE record_a = $1 OR record_b = $1`,
      [sourceRecordId],
    );
    return new Set(rows.map((r) => r.other));
  }

  async createEnterpriseId(tx: EntityManager, id: string, at: Date): Promise<void> {
    await tx.query('INSERT INTO enterprise_ids (id, created_at) VALUES ($1, $2)', [id, at]);
  }

  /** Writes the current link (version + 1) and its immutable history row. */
  async writeLink(tx: EntityManager, event: LinkEventWrite): Promise<void> {
    const comparisons = JSON.stringify(event.comparisons);
    await tx.query(
      `INSERT INTO links (source_record_id, enterprise_id, state, origin, score, rule_set_version, comparisons, version, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, 1, $8)
       ON CONFLICT (source_record_id) DO UPDATE SET enterprise_id = EXCLUDED.enterprise_id, state = EXCLUDED.state,
         origin = EXCLUDED.origin, score = EXCLUDED.score, rule_set_version = EXCLUDED.rule_set_version,
         comparisons = EXCLUDED.comparisons, version = links.version + 1, updated_at = EXCLUDED.updated_at`,
      [
        event.sourceRecordId,
        event.enterpriseId,
        event.state,
        event.origin,
        event.score,
        event.ruleSetVersion,
        comparisons,
        event.at,
      ],
    );
    await tx.query(
      `INSERT INTO link_events (id, source_record_id, before_enterprise_id, after_enterprise_id, before_state, after_state,
         origin, score, rule_set_version, comparisons, reason, at, decided_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11, $12, $13)`,
      [
        event.id,
        event.sourceRecordId,
        event.before?.enterpriseId ?? null,
        event.enterpriseId,
        event.before?.state ?? null,
        event.state,
        event.origin,
        event.score,
        event.ruleSetVersion,
        comparisons,
        event.reason,
        event.at,
        event.decidedBy,
      ],
    );
    // Every enterprise id a link enters or leaves changes version (operators' optimistic lock on merges).
    await tx.query('UPDATE enterprise_ids SET version = version + 1 WHERE id = ANY($1::uuid[])', [
      [...new Set([event.enterpriseId, ...(event.before === null ? [] : [event.before.enterpriseId])])],
    ]);
  }

  async enterpriseIdExists(tx: EntityManager, id: string): Promise<boolean> {
    const rows = await tx.query<unknown[]>('SELECT 1 FROM enterprise_ids WHERE id = $1', [id]);
    return rows.length > 0;
  }

  /** Remembers that two source records are not the same person (stored once, smaller id first). */
  async addNotSamePerson(
    tx: EntityManager,
    a: string,
    b: string,
    reason: string,
    by: string,
    at: Date,
  ): Promise<void> {
    const [first, second] = [a, b].sort();
    await tx.query(
      `INSERT INTO not_same_person (record_a, record_b, reason, decided_by, at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (record_a, record_b) DO NOTHING`,
      [first, second, reason, by, at],
    );
  }

  /** Open review tasks of a record are decided by an operator's link decision about it. */
  async closeReviewTasks(tx: EntityManager, sourceRecordId: string, at: Date): Promise<void> {
    await tx.query(
      `UPDATE review_tasks SET status = 'DECIDED', decided_at = $2, version = version + 1
        WHERE source_record_id = $1 AND status = 'OPEN'`,
      [sourceRecordId, at],
    );
  }

  /** A review task, locked for a decision. */
  async findReviewTask(tx: EntityManager, id: string): Promise<ReviewTaskRow | null> {
    const rows = await tx.query<ReviewTaskRow[]>(
      `SELECT t.id, t.status, t.version, t.enterprise_ids AS "enterpriseIds", t.payload,
              sr.id AS "sourceRecordId", sr.system, sr.local_id AS "localId"
         FROM review_tasks t JOIN source_records sr ON sr.id = t.source_record_id
        WHERE t.id = $1 FOR UPDATE OF t`,
      [id],
    );
    return rows[0] ?? null;
  }

  async decideReviewTask(tx: EntityManager, id: string, at: Date): Promise<void> {
    await tx.query(
      `UPDATE review_tasks SET status = 'DECIDED', decided_at = $2, version = version + 1 WHERE id = $1`,
      [id, at],
    );
  }

  /** Opens a review task unless the same one (kind, record, enterprise ids) is already open. */
  async openReviewTask(tx: EntityManager, task: ReviewTaskWrite): Promise<void> {
    await tx.query(
      `INSERT INTO review_tasks (id, kind, status, source_record_id, enterprise_ids, best_score, payload, version, created_at)
       SELECT $1, $2, 'OPEN', $3, $4::uuid[], $5, $6::jsonb, 1, $7
        WHERE NOT EXISTS (SELECT 1 FROM review_tasks WHERE status = 'OPEN' AND kind = $2 AND source_record_id = $3
                            AND enterprise_ids = $4::uuid[])`,
      [
        task.id,
        task.kind,
        task.sourceRecordId,
        task.enterpriseIds,
        task.bestScore,
        JSON.stringify(task.payload),
        task.at,
      ],
    );
  }
}
