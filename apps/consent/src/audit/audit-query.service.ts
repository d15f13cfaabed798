import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { AuditRecordData } from '@tessera/platform-audit';
import type { StoredAuditEvent } from './audit-event.presenter';
import type { AuditSearchQuery } from './audit-search.params';

export interface AuditSearchScope {
  /** Only records of this institution's clients (an institution's own operator). */
  readonly institutionId: string | null;
  /**
   * Only records of accesses to items this institution contributed: some entity names it as
   * `sourceInstitution` ("who accessed my record" for an institution, through the exchange).
   */
  readonly contributor?: string | null;
}

export interface AuditSearchPage {
  readonly rows: readonly StoredAuditEvent[];
  readonly total: number;
}

interface Row {
  seq: string;
  event_id: string;
  hash: string;
  record: AuditRecordData;
}

/** Reads the audit store: newest first, exact totals, patient lookups through the GIN index on `patients`. */
@Injectable()
export class AuditQueryService {
  constructor(private readonly dataSource: DataSource) {}

  async search(query: AuditSearchQuery, scope: AuditSearchScope): Promise<AuditSearchPage> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: (p: string) => string, value: unknown) => {
      params.push(value);
      where.push(sql(`$${params.length}`));
    };
    if (query.patient !== null) add((p) => `patients @> ARRAY[${p}]::text[]`, query.patient);
    for (const bound of query.dates) add((p) => `recorded_at ${bound.op} ${p}::timestamptz`, bound.instant);
    if (query.types.length > 0) add((p) => `type = ANY(${p}::text[])`, query.types);
    if (query.subtypes.length > 0) add((p) => `subtype = ANY(${p}::text[])`, query.subtypes);
    if (query.outcomes.length > 0) add((p) => `outcome = ANY(${p}::text[])`, query.outcomes);
    if (scope.institutionId !== null) add((p) => `institution_id = ${p}`, scope.institutionId);
    // In the WHERE clause, so the total and the pages count only such records.
    if (scope.contributor !== undefined && scope.contributor !== null)
      add(
        (p) => `entities @> jsonb_build_array(jsonb_build_object('sourceInstitution', ${p}::text))`,
        scope.contributor,
      );
    const filter = where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`;
    const [{ total }] = await this.dataSource.query<[{ total: string }]>(
      `SELECT count(*) AS total FROM audit_events ${filter}`,
      params,
    );
    const rows =
      query.count === 0
        ? []
        : await this.dataSource.query<Row[]>(
            `SELECT seq, event_id, hash, record FROM audit_events ${filter}
             ORDER BY recorded_at DESC, seq DESC LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
            [...params, query.count, query.offset],
          );
    return {
      total: Number(total),
      rows: rows.map((r) => ({ seq: r.seq, eventId: r.event_id, hash: r.hash, record: r.record })),
    };
  }

  async byId(eventId: string, scope: AuditSearchScope): Promise<StoredAuditEvent | undefined> {
    const [row] = await this.dataSource.query<Row[]>(
      `SELECT seq, event_id, hash, record FROM audit_events
       WHERE event_id = $1 AND ($2::text IS NULL OR institution_id = $2)`,
      [eventId, scope.institutionId],
    );
    return row === undefined
      ? undefined
      : { seq: row.seq, eventId: row.event_id, hash: row.hash, record: row.record };
  }
}
