import { Injectable } from '@nestjs/common';
import type { Patient } from '@medplum/fhirtypes';
import { DataSource } from 'typeorm';
import type { Decision, FieldComparison } from '@tessera/matching';
import type { LinkedSource } from '../pdq/golden-record.projection';

export interface ResolvedSource {
  readonly sourceRecordId: string;
  readonly enterpriseId: string;
  /** The link's version: operators send it back as `expectedVersion` (optimistic locking). */
  readonly linkVersion: number;
}

export interface ReviewTaskView {
  readonly id: string;
  readonly kind: string;
  readonly status: string;
  readonly system: string;
  readonly value: string;
  readonly enterpriseIds: readonly string[];
  readonly bestScore: number | null;
  readonly payload: unknown;
  readonly version: number;
  readonly createdAt: string;
}

export interface EnterpriseMember extends LinkedSource {
  readonly state: Decision;
  readonly origin: 'AUTO' | 'MANUAL';
  readonly score: number | null;
  readonly retired: boolean;
}

export interface LinkHistoryEntry {
  readonly decisionId: string;
  readonly at: string;
  readonly beforeEnterpriseId: string | null;
  readonly afterEnterpriseId: string | null;
  readonly beforeState: Decision | null;
  readonly afterState: Decision;
  readonly origin: 'AUTO' | 'MANUAL';
  readonly score: number | null;
  readonly ruleSetVersion: string;
  readonly comparisons: readonly FieldComparison[];
  readonly reason: string;
}

/** PDQm search parameters, already validated and normalized by the controller. */
export interface PatientSearch {
  readonly familyPrefix?: string;
  readonly givenPrefix?: string;
  readonly birthDate?: string;
  readonly gender?: string;
  readonly identifier?: { readonly system?: string; readonly value: string };
  readonly enterpriseId?: string;
  /** A phone (national significant number) or an e-mail address (exact, case-insensitive). */
  readonly telecom?: { readonly kind: 'phone'; readonly value: string } | { readonly kind: 'email'; readonly value: string };
  /** Prefix of the normalized postal code. */
  readonly postalCodePrefix?: string;
  readonly count: number;
  readonly offset: number;
}

/** Read side of the identity model for PIXm, PDQm and the operators' link APIs. */
@Injectable()
export class IdentityQueryService {
  constructor(private readonly dataSource: DataSource) {}

  async resolve(system: string, localId: string): Promise<ResolvedSource | null> {
    const rows = await this.dataSource.query<ResolvedSource[]>(
      `SELECT sr.id AS "sourceRecordId", l.enterprise_id AS "enterpriseId", l.version AS "linkVersion"
         FROM source_records sr JOIN links l ON l.source_record_id = sr.id
        WHERE sr.system = $1 AND sr.local_id = $2`,
      [system, localId],
    );
    return rows[0] ?? null;
  }

  async enterpriseIdExists(id: string): Promise<boolean> {
    return (await this.enterpriseId(id)) !== null;
  }

  /** An enterprise id's version (operators' `expectedVersions` of a merge) and where it was merged into. */
  async enterpriseId(id: string): Promise<{ readonly version: number; readonly mergedInto: string | null } | null> {
    const rows = await this.dataSource.query<{ version: number; mergedInto: string | null }[]>(
      'SELECT version, merged_into AS "mergedInto" FROM enterprise_ids WHERE id = $1',
      [id],
    );
    return rows[0] ?? null;
  }

  /** Whether any source record was ever received from this assigning authority. */
  async knownSystem(system: string): Promise<boolean> {
    const rows = await this.dataSource.query<unknown[]>('SELECT 1 FROM source_records WHERE system = $1 LIMIT 1', [system]);
    return rows.length > 0;
  }

  /** Source records linked to the enterprise id (retired ones flagged), most recent first. */
  async members(enterpriseId: string): Promise<EnterpriseMember[]> {
    const rows = await this.dataSource.query<(Omit<EnterpriseMember, 'patient'> & { patient: Patient })[]>(
      `SELECT sr.system, sr.local_id AS "localId", sr.updated_at AS "updatedAt", sr.patient,
              l.state, l.origin, l.score, sr.retired_into IS NOT NULL AS retired
         FROM links l JOIN source_records sr ON sr.id = l.source_record_id
        WHERE l.enterprise_id = $1
        ORDER BY sr.updated_at DESC, sr.system, sr.local_id`,
      [enterpriseId],
    );
    return rows;
  }

  async history(sourceRecordId: string): Promise<LinkHistoryEntry[]> {
    return this.dataSource.query<LinkHistoryEntry[]>(
      `SELECT id AS "decisionId", to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at,
              before_enterprise_id AS "beforeEnterpriseId", after_enterprise_id AS "afterEnterpriseId",
              before_state AS "beforeState", after_state AS "afterState", origin, score,
              rule_set_version AS "ruleSetVersion", comparisons, reason
         FROM link_events WHERE source_record_id = $1 ORDER BY at, id`,
      [sourceRecordId],
    );
  }

  /** Review tasks of one status, most useful first (highest best score, then oldest). */
  async reviewTasks(status: string, limit: number): Promise<ReviewTaskView[]> {
    return this.dataSource.query<ReviewTaskView[]>(
      `SELECT t.id, t.kind, t.status, sr.system, sr.local_id AS value, t.enterprise_ids AS "enterpriseIds",
              t.best_score AS "bestScore", t.payload, t.version,
              to_char(t.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "createdAt"
         FROM review_tasks t JOIN source_records sr ON sr.id = t.source_record_id
        WHERE t.status = $1
        ORDER BY t.best_score DESC NULLS LAST, t.created_at, t.id
        LIMIT $2`,
      [status, limit],
    );
  }

  /**
   * Enterprise ids with at least one active source record matching every given parameter (FHIR
   * string search: case- and accent-insensitive prefix on the normalized spelling), ordered by id.
   */
  async search(search: PatientSearch): Promise<{ readonly ids: string[]; readonly total: number }> {
    const where: string[] = ['sr.retired_into IS NULL'];
    const params: unknown[] = [];
    const add = (sql: (n: string) => string, value: unknown): void => {
      params.push(value);
      where.push(sql(`$${params.length}`));
    };
    if (search.familyPrefix !== undefined) add((p) => `sr.family_norm LIKE ${p} || '%'`, escapeLike(search.familyPrefix));
    if (search.givenPrefix !== undefined) add((p) => `sr.given_norm LIKE ${p} || '%'`, escapeLike(search.givenPrefix));
    if (search.birthDate !== undefined) add((p) => `sr.birth_date = ${p}::date`, search.birthDate);
    if (search.gender !== undefined) add((p) => `sr.gender = ${p}`, search.gender);
    if (search.enterpriseId !== undefined) add((p) => `l.enterprise_id = ${p}::uuid`, search.enterpriseId);
    if (search.postalCodePrefix !== undefined) add((p) => `sr.postal_code LIKE ${p} || '%'`, escapeLike(search.postalCodePrefix));
    const telecom = search.telecom;
    if (telecom?.kind === 'phone') add((p) => `sr.phones @> ARRAY[${p}::text]`, telecom.value);
    if (telecom?.kind === 'email') {
      add(
        (p) => `EXISTS (SELECT 1 FROM jsonb_array_elements(COALESCE(sr.patient -> 'telecom', '[]'::jsonb)) t
                         WHERE t ->> 'system' = 'email' AND lower(t ->> 'value') = lower(${p}))`,
        telecom.value,
      );
    }
    const identifier = search.identifier;
    if (identifier !== undefined) {
      const contained = JSON.stringify([
        identifier.system === undefined ? { value: identifier.value } : { system: identifier.system, value: identifier.value },
      ]);
      params.push(identifier.value);
      let own = `sr.local_id = $${params.length}`;
      if (identifier.system !== undefined) {
        params.push(identifier.system);
        own = `(${own} AND sr.system = $${params.length})`;
      }
      params.push(contained);
      where.push(`(${own} OR sr.patient -> 'identifier' @> $${params.length}::jsonb)`);
    }
    const from = `FROM source_records sr JOIN links l ON l.source_record_id = sr.id WHERE ${where.join(' AND ')}`;
    const totals = await this.dataSource.query<{ n: number }[]>(`SELECT count(DISTINCT l.enterprise_id)::int AS n ${from}`, params);
    const rows = await this.dataSource.query<{ id: string }[]>(
      `SELECT DISTINCT l.enterprise_id AS id ${from} ORDER BY id LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
      [...params, search.count, search.offset],
    );
    return { ids: rows.map((r) => r.id), total: totals[0]?.n ?? 0 };
  }
}

function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}
