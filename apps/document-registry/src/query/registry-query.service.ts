import { Injectable } from '@nestjs/common';
import type { Coding } from '@medplum/fhirtypes';
import { DataSource } from 'typeorm';
import type { Visibility } from '@tessera/consent-policy';
import { linkConfidence } from '../links/patient-link.policy';
import type { LinkConfidence, LinkOrigin, LinkState } from '../links/patient-link.policy';
import type { IndexedItem, SeenVia } from './registry-item.presenter';
import type { PatientParam, SearchQuery } from './search-params';

export type SearchResource = IndexedItem['resourceType'];

/** A source record joined to the person asked about, and how. */
export interface LinkedSource {
  readonly system: string;
  readonly value: string;
  readonly confidence: LinkConfidence | null;
}

export interface ResolvedPatient {
  readonly enterpriseId: string | null;
  readonly sources: readonly LinkedSource[];
}

/** What the exchange needs to decide on one item before fetching it (`GET /_facts/...`). */
export interface ItemFacts {
  readonly resourceType: SearchResource;
  readonly id: string;
  /** The person the item's source record is linked to (MATCH links only), or null. */
  readonly enterpriseId: string | null;
  readonly sourceInstitution: string;
  readonly securityLabels: readonly { readonly system: string; readonly code: string }[];
}

/** One indexed resource's versions, with what the visibility check needs of its current row. */
export interface ResourceHistory {
  readonly enterpriseId: string | null;
  readonly institutionId: string;
  readonly labelCodes: readonly string[];
  readonly versions: readonly HistoryVersion[];
}

export interface SearchPage {
  readonly items: readonly IndexedItem[];
  readonly total: number;
}

interface LinkRow {
  readonly patient_system: string;
  readonly local_patient_id: string;
  readonly enterprise_id: string | null;
  readonly state: LinkState;
  readonly origin: LinkOrigin;
}

interface ItemRow {
  readonly id: string;
  readonly status: string;
  readonly institution_id: string;
  readonly patient_system: string;
  readonly local_patient_id: string;
  readonly source_message_id: string;
  readonly mapper_version: string;
  readonly effective_at: Date | null;
  readonly security_labels: Coding[];
  readonly resource: Record<string, unknown>;
  readonly confidence: LinkConfidence | null;
  readonly enc_class: string | null;
  readonly enc_type: string[] | null;
  readonly resource_type?: 'DiagnosticReport' | 'Observation';
  readonly content_sha256?: string;
  readonly seen_via?: SeenVia[] | null;
  readonly total: string;
}

export interface HistoryVersion {
  readonly version: number;
  readonly status: string;
  readonly resource: Readonly<Record<string, unknown>>;
  readonly recordedAt: string;
  readonly sourceMessageId: string;
  readonly institutionId: string;
  readonly securityLabels: readonly Coding[];
}

interface FactsRow {
  readonly id: string;
  readonly resource_type: SearchResource;
  readonly institution_id: string;
  readonly enterprise_id: string | null;
  readonly security_labels: Coding[];
}

interface HistoryRow {
  readonly enterprise_id: string | null;
  readonly label_codes: string[];
  readonly version: number;
  readonly status: string;
  readonly resource: Record<string, unknown>;
  readonly recorded_at: Date;
  readonly source_message_id: string;
  readonly institution_id: string;
  readonly security_labels: Coding[];
}

interface Table {
  readonly name: 'encounters' | 'documents' | 'results';
  /** Search parameter → how it filters this table. */
  readonly tokens: Readonly<Record<string, (alias: string, param: string) => string>>;
}

const overlap = (column: string) => (alias: string, param: string) =>
  `${alias}.${column} && ${param}::text[]`;

const TABLES: Readonly<Record<SearchResource, Table>> = {
  Encounter: {
    name: 'encounters',
    tokens: {
      type: overlap('type_tokens'),
      // Encounter.class is a Coding: `system|code` or `code` both match on the code.
      class: (a, p) =>
        `${a}.class_code = ANY (SELECT regexp_replace(c, '^.*\\|', '') FROM unnest(${p}::text[]) c)`,
    },
  },
  DocumentReference: {
    name: 'documents',
    tokens: {
      type: overlap('type_tokens'),
      category: overlap('category_tokens'),
      facility: overlap('facility_tokens'),
    },
  },
  DiagnosticReport: {
    name: 'results',
    tokens: { code: overlap('code_tokens'), category: overlap('category_tokens') },
  },
  Observation: {
    name: 'results',
    tokens: { code: overlap('code_tokens'), category: overlap('category_tokens') },
  },
};

/** Link states that join a source record to a person in queries. */
function joinedStates(includeProbable: boolean): LinkState[] {
  return includeProbable ? ['MATCH', 'POSSIBLE_MATCH'] : ['MATCH'];
}

/**
 * Read side of the index. Rows are keyed by source record; the person is resolved at query time
 * through `patient_links`, so a merge, unmerge or re-link changes every answer at once.
 */
@Injectable()
export class RegistryQueryService {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * `patient=` → the source records of that person. A source identifier linked to an enterprise id
   * expands to every record linked to it; one that is not linked (yet) stands for itself alone.
   */
  async resolvePatient(patient: PatientParam, includeProbable: boolean): Promise<ResolvedPatient> {
    const states = joinedStates(includeProbable);
    let enterpriseId: string;
    if (patient.kind === 'enterprise') {
      enterpriseId = patient.enterpriseId;
    } else {
      const own = await this.dataSource.query<LinkRow[]>(
        `SELECT patient_system, local_patient_id, enterprise_id, state, origin FROM patient_links
         WHERE patient_system = $1 AND local_patient_id = $2`,
        [patient.system, patient.value],
      );
      const row = own[0];
      if (row === undefined || row.enterprise_id === null || !states.includes(row.state)) {
        return {
          enterpriseId: null,
          sources: [{ system: patient.system, value: patient.value, confidence: null }],
        };
      }
      enterpriseId = row.enterprise_id;
    }
    const rows = await this.dataSource.query<LinkRow[]>(
      `SELECT patient_system, local_patient_id, enterprise_id, state, origin FROM patient_links
       WHERE enterprise_id = $1 AND state = ANY ($2::text[]) ORDER BY patient_system, local_patient_id`,
      [enterpriseId, states],
    );
    return {
      enterpriseId,
      sources: rows.map((r) => ({
        system: r.patient_system,
        value: r.local_patient_id,
        confidence: linkConfidence({ enterpriseId: r.enterprise_id, state: r.state, origin: r.origin }),
      })),
    };
  }

  /**
   * One page of `resourceType` rows of these source records matching the query and visible under
   * `visibility` (consent pushdown: filtered before paging, so `total` counts visible items only).
   */
  async search(
    resourceType: SearchResource,
    sources: readonly LinkedSource[],
    query: SearchQuery,
    visibility: Visibility,
  ): Promise<SearchPage> {
    if (sources.length === 0) return { items: [], total: 0 };
    const table = TABLES[resourceType];
    const params: unknown[] = [
      sources.map((s) => s.system),
      sources.map((s) => s.value),
      sources.map((s) => s.confidence),
    ];
    const bind = (value: unknown): string => {
      params.push(value);
      return `$${params.length}`;
    };
    const where: string[] = [visibleFilter('t', visibility, bind)];
    // A record joined only by a possible match (_includeProbable) may be another person, whose
    // consent the visibility was not decided on: only the requester's own records of it.
    where.push(
      `(src.confidence IS DISTINCT FROM 'probable' OR t.institution_id = ${bind(visibility.ownInstitution)})`,
    );
    if (table.name === 'results') where.push(`t.resource_type = ${bind(resourceType)}`);
    const status = query.tokens['status'];
    // Without `status`, only current results (cancelled, superseded, deleted stay in history).
    where.push(status === undefined ? 't.is_current' : `t.status = ANY (${bind(status)}::text[])`);
    for (const [name, values] of Object.entries(query.tokens)) {
      if (name === 'status') continue;
      const filter = table.tokens[name];
      if (filter === undefined) throw new Error(`search parameter ${name} has no column on ${table.name}`);
      where.push(filter('t', bind(values)));
    }
    for (const bound of query.dates)
      where.push(`t.effective_at ${bound.op} ${bind(bound.instant)}::timestamptz`);
    const direction = query.sort === 'date' ? 'ASC' : 'DESC';
    // A document's or result's linked encounter lends its class and type only when that encounter
    // is visible itself (its type or service type may be what labels it).
    const encounterVisible = table.name === 'encounters' ? 'true' : visibleFilter('e', visibility, bind);
    const encounterJoin =
      table.name === 'encounters'
        ? 't.class_code AS enc_class, t.type_tokens AS enc_type'
        : `CASE WHEN ${encounterVisible} THEN e.class_code END AS enc_class,
           CASE WHEN ${encounterVisible} THEN e.type_tokens END AS enc_type`;
    const filtered = `
      SELECT t.*, src.confidence, ${encounterJoin}
      FROM ${table.name} t
      JOIN unnest($1::text[], $2::text[], $3::text[]) AS src(patient_system, local_patient_id, confidence)
        ON src.patient_system = t.patient_system AND src.local_patient_id = t.local_patient_id
      ${table.name === 'encounters' ? '' : 'LEFT JOIN encounters e ON e.id = t.encounter_id'}
      WHERE ${where.join(' AND ')}`;
    const limit = bind(query.count);
    const offset = bind(query.offset);
    const sql =
      table.name === 'documents'
        ? // The same bytes reached through several feeds or messages are one entry: the first one
          // seen, with every route listed in seen-via.
          `WITH filtered AS (${filtered}),
           canonical AS (
             SELECT DISTINCT ON (content_sha256) * FROM filtered ORDER BY content_sha256, first_seen_at, id
           )
           SELECT c.*, COUNT(*) OVER () AS total,
             (SELECT jsonb_agg(jsonb_build_object('documentId', sv.document_id, 'institutionId', sv.institution_id,
                       'channel', sv.channel, 'sourceMessageId', sv.source_message_id) ORDER BY sv.seen_at, sv.document_id, sv.source_message_id)
                FROM seen_via sv
               WHERE sv.document_id IN (SELECT f.id FROM filtered f WHERE f.content_sha256 = c.content_sha256)) AS seen_via
           FROM canonical c
           ORDER BY c.effective_at ${direction} NULLS LAST, c.id
           LIMIT ${limit} OFFSET ${offset}`
        : `SELECT f.*, COUNT(*) OVER () AS total FROM (${filtered}) f
           ORDER BY f.effective_at ${direction} NULLS LAST, f.id
           LIMIT ${limit} OFFSET ${offset}`;
    const rows = await this.dataSource.query<ItemRow[]>(sql, params);
    const total =
      rows[0] === undefined ? await this.countWhenPastEnd(sql, params, query) : Number(rows[0].total);
    return { items: rows.map((row) => toItem(resourceType, row)), total };
  }

  /** A page past the end has no row to carry the window count: count with offset 0. */
  private async countWhenPastEnd(
    sql: string,
    params: readonly unknown[],
    query: SearchQuery,
  ): Promise<number> {
    if (query.offset === 0) return 0;
    const again = [...params];
    again[again.length - 1] = 0;
    const rows = await this.dataSource.query<{ total: string }[]>(sql, again);
    return rows[0] === undefined ? 0 : Number(rows[0].total);
  }

  /**
   * Everything current about one person across institutions (encounters, documents, reports,
   * observations), each page of each kind long enough to cover the requested page once merged.
   */
  async timeline(
    sources: readonly LinkedSource[],
    query: SearchQuery,
    visibility: Visibility,
  ): Promise<SearchPage> {
    const window: SearchQuery = { ...query, tokens: {}, offset: 0, count: query.offset + query.count };
    const kinds: SearchResource[] = ['Encounter', 'DocumentReference', 'DiagnosticReport', 'Observation'];
    const pages: SearchPage[] = [];
    for (const kind of kinds) pages.push(await this.search(kind, sources, window, visibility));
    return mergeTimeline(pages, query);
  }

  /**
   * Every version of one indexed resource, newest first (lifecycle history: a cancelled encounter
   * or a superseded document leaves current results but stays here), with the person and labels of
   * its current row for the visibility check. Undefined when unknown.
   */
  async history(resourceType: SearchResource, id: string): Promise<ResourceHistory | undefined> {
    const rows = await this.dataSource.query<HistoryRow[]>(
      `SELECT h.version, h.status, h.resource, h.recorded_at, h.source_message_id, t.institution_id,
              t.security_labels, t.label_codes, l.enterprise_id
       FROM resource_history h JOIN ${TABLES[resourceType].name} t ON t.id = h.resource_id
       LEFT JOIN patient_links l ON l.patient_system = t.patient_system
         AND l.local_patient_id = t.local_patient_id AND l.state = 'MATCH'
       WHERE h.resource_type = $1 AND h.resource_id = $2
       ORDER BY h.version DESC`,
      [resourceType, id],
    );
    const first = rows[0];
    if (first === undefined) return undefined;
    return {
      enterpriseId: first.enterprise_id,
      institutionId: first.institution_id,
      labelCodes: first.label_codes,
      versions: rows.map((r) => ({
        version: r.version,
        status: r.status,
        resource: r.resource,
        recordedAt: r.recorded_at.toISOString(),
        sourceMessageId: r.source_message_id,
        institutionId: r.institution_id,
        securityLabels: r.security_labels,
      })),
    };
  }

  /** Label codes of `institutionId`'s observations among `ids` (those indexed), by id. */
  async observationLabelCodes(
    institutionId: string,
    ids: readonly string[],
  ): Promise<ReadonlyMap<string, readonly string[]>> {
    if (ids.length === 0) return new Map();
    const rows = await this.dataSource.query<{ id: string; label_codes: string[] }[]>(
      `SELECT id, label_codes FROM results
       WHERE id = ANY ($1::text[]) AND resource_type = 'Observation' AND institution_id = $2`,
      [[...new Set(ids)], institutionId],
    );
    return new Map(rows.map((r) => [r.id, r.label_codes]));
  }

  /** Facts of one indexed resource (`GET /_facts/<type>/:id`); empty when unknown. */
  async factsOf(resourceType: SearchResource, id: string): Promise<readonly ItemFacts[]> {
    const table = TABLES[resourceType].name;
    const rows = await this.dataSource.query<FactsRow[]>(
      `SELECT t.id, $2::text AS resource_type, t.institution_id, t.security_labels, l.enterprise_id
       FROM ${table} t
       LEFT JOIN patient_links l ON l.patient_system = t.patient_system
         AND l.local_patient_id = t.local_patient_id AND l.state = 'MATCH'
       WHERE t.id = $1 ${table === 'results' ? 'AND t.resource_type = $2' : ''}`,
      [id, resourceType],
    );
    return rows.map(toFacts);
  }

  /** Facts of every document entry carrying these bytes (`GET /_facts/Binary/:sha256`), oldest first. */
  async factsOfContent(sha256: string): Promise<readonly ItemFacts[]> {
    const rows = await this.dataSource.query<FactsRow[]>(
      `SELECT t.id, 'DocumentReference' AS resource_type, t.institution_id, t.security_labels, l.enterprise_id
       FROM documents t
       LEFT JOIN patient_links l ON l.patient_system = t.patient_system
         AND l.local_patient_id = t.local_patient_id AND l.state = 'MATCH'
       WHERE t.content_sha256 = $1
       ORDER BY t.first_seen_at, t.id`,
      [sha256],
    );
    return rows.map(toFacts);
  }

  /** SHA-256 of a document's content (any lifecycle status), for `DocumentReference/:id/$content`. */
  async contentDigestOf(documentId: string): Promise<string | undefined> {
    const rows = await this.dataSource.query<{ content_sha256: string }[]>(
      'SELECT content_sha256 FROM documents WHERE id = $1',
      [documentId],
    );
    return rows[0]?.content_sha256;
  }
}

/**
 * The consent pushdown (design "Registry"): an item is visible iff it comes from the requester's
 * own institution, or others may see the person's data and none of its label codes is denied.
 */
function visibleFilter(alias: string, visibility: Visibility, bind: (value: unknown) => string): string {
  if (visibility.others === 'all' && visibility.deniedLabels.length === 0) return 'true';
  const own = `${alias}.institution_id = ${bind(visibility.ownInstitution)}`;
  if (visibility.others === 'none') return own;
  return `(${own} OR NOT (${alias}.label_codes && ${bind(visibility.deniedLabels)}::text[]))`;
}

function toFacts(row: FactsRow): ItemFacts {
  return {
    resourceType: row.resource_type,
    id: row.id,
    enterpriseId: row.enterprise_id,
    sourceInstitution: row.institution_id,
    securityLabels: row.security_labels
      .filter((l) => l.code !== undefined)
      .map((l) => ({ system: l.system ?? '', code: l.code ?? '' })),
  };
}

function toItem(resourceType: SearchResource, row: ItemRow): IndexedItem {
  return {
    resourceType: row.resource_type ?? resourceType,
    id: row.id,
    status: row.status,
    institutionId: row.institution_id,
    patientSystem: row.patient_system,
    localPatientId: row.local_patient_id,
    sourceMessageId: row.source_message_id,
    mapperVersion: row.mapper_version,
    effectiveAt: row.effective_at === null ? null : row.effective_at.toISOString(),
    securityLabels: row.security_labels,
    resource: row.resource,
    confidence: row.confidence,
    encounterClass: row.enc_class,
    encounterType: row.enc_type ?? [],
    ...(row.content_sha256 === undefined ? {} : { contentSha256: row.content_sha256 }),
    ...(row.seen_via === undefined || row.seen_via === null ? {} : { seenVia: row.seen_via }),
  };
}

/**
 * Merges per-resource pages into one timeline page: newest first (`_sort=-date`, default) or
 * oldest first, undated items last either way (as the SQL's NULLS LAST), ties by type/id.
 */
export function mergeTimeline(
  pages: readonly SearchPage[],
  query: Pick<SearchQuery, 'count' | 'offset' | 'sort'>,
): SearchPage {
  const sign = query.sort === 'date' ? 1 : -1;
  const all = pages.flatMap((p) => p.items);
  all.sort((a, b) => {
    if (a.effectiveAt !== b.effectiveAt) {
      if (a.effectiveAt === null) return 1;
      if (b.effectiveAt === null) return -1;
      const ka = Date.parse(a.effectiveAt);
      const kb = Date.parse(b.effectiveAt);
      if (ka !== kb) return sign * (ka - kb);
    }
    const ia = `${a.resourceType}/${a.id}`;
    const ib = `${b.resourceType}/${b.id}`;
    return ia < ib ? -1 : ia > ib ? 1 : 0;
  });
  return {
    items: all.slice(query.offset, query.offset + query.count),
    total: pages.reduce((sum, p) => sum + p.total, 0),
  };
}
