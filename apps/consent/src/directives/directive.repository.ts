import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { Consent } from '@tessera/contracts';
import type { ConsentAnchor, ConsentDirective, DirectiveStatus } from '@tessera/consent-policy';

/** One stored directive: the FHIR Consent as accepted and the directive compiled from it. */
export interface StoredDirective {
  readonly directive: ConsentDirective;
  readonly resource: Consent;
  readonly updatedAt: string;
  /** The institution that recorded it (only it, or a privacy officer, may change it); null: a regional operator. */
  readonly owner: string | null;
  /** Feed-managed (PD1-12) directives: the newest message time they reflect; undefined when none recorded. */
  readonly feedMessageTime?: string | undefined;
  /**
   * Set by `forPerson`: the directive reaches the person only through a record it covers (anchored
   * on another enterprise id), so only its restrictions apply to them (`restrictionsOnly`).
   */
  readonly coveredOnly?: boolean;
}

/** Who made a version: the client (and its institution) and, for a privacy officer's override, why. */
export interface Revision {
  readonly revisedBy: string;
  readonly reason?: string | undefined;
}

interface DbRow {
  id: string;
  status: DirectiveStatus;
  version: number;
  resource: Consent;
  compiled: ConsentDirective;
  updated_at: Date;
  owner_institution: string | null;
  feed_message_time?: Date | null | undefined;
  covered_only?: boolean;
}

type Queryable = Pick<EntityManager, 'query'>;

function toStored(r: DbRow): StoredDirective {
  return {
    directive: r.compiled,
    resource: r.resource,
    updatedAt: r.updated_at.toISOString(),
    owner: r.owner_institution,
    ...(r.feed_message_time === null || r.feed_message_time === undefined
      ? {}
      : { feedMessageTime: r.feed_message_time.toISOString() }),
    ...(r.covered_only === true ? { coveredOnly: true } : {}),
  };
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
  async insert(
    tx: EntityManager,
    directive: ConsentDirective,
    resource: Consent,
    owner: string | null,
    revision: Revision,
  ): Promise<void> {
    const [kind, eid, system, value] = anchorColumns(directive.anchor);
    await tx.query(
      `INSERT INTO consent_directives
         (id, anchor_kind, anchor_eid, anchor_system, anchor_value, status, version, resource, compiled, source, recorded_by, recorded_at,
          owner_institution)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9::jsonb, $10, $11, $12, $13)`,
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
        owner,
      ],
    );
    await this.history(tx, directive, resource, revision);
  }

  /**
   * Replaces the current version (the caller checked the expected version under FOR UPDATE). The
   * owner never changes.
   */
  async update(
    tx: EntityManager,
    directive: ConsentDirective,
    resource: Consent,
    revision: Revision,
  ): Promise<void> {
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
    await this.history(tx, directive, resource, revision);
  }

  private async history(
    tx: EntityManager,
    directive: ConsentDirective,
    resource: Consent,
    revision: Revision,
  ): Promise<void> {
    await tx.query(
      `INSERT INTO consent_directive_history (id, version, status, resource, compiled, recorded_by, revised_by, revision_reason)
       VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6, $7, $8)`,
      [
        directive.id,
        directive.version,
        directive.status,
        JSON.stringify(resource),
        JSON.stringify(directive),
        directive.recordedBy,
        revision.revisedBy,
        revision.reason ?? null,
      ],
    );
  }

  async find(q: Queryable, id: string, forUpdate = false): Promise<StoredDirective | undefined> {
    const rows = await q.query<DbRow[]>(
      `SELECT id, status, version, resource, compiled, updated_at, owner_institution FROM consent_directives WHERE id = $1${forUpdate ? ' FOR UPDATE' : ''}`,
      [id],
    );
    return rows[0] === undefined ? undefined : toStored(rows[0]);
  }

  /** The feed-managed (PD1-12) directive of a source record, locked. */
  async findHl7v2(tx: EntityManager, system: string, value: string): Promise<StoredDirective | undefined> {
    const rows = await tx.query<DbRow[]>(
      `SELECT id, status, version, resource, compiled, updated_at, owner_institution, feed_message_time FROM consent_directives
        WHERE anchor_system = $1 AND anchor_value = $2 AND source = 'hl7v2' FOR UPDATE`,
      [system, value],
    );
    return rows[0] === undefined ? undefined : toStored(rows[0]);
  }

  /** Moves a feed-managed directive's message time forward to `messageTime` (never back). */
  async recordFeedMessageTime(tx: EntityManager, id: string, messageTime: string): Promise<void> {
    await tx.query(
      `UPDATE consent_directives
          SET feed_message_time = GREATEST(COALESCE(feed_message_time, $2::timestamptz), $2::timestamptz)
        WHERE id = $1`,
      [id, messageTime],
    );
  }

  /**
   * Directives of a person: anchored on the enterprise id, on a source record currently MATCH-linked
   * to it (consent_links), or covering such a record (consent_directive_coverage: an eid-anchored
   * directive follows the records it covered through merges and unmerges), optionally of one
   * status, oldest first. `coveredOnly` marks those reaching the person only through coverage.
   */
  async forPerson(q: Queryable, enterpriseId: string, status?: DirectiveStatus): Promise<StoredDirective[]> {
    // Three index paths (anchor_eid; consent_links by eid → anchor_system/value; → coverage), not one OR.
    const rows = await q.query<DbRow[]>(
      `SELECT d.id, d.status, d.version, d.resource, d.compiled, d.updated_at, d.owner_institution,
              NOT (COALESCE(d.anchor_eid = $1, false) OR EXISTS (
                SELECT 1 FROM consent_links la
                 WHERE la.system = d.anchor_system AND la.value = d.anchor_value
                   AND la.enterprise_id = $1 AND la.state = 'MATCH')) AS covered_only
         FROM consent_directives d
        WHERE ($2::text IS NULL OR d.status = $2)
          AND d.id IN (
            SELECT id FROM consent_directives WHERE anchor_eid = $1
            UNION
            SELECT d2.id
              FROM consent_links l
              JOIN consent_directives d2 ON d2.anchor_system = l.system AND d2.anchor_value = l.value
             WHERE l.enterprise_id = $1 AND l.state = 'MATCH'
            UNION
            SELECT c.directive_id
              FROM consent_links l
              JOIN consent_directive_coverage c ON c.system = l.system AND c.value = l.value
             WHERE l.enterprise_id = $1 AND l.state = 'MATCH')
        ORDER BY d.recorded_at, d.id`,
      [enterpriseId, status ?? null],
    );
    return rows.map(toStored);
  }

  /**
   * Adds to an eid-anchored directive's coverage the source records MATCH-linked to the enterprise
   * id now (kept from earlier versions too: when in doubt, the more restrictive). The link rows are
   * share-locked, so a concurrent link move of one of them either commits first (the record is not
   * covered: it had left) or waits and then sees the coverage (and raises both persons' versions).
   */
  async recordCoverage(tx: EntityManager, directiveId: string, enterpriseId: string): Promise<void> {
    await tx.query(
      `INSERT INTO consent_directive_coverage (directive_id, system, value)
       SELECT $1, l.system, l.value FROM (
         SELECT system, value FROM consent_links
          WHERE enterprise_id = $2 AND state = 'MATCH'
          ORDER BY system, value FOR SHARE) l
       ON CONFLICT (directive_id, system, value) DO NOTHING`,
      [directiveId, enterpriseId],
    );
  }

  /**
   * The enterprise ids the records covered by a directive are MATCH-linked to now (their link rows
   * share-locked until commit): persons whose policy changes with the directive besides its anchor.
   */
  async coveredPersons(tx: EntityManager, directiveId: string): Promise<string[]> {
    const rows = await tx.query<{ enterprise_id: string }[]>(
      `SELECT l.enterprise_id
         FROM consent_directive_coverage c
         JOIN consent_links l ON l.system = c.system AND l.value = c.value
        WHERE c.directive_id = $1 AND l.state = 'MATCH' AND l.enterprise_id IS NOT NULL
        ORDER BY l.system, l.value
          FOR SHARE OF l`,
      [directiveId],
    );
    return [...new Set(rows.map((r) => r.enterprise_id))];
  }

  /**
   * Directives awaiting a privacy officer's review (`proposed` with a provision marked
   * reviewRequired by the consent service), oldest first.
   */
  async awaitingReview(q: Queryable, limit: number): Promise<StoredDirective[]> {
    const rows = await q.query<DbRow[]>(
      `SELECT id, status, version, resource, compiled, updated_at, owner_institution FROM consent_directives
        WHERE status = 'proposed' AND compiled->'provisions' @> '[{"reviewRequired": true}]'::jsonb
        ORDER BY recorded_at, id LIMIT $1`,
      [limit],
    );
    return rows.map(toStored);
  }

  /** Directives anchored on one source record. */
  async forSource(
    q: Queryable,
    system: string,
    value: string,
    status?: DirectiveStatus,
  ): Promise<StoredDirective[]> {
    const rows = await q.query<DbRow[]>(
      `SELECT id, status, version, resource, compiled, updated_at, owner_institution FROM consent_directives
        WHERE anchor_system = $1 AND anchor_value = $2 AND ($3::text IS NULL OR status = $3)
        ORDER BY recorded_at, id`,
      [system, value, status ?? null],
    );
    return rows.map(toStored);
  }

  /** Whether any directive hangs on the source record or covers it (consent_directive_coverage). */
  async sourceHasDirectives(q: Queryable, system: string, value: string): Promise<boolean> {
    const rows = await q.query<unknown[]>(
      `SELECT 1 FROM consent_directives WHERE anchor_system = $1 AND anchor_value = $2
       UNION ALL
       SELECT 1 FROM consent_directive_coverage WHERE system = $1 AND value = $2
       LIMIT 1`,
      [system, value],
    );
    return rows.length > 0;
  }
}
