/**
 * Pure parsing of `GET /AuditEvent` search parameters (FHIR R4 http://hl7.org/fhir/R4/auditevent.html#search,
 * search rules http://hl7.org/fhir/R4/search.html). Every problem names its parameter; values are
 * never echoed (they may be patient identifiers).
 */
import { parseDate } from '@tessera/contracts';
import type { DateBound } from '@tessera/contracts';

// The FHIR `date` reading is shared with the other services' searches (libs/contracts).
export { dateRange, parseDate } from '@tessera/contracts';
export type { DateBound } from '@tessera/contracts';
import { AUDIT_TYPES, auditTypeOfToken } from './audit-event.presenter';
import type { AuditType } from './audit-event.presenter';


export interface AuditSearchQuery {
  /** Enterprise id (`patient=E1` or `patient=Patient/E1`). */
  readonly patient: string | null;
  readonly dates: readonly DateBound[];
  readonly types: readonly AuditType[];
  readonly subtypes: readonly string[];
  readonly outcomes: readonly string[];
  readonly count: number;
  readonly offset: number;
}

export interface ParamIssue {
  readonly parameter: string;
  readonly diagnostics: string;
}

export type AuditSearchParse =
  | { readonly ok: true; readonly query: AuditSearchQuery }
  | { readonly ok: false; readonly issues: readonly ParamIssue[] };

export const DEFAULT_COUNT = 50;
export const MAX_COUNT = 500;
const MAX_OFFSET = 100_000;
const OUTCOMES = ['0', '4', '8', '12'];
const IGNORED = new Set(['_format', '_pretty']);


/** `patient=`: an enterprise id, bare or as `Patient/<id>` (FHIR id: [A-Za-z0-9\-.]{1,64}). */
export function parsePatient(value: string): string | null {
  const id = value.startsWith('Patient/') ? value.slice('Patient/'.length) : value;
  return /^[A-Za-z0-9\-.]{1,64}$/.test(id) ? id : null;
}

function tokens(raw: string): string[] {
  return raw.split(',').map((v) => v.trim());
}

function integer(raw: string, min: number, max: number): number | null {
  if (!/^\d+$/.test(raw)) return null;
  const n = Number(raw);
  return n >= min && n <= max ? n : null;
}

/** Parses the query string; unknown parameters are errors (strict handling, §3.1.1.5.4). */
export function parseAuditSearch(params: URLSearchParams): AuditSearchParse {
  const issues: ParamIssue[] = [];
  let patient: string | null = null;
  const dates: DateBound[] = [];
  const types: AuditType[] = [];
  const subtypes: string[] = [];
  const outcomes: string[] = [];
  let count = DEFAULT_COUNT;
  let offset = 0;
  const once = new Set<string>();
  for (const [name, raw] of params) {
    if (IGNORED.has(name)) continue;
    if (['patient', '_count', '_offset'].includes(name)) {
      if (once.has(name)) {
        issues.push({ parameter: name, diagnostics: `parameter ${name} may appear once` });
        continue;
      }
      once.add(name);
    }
    switch (name) {
      case 'patient':
        patient = parsePatient(raw.trim());
        if (patient === null)
          issues.push({ parameter: name, diagnostics: 'patient must be an enterprise id (or Patient/<id>)' });
        break;
      case 'date': {
        const bounds = parseDate(raw.trim());
        if (bounds === null) {
          issues.push({
            parameter: name,
            diagnostics: 'date must be [eq|ge|gt|le|lt|sa|eb]YYYY[-MM[-DD[Thh:mm[:ss[.sss]]Z|±hh:mm]]]',
          });
        } else dates.push(...bounds);
        break;
      }
      case 'type':
        for (const token of tokens(raw)) {
          const type = auditTypeOfToken(token);
          if (type === undefined)
            issues.push({
              parameter: name,
              diagnostics: `type must be one of ${AUDIT_TYPES.join(', ')} (or a coding of one)`,
            });
          else types.push(type);
        }
        break;
      case 'subtype':
        for (const token of tokens(raw)) {
          const code = token.includes('|') ? token.slice(token.lastIndexOf('|') + 1) : token;
          if (!/^[A-Za-z0-9\-.$_]{1,80}$/.test(code))
            issues.push({ parameter: name, diagnostics: 'subtype must be a code' });
          else subtypes.push(code);
        }
        break;
      case 'outcome':
        for (const token of tokens(raw)) {
          const code = token.includes('|') ? token.slice(token.lastIndexOf('|') + 1) : token;
          if (!OUTCOMES.includes(code))
            issues.push({ parameter: name, diagnostics: 'outcome must be 0, 4, 8 or 12' });
          else outcomes.push(code);
        }
        break;
      case '_count': {
        const n = integer(raw, 0, MAX_COUNT);
        if (n === null)
          issues.push({ parameter: name, diagnostics: `_count must be an integer from 0 to ${MAX_COUNT}` });
        else count = n;
        break;
      }
      case '_offset': {
        const n = integer(raw, 0, MAX_OFFSET);
        if (n === null)
          issues.push({ parameter: name, diagnostics: `_offset must be an integer from 0 to ${MAX_OFFSET}` });
        else offset = n;
        break;
      }
      default:
        issues.push({ parameter: name, diagnostics: 'unknown search parameter for AuditEvent' });
    }
  }
  if (issues.length > 0) return { ok: false, issues };
  return { ok: true, query: { patient, dates, types, subtypes, outcomes, count, offset } };
}
