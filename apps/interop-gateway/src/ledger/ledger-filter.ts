import { z } from 'zod';
import type { Issue } from '@tessera/platform-service';
import { issuesFromZod } from '@tessera/platform-service';
import type { LedgerState } from './ledger-message';

export const LEDGER_STATES: readonly LedgerState[] = [
  'received',
  'published',
  'mapped',
  'failed',
  'rejected',
  'unparseable',
];
/** States a replay may re-map: the message was accepted (ACKed positively) and is on Kafka. */
export const REPLAYABLE_STATES: readonly LedgerState[] = ['published', 'mapped', 'failed'];

/** Which ledger messages an operator means (search and filtered replay share it). */
export interface LedgerFilter {
  readonly facility?: string;
  readonly institution?: string;
  /** "ADT^A01" exact, or "ADT" for every trigger of ADT. */
  readonly type?: string;
  readonly controlId?: string;
  readonly states?: readonly LedgerState[];
  /** received_at ≥ from */
  readonly from?: Date;
  /** received_at < to */
  readonly to?: Date;
}

export interface LedgerCursor {
  /** received_at in microseconds precision, ISO text (as Postgres keeps it). */
  readonly receivedAt: string;
  readonly id: string;
}

export interface LedgerPage {
  readonly limit: number;
  readonly cursor?: LedgerCursor;
}

export type Parsed<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly issues: readonly Issue[] };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const text = z.string().trim().min(1, 'must not be empty').max(200, 'at most 200 characters');
/** An ISO 8601 instant with offset, or a date (midnight UTC). */
const instant = z
  .string()
  .trim()
  .refine((v) => /^\d{4}-\d{2}-\d{2}$/.test(v) || z.iso.datetime({ offset: true }).safeParse(v).success, {
    message: 'expected an ISO 8601 date (2024-05-01) or date-time with offset (2024-05-01T08:30:00Z)',
  })
  .transform((v) => new Date(/^\d{4}-\d{2}-\d{2}$/.test(v) ? `${v}T00:00:00Z` : v));
const states = z
  .union([z.string(), z.array(z.string())])
  .transform((v) =>
    (Array.isArray(v) ? v : [v])
      .flatMap((s) => s.split(','))
      .map((s) => s.trim())
      .filter((s) => s !== ''),
  )
  .pipe(z.array(z.enum(LEDGER_STATES as [LedgerState, ...LedgerState[]])).min(1, 'name at least one state'));

const filterFields = {
  facility: text.optional(),
  institution: text.optional(),
  type: text
    .regex(
      /^[A-Za-z0-9]{2,20}(\^[A-Za-z0-9_]{1,20})?$/,
      'expected a message type like ADT or ADT^A01 (MSH-9.1^MSH-9.2), or FHIR^transaction',
    )
    .optional(),
  controlId: text.optional(),
  state: states.optional(),
  from: instant.optional(),
  to: instant.optional(),
};

const searchSchema = z.strictObject({
  ...filterFields,
  limit: z
    .string()
    .regex(/^\d+$/, 'expected a whole number 1-500')
    .transform(Number)
    .pipe(z.number().int().min(1, 'expected a whole number 1-500').max(500, 'expected a whole number 1-500'))
    .optional(),
  cursor: z.string().optional(),
});

const replaySchema = z.strictObject(filterFields);

function one(value: unknown): unknown {
  // Express gives repeated query parameters as arrays; only `state` may repeat.
  return Array.isArray(value) && value.length === 1 ? value[0] : value;
}

function toFilter(data: z.output<typeof replaySchema>): LedgerFilter {
  return {
    ...(data.facility === undefined ? {} : { facility: data.facility }),
    ...(data.institution === undefined ? {} : { institution: data.institution }),
    ...(data.type === undefined ? {} : { type: data.type }),
    ...(data.controlId === undefined ? {} : { controlId: data.controlId }),
    ...(data.state === undefined ? {} : { states: [...new Set(data.state)].sort() }),
    ...(data.from === undefined ? {} : { from: data.from }),
    ...(data.to === undefined ? {} : { to: data.to }),
  };
}

function rangeIssues(filter: LedgerFilter): Issue[] {
  if (filter.from !== undefined && filter.to !== undefined && filter.from >= filter.to) {
    return [{ code: 'invalid', expression: 'to', diagnostics: '`to` must be later than `from`' }];
  }
  return [];
}

export function encodeCursor(cursor: LedgerCursor): string {
  return Buffer.from(`${cursor.receivedAt}|${cursor.id}`, 'utf8').toString('base64url');
}

export function decodeCursor(value: string): LedgerCursor | undefined {
  const [receivedAt, id, ...rest] = Buffer.from(value, 'base64url').toString('utf8').split('|');
  if (rest.length > 0 || receivedAt === undefined || id === undefined || !UUID.test(id)) return undefined;
  if (Number.isNaN(Date.parse(receivedAt))) return undefined;
  return { receivedAt, id };
}

/** `GET /ledger/messages` query parameters → filter and page; each bad parameter is one issue naming it. */
export function parseSearchQuery(
  query: Readonly<Record<string, unknown>>,
): Parsed<{ filter: LedgerFilter; page: LedgerPage }> {
  const input = Object.fromEntries(Object.entries(query).map(([k, v]) => [k, k === 'state' ? v : one(v)]));
  const result = searchSchema.safeParse(input);
  if (!result.success) {
    return {
      ok: false,
      issues: issuesFromZod(result.error, '').map((i) => ({
        ...i,
        expression: i.expression?.split(/[.[]/)[0] ?? '',
      })),
    };
  }
  const filter = toFilter(result.data);
  const issues = rangeIssues(filter);
  let cursor: LedgerCursor | undefined;
  if (result.data.cursor !== undefined) {
    cursor = decodeCursor(result.data.cursor);
    if (cursor === undefined)
      issues.push({
        code: 'invalid',
        expression: 'cursor',
        diagnostics: 'not a cursor of this API: use `next` from a previous page',
      });
  }
  if (issues.length > 0) return { ok: false, issues };
  return {
    ok: true,
    value: { filter, page: { limit: result.data.limit ?? 50, ...(cursor === undefined ? {} : { cursor }) } },
  };
}

/** `POST /ledger/replays` body → filter of replayable messages (states default to every replayable one). */
export function parseReplayFilter(body: unknown): Parsed<LedgerFilter> {
  const result = replaySchema.safeParse(body ?? {});
  if (!result.success) return { ok: false, issues: issuesFromZod(result.error, '') };
  const filter = toFilter(result.data);
  const issues = rangeIssues(filter);
  const notReplayable = (filter.states ?? []).filter((s) => !REPLAYABLE_STATES.includes(s));
  if (notReplayable.length > 0) {
    issues.push({
      code: 'invalid',
      expression: 'state',
      diagnostics: `only ${REPLAYABLE_STATES.join(', ')} messages can be replayed (rejected and unparseable ones were never accepted)`,
    });
  }
  if (issues.length > 0) return { ok: false, issues };
  return { ok: true, value: { ...filter, states: filter.states ?? [...REPLAYABLE_STATES] } };
}

/** A stable text of a filter: equal filters → equal keys (one active replay job per key). */
export function filterKey(filter: LedgerFilter): string {
  return JSON.stringify({
    facility: filter.facility ?? null,
    institution: filter.institution ?? null,
    type: filter.type ?? null,
    controlId: filter.controlId ?? null,
    states: filter.states ?? null,
    from: filter.from?.toISOString() ?? null,
    to: filter.to?.toISOString() ?? null,
  });
}

/** JSON form of a filter (stored with replay jobs) and back. */
export function filterToJson(filter: LedgerFilter): Record<string, unknown> {
  return JSON.parse(filterKey(filter)) as Record<string, unknown>;
}

export function filterFromJson(json: Readonly<Record<string, unknown>>): LedgerFilter {
  const str = (k: string) => (typeof json[k] === 'string' ? json[k] : undefined);
  const states = Array.isArray(json['states']) ? (json['states'] as LedgerState[]) : undefined;
  const from = str('from');
  const to = str('to');
  return toFilter({
    facility: str('facility'),
    institution: str('institution'),
    type: str('type'),
    controlId: str('controlId'),
    state: states,
    from: from === undefined ? undefined : new Date(from),
    to: to === undefined ? undefined : new Date(to),
  });
}

/** SQL conditions (AND-ed) and their parameters, numbered from `$first`. */
export function filterSql(
  filter: LedgerFilter,
  first = 1,
): { readonly conditions: string[]; readonly params: unknown[] } {
  const conditions: string[] = [];
  const params: unknown[] = [];
  const add = (sql: (n: string) => string, value: unknown) => {
    params.push(value);
    conditions.push(sql(`$${first + params.length - 1}`));
  };
  if (filter.facility !== undefined) add((n) => `sending_facility = ${n}`, filter.facility);
  if (filter.institution !== undefined) add((n) => `institution_id = ${n}`, filter.institution);
  if (filter.type !== undefined) {
    if (filter.type.includes('^')) add((n) => `message_type = ${n}`, filter.type);
    else add((n) => `message_type LIKE ${n}`, `${filter.type}^%`);
  }
  if (filter.controlId !== undefined) add((n) => `control_id = ${n}`, filter.controlId);
  if (filter.states !== undefined) add((n) => `state = ANY(${n}::text[])`, filter.states);
  if (filter.from !== undefined) add((n) => `received_at >= ${n}`, filter.from);
  if (filter.to !== undefined) add((n) => `received_at < ${n}`, filter.to);
  return { conditions, params };
}

export function isUuid(value: string): boolean {
  return UUID.test(value);
}
