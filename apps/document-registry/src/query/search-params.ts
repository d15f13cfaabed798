/**
 * Pure parsing of FHIR R4 search parameters (http://hl7.org/fhir/R4/search.html) for the
 * registry's searches (IHE MHD ITI-67 for DocumentReference). Every problem names its parameter,
 * so the HTTP layer answers 400 with an OperationOutcome whose `expression` is that name. Values
 * are never echoed back (they may be identifiers of a patient).
 */
import {
  DIAGNOSTIC_REPORT_STATUSES,
  DOCUMENT_REFERENCE_STATUSES,
  ENCOUNTER_STATUSES,
  parseDate,
} from '@tessera/contracts';
import type { DateBound } from '@tessera/contracts';

// The FHIR `date` reading is shared with the other services' searches (libs/contracts).
export { dateRange, parseDate } from '@tessera/contracts';
export type { DateBound } from '@tessera/contracts';

/** `patient=`: an enterprise id (`E123` or `Patient/E123`) or a source identifier `system|value`. */
export type PatientParam =
  | { readonly kind: 'enterprise'; readonly enterpriseId: string }
  | { readonly kind: 'source'; readonly system: string; readonly value: string };


export interface SearchQuery {
  readonly patient: PatientParam | null;
  /** Token parameters: OR-list of search tokens (`system|code` or bare `code`) per parameter. */
  readonly tokens: Readonly<Record<string, readonly string[]>>;
  readonly dates: readonly DateBound[];
  readonly count: number;
  readonly offset: number;
  readonly sort: 'date' | '-date';
  /** Include source records joined by a possible match awaiting review (default: only MATCH). */
  readonly includeProbable: boolean;
}

export interface SearchSpec {
  readonly patientRequired: boolean;
  /** Token parameters accepted, with their allowed codes when the value set is closed. */
  readonly tokens: Readonly<Record<string, { readonly allowed?: readonly string[] }>>;
}

export interface ParamIssue {
  readonly parameter: string;
  readonly diagnostics: string;
}

export type ParseResult =
  | { readonly ok: true; readonly query: SearchQuery }
  | { readonly ok: false; readonly issues: readonly ParamIssue[] };

export const DEFAULT_COUNT = 50;
export const MAX_COUNT = 200;
/** Parameters every search accepts and ignores (FHIR §3.1.1.5.9 `_format`). */
const IGNORED = new Set(['_format', '_pretty']);

/** FHIR R4 value sets of the `status` parameters (libs/contracts). */
export const DOCUMENT_STATUSES = DOCUMENT_REFERENCE_STATUSES;
export { ENCOUNTER_STATUSES };
export const RESULT_STATUSES = DIAGNOSTIC_REPORT_STATUSES;

export const SEARCH_SPECS = {
  DocumentReference: {
    patientRequired: true,
    tokens: { type: {}, category: {}, facility: {}, status: { allowed: DOCUMENT_STATUSES } },
  },
  Encounter: {
    patientRequired: true,
    tokens: { class: {}, type: {}, status: { allowed: ENCOUNTER_STATUSES } },
  },
  DiagnosticReport: {
    patientRequired: true,
    tokens: { code: {}, category: {}, status: { allowed: RESULT_STATUSES } },
  },
  Observation: {
    patientRequired: true,
    tokens: { code: {}, category: {}, status: { allowed: RESULT_STATUSES } },
  },
  /** `Patient/:id/$timeline`: the patient comes from the path. */
  timeline: { patientRequired: false, tokens: {} },
} as const satisfies Record<string, SearchSpec>;

export function parsePatient(value: string): PatientParam | null {
  const trimmed = value.trim();
  const bar = trimmed.lastIndexOf('|');
  if (bar >= 0) {
    const system = trimmed.slice(0, bar);
    const local = trimmed.slice(bar + 1);
    if (system === '' || local === '') return null;
    return { kind: 'source', system, value: local };
  }
  const id = trimmed.startsWith('Patient/') ? trimmed.slice('Patient/'.length) : trimmed;
  // FHIR R4 id datatype: [A-Za-z0-9\-\.]{1,64}.
  return /^[A-Za-z0-9\-.]{1,64}$/.test(id) ? { kind: 'enterprise', enterpriseId: id } : null;
}


/** Token values of one parameter occurrence: comma-separated OR list (§3.1.1.4.6). */
function parseTokens(raw: string): string[] | null {
  const values = raw.split(',').map((v) => v.trim());
  if (values.some((v) => v === '' || v === '|' || v.endsWith('|'))) return null;
  // `|code` means "no system"; the index stores bare codes for system-less searches.
  return values.map((v) => (v.startsWith('|') ? v.slice(1) : v));
}

function parseInteger(raw: string, min: number, max: number): number | null {
  if (!/^\d+$/.test(raw)) return null;
  const n = Number(raw);
  return n >= min && n <= max ? n : null;
}

/** Parses a query string against a search's spec; unknown parameters are errors (strict handling). */
export function parseSearch(params: URLSearchParams, spec: SearchSpec): ParseResult {
  const issues: ParamIssue[] = [];
  let patient: PatientParam | null = null;
  const tokens: Record<string, string[]> = {};
  const dates: DateBound[] = [];
  let count = DEFAULT_COUNT;
  let offset = 0;
  let sort: 'date' | '-date' = '-date';
  let includeProbable = false;
  const once = new Set<string>();
  for (const [name, raw] of params) {
    if (IGNORED.has(name)) continue;
    const single = ['patient', '_count', '_offset', '_sort', '_includeProbable'].includes(name);
    if (single) {
      if (once.has(name)) {
        issues.push({ parameter: name, diagnostics: `parameter ${name} may appear once` });
        continue;
      }
      once.add(name);
    }
    if (name === 'patient' && spec.patientRequired) {
      patient = parsePatient(raw);
      if (patient === null) {
        issues.push({
          parameter: name,
          diagnostics: 'patient must be an enterprise id or system|value of a source identifier',
        });
      }
    } else if (name === 'date') {
      const bounds = parseDate(raw);
      if (bounds === null) {
        issues.push({
          parameter: name,
          diagnostics: 'date must be [eq|gt|ge|lt|le|sa|eb]YYYY[-MM[-DD[Thh:mm[:ss]±zz:zz]]]',
        });
      } else dates.push(...bounds);
    } else if (name === '_count') {
      const n = parseInteger(raw, 1, MAX_COUNT);
      if (n === null)
        issues.push({ parameter: name, diagnostics: `_count must be an integer from 1 to ${MAX_COUNT}` });
      else count = n;
    } else if (name === '_offset') {
      const n = parseInteger(raw, 0, 1_000_000);
      if (n === null) issues.push({ parameter: name, diagnostics: '_offset must be a non-negative integer' });
      else offset = n;
    } else if (name === '_sort') {
      if (raw === 'date' || raw === '-date') sort = raw;
      else issues.push({ parameter: name, diagnostics: '_sort must be date or -date' });
    } else if (name === '_includeProbable') {
      if (raw === 'true' || raw === 'false') includeProbable = raw === 'true';
      else issues.push({ parameter: name, diagnostics: '_includeProbable must be true or false' });
    } else if (Object.hasOwn(spec.tokens, name)) {
      const values = parseTokens(raw);
      const allowed = spec.tokens[name]?.allowed;
      if (values === null) {
        issues.push({
          parameter: name,
          diagnostics: `${name} must be a comma-separated list of code or system|code`,
        });
      } else if (allowed !== undefined && values.some((v) => !allowed.includes(v))) {
        issues.push({ parameter: name, diagnostics: `${name} must be one of ${allowed.join(', ')}` });
      } else {
        // Repeated parameters AND together; FHIR allows it, the index supports one list per name.
        const previous = tokens[name];
        tokens[name] = previous === undefined ? values : previous.filter((v) => values.includes(v));
      }
    } else {
      issues.push({ parameter: name, diagnostics: `unknown or unsupported search parameter ${name}` });
    }
  }
  if (spec.patientRequired && patient === null && !issues.some((i) => i.parameter === 'patient')) {
    issues.push({
      parameter: 'patient',
      diagnostics: 'patient is required: an enterprise id or system|value',
    });
  }
  if (issues.length > 0) return { ok: false, issues };
  return { ok: true, query: { patient, tokens, dates, count, offset, sort, includeProbable } };
}
