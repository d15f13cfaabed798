import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { Consent } from '@tessera/contracts';
import type { ConsentAnchor, ConsentDirective, DirectiveStatus } from '@tessera/consent-policy';

/** One stored directive: the FHIR Consent as accepted and the directive compiled from it. */
export interface StoredDirective {
  readonly directive: ConsentDirective;
  readonly resource: Consent;
  readonly updatedAt: string;
}

interface DbRow {
  id: string;
  status: DirectiveStatus;
  version: number;
  resource: Consent;
  compiled: ConsentDirective;
  updated_at: Date;
}

type Queryable = Pick<EntityManager, 'query'>;

function toStored(r: DbRow): StoredDirective {
  return { directive: r.compiled, resource: r.resource, updatedAt: r.updated_at.toISOString() };
}

function anchorColumns(anchor: ConsentAnchor): [string, string | null, string | null, string | null] {
  return anchor.kind === 'enterprise'
    ? ['enterprise', anchor.enterpriseId, null, null]
    : ['source', null, anchor.system, anchor.value];
}

/**
 * `consent_directives` (the current version of each) and `consent_directive_history` (every version,
 * the current one included), written together.
 */
@Injectable()
export class DirectiveRepository {
  async insert(tx: EntityManager, directive: ConsentDirective, resource: Consent): Promise<void> {
    const [kind, eid, system, value] = anchorColumns(directive.anchor);
    await tx.query(
      `INSERT INTO consent_directives
         (id, anchor_kind, anchor_eid, anchor_system, anchor_value, status, version, resource, compiled, source, recorded_by, recorded_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9::jsonb, $10, $11, $12)`,
      [
        directive.id,
        kind,
        eid,
        system,
        value,
        directive.status,
        directive.version,
        JSON.stringify(resource),
        JSON.stringify(directive),
        directive.source,
        directive.recordedBy,
        directive.recordedAt,
      ],
    );
    await this.history(tx, directive, resource);
  }

  /** Replaces the current version (the caller checked the expected version under FOR UPDATE). */
  async update(tx: EntityManager, directive: ConsentDirective, resource: Consent): Promise<void> {
    await tx.query(
      `UPDATE consent_directives SET status = $2, version = $3, resource = $4::jsonb, compiled = $5::jsonb,
              recorded_by = $6, recorded_at = $7, updated_at = now()
        WHERE id = $1`,
      [
        directive.id,
        directive.status,
        directive.version,
        JSON.stringify(resource),
        JSON.stringify(directive),
        directive.recordedBy,
        directive.recordedAt,
      ],
    );
    await this.history(tx, directive, resource);
  }

  private async history(tx: EntityManager, directive: ConsentDirective, resource: Consent): Promise<void> {
    await tx.query(
      `INSERT INTO consent_directive_history (id, version, status, resource, compiled, recorded_by)
       VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6)`,
      [directive.id, directive.version, directive.status, JSON.stringify(resource), JSON.stringify(directive), directive.recordedBy],
    );
  }

  async find(q: Queryable, id: string, forUpdate = false): Promise<StoredDirective | undefined> {
    const rows = await q.query<DbRow[]>(
      `SELECT id, status, version, resource, compiled, updated_at FROM consent_directives WHERE id = $1${forUpdate ? ' FOR UPDATE' : ''}`,
      [id],
    );
    return rows[0] === undefined ? undefined : toStored(rows[0]);
  }

  /** The feed-managed (PD1-12) directive of a source record, locked. */
  async findHl7v2(tx: EntityManager, system: string, value: string): Promise<StoredDirective | undefined> {
    const rows = await tx.query<DbRow[]>(
      `SELECT id, status, version, resource, compiled, updated_at FROM consent_directives
        WHERE anchor_system = $1 AND anchor_value = $2 AND source = 'hl7v2' FOR UPDATE`,
      [system, value],
    );
    return rows[0] === undefined ? undefined : toStored(rows[0]);
  }

  /**
   * Directives of a person: anchored on the enterprise id or on a source record currently
   * MATCH-linked to it (consent_links), optionally of one status, oldest first.
   */
  async forPerson(q: Queryable, enterpriseId: string, status?: DirectiveStatus): Promise<StoredDirective[]> {
    // Two index paths (anchor_eid; consent_links by eid → anchor_system/value), not one OR.
    const rows = await q.query<DbRow[]>(
      `SELECT id, status, version, resource, compiled, updated_at FROM (
         SELECT d.id, d.status, d.version, d.resource, d.compiled, d.updated_at, d.recorded_at
           FROM consent_directives d
          WHERE d.anchor_eid = $1 AND ($2::text IS NULL OR d.status = $2)
         UNION ALL
         SELECT d.id, d.status, d.version, d.resource, d.compiled, d.updated_at, d.recorded_at
           FROM consent_links l
           JOIN consent_directives d ON d.anchor_system = l.system AND d.anchor_value = l.value
          WHERE l.enterprise_id = $1 AND l.state = 'MATCH' AND ($2::text IS NULL OR d.status = $2)
       ) person
       ORDER BY recorded_at, id`,
      [enterpriseId, status ?? null],
    );
    return rows.map(toStored);
  }

  /** Directives anchored on one source record. */
  async forSource(q: Queryable, system: string, value: string, status?: DirectiveStatus): Promise<StoredDirective[]> {
    const rows = await q.query<DbRow[]>(
      `SELECT id, status, version, resource, compiled, updated_at FROM consent_directives
        WHERE anchor_system = $1 AND anchor_value = $2 AND ($3::text IS NULL OR status = $3)
        ORDER BY recorded_at, id`,
      [system, value, status ?? null],
    );
    return rows.map(toStored);
  }

  /** Whether any directive hangs on the source record. */
  async sourceHasDirectives(q: Queryable, system: string, value: string): Promise<boolean> {
    const rows = await q.query<unknown[]>(
      `SELECT 1 FROM consent_directives WHERE anchor_system = $1 AND anchor_value = $2 LIMIT 1`,
      [system, value],
    );
    return rows.length > 0;
  }
}
