import type { Issue } from '@tessera/platform-service';

/** FHIR R4 id datatype (§2.24.0.1): what a path segment naming a resource may be. */
export const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;
/** Content address of a Binary: lowercase hex SHA-256. */
export const SHA256 = /^[0-9a-f]{64}$/;

export const MAX_PARAM_VALUE_LENGTH = 512;
export const MAX_PARAMS = 40;
const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_\-.:]{0,63}$/;
const CONTROL = /\p{Cc}/u;

/** How a parameter's value is checked at the exchange (the data services check semantics again). */
export type ParamKind = 'token' | 'reference' | 'date' | 'string' | 'number';

const VALUE_RULES: Partial<Record<ParamKind, { pattern: RegExp; expected: string }>> = {
  // FHIR R4 §3.1.1.4.2 prefixes and date/dateTime forms (semantic range checks stay with the registry).
  date: {
    pattern:
      /^(eq|ne|gt|lt|ge|le|sa|eb|ap)?\d{4}(-\d{2}(-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+ -]\d{2}:\d{2})?)?)?)?$/,
    expected: 'must be [prefix]YYYY[-MM[-DD[Thh:mm[:ss][zone]]]]',
  },
  number: { pattern: /^\d{1,7}$/, expected: 'must be a non-negative integer' },
  // No quotes, angle brackets, backslashes or whitespace runs in tokens and references.
  token: { pattern: /^[^'"<>\\`;]*$/, expected: 'contains characters not allowed in a token' },
  reference: { pattern: /^[^'"<>\\`;\s]+$/, expected: 'must be an enterprise id or system|value' },
  string: { pattern: /^[^"<>\\`;]*$/, expected: 'contains characters not allowed in a search string' },
};

/**
 * Checks the query string before anything is forwarded: names are FHIR-like parameter names,
 * values carry no control characters and stay under MAX_PARAM_VALUE_LENGTH, at most MAX_PARAMS
 * parameters, and only the names the route accepts (strict handling, FHIR §3.1.1.5.9). Returns the
 * issues (never echoing values) — empty when the query may be forwarded. Pure.
 */
export function checkSearchParams(
  params: URLSearchParams,
  accepted: ReadonlyMap<string, ParamKind>,
): Issue[] {
  const issues: Issue[] = [];
  let n = 0;
  for (const [name, value] of params) {
    n += 1;
    if (!PARAM_NAME.test(name)) {
      issues.push({ code: 'invalid', diagnostics: 'a search parameter name is malformed' });
      continue;
    }
    if (!accepted.has(name)) {
      issues.push({
        code: 'not-supported',
        diagnostics: `unknown or unsupported search parameter ${name}`,
        expression: name,
      });
      continue;
    }
    if (CONTROL.test(value)) {
      issues.push({ code: 'invalid', diagnostics: `${name} contains control characters`, expression: name });
    } else if (value.length > MAX_PARAM_VALUE_LENGTH) {
      issues.push({
        code: 'too-costly',
        diagnostics: `${name} is longer than ${MAX_PARAM_VALUE_LENGTH} characters`,
        expression: name,
      });
    } else {
      const kind = accepted.get(name) ?? 'string';
      const rule = VALUE_RULES[kind];
      if ((rule !== undefined && !rule.pattern.test(value)) || (kind === 'date' && !calendarValid(value))) {
        issues.push({
          code: 'value',
          diagnostics: `${name} ${rule?.expected ?? 'is malformed'}`,
          expression: name,
        });
      }
    }
  }
  if (n > MAX_PARAMS)
    issues.push({ code: 'too-costly', diagnostics: `at most ${MAX_PARAMS} search parameters` });
  return issues;
}

/** Month, day, hour, minute and second of a date parameter are within the calendar. */
function calendarValid(value: string): boolean {
  const m = /(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2}))?)?)?)?/.exec(value);
  if (m === null) return false;
  const [, y, mo, d, hh, mi, ss] = m;
  const month = mo === undefined ? 1 : Number(mo);
  if (month < 1 || month > 12) return false;
  if (d !== undefined) {
    const date = new Date(Date.UTC(Number(y), month - 1, Number(d)));
    if (date.getUTCMonth() !== month - 1 || date.getUTCDate() !== Number(d)) return false;
  }
  return Number(hh ?? 0) < 24 && Number(mi ?? 0) < 60 && Number(ss ?? 0) < 60;
}

/** The query string of a request URL (`/fhir/X?a=b`), parsed; never concatenated into a path. */
export function queryOf(originalUrl: string): URLSearchParams {
  const q = originalUrl.indexOf('?');
  return new URLSearchParams(q < 0 ? '' : originalUrl.slice(q + 1));
}

/** A copy of `params` without `names` (the exchange answers those itself, e.g. paging of PDQm). */
export function without(params: URLSearchParams, names: readonly string[]): URLSearchParams {
  const copy = new URLSearchParams();
  for (const [k, v] of params) if (!names.includes(k)) copy.append(k, v);
  return copy;
}

/** `patient=` of a clinical search: an enterprise id (`E1`, `Patient/E1`) or a source identifier `system|value`. */
export type PatientRef =
  | { readonly kind: 'enterprise'; readonly enterpriseId: string }
  | { readonly kind: 'source'; readonly system: string; readonly value: string };

export function parsePatientRef(raw: string): PatientRef | null {
  const trimmed = raw.trim();
  const bar = trimmed.lastIndexOf('|');
  if (bar >= 0) {
    const system = trimmed.slice(0, bar);
    const value = trimmed.slice(bar + 1);
    if (system === '' || value === '' || system.includes('|')) return null;
    return { kind: 'source', system, value };
  }
  const id = trimmed.startsWith('Patient/') ? trimmed.slice('Patient/'.length) : trimmed;
  return FHIR_ID.test(id) ? { kind: 'enterprise', enterpriseId: id } : null;
}
