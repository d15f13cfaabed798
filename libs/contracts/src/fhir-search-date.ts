/**
 * FHIR search `date` parameters (R4 §3.1.1.4.2 prefixes, §2.24.0.2 precision ranges) as half-open
 * bounds on an instant: the one reading shared by every service's search (registry, audit store).
 */

/** A half-open bound on the resource's date: `>=` start or `<` end (instants in UTC). */
export interface DateBound {
  readonly op: '>=' | '<';
  readonly instant: string;
}

/** FHIR date/dateTime forms (§2.24.0.2 precision ranges). */
const DATE_RE =
  /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?)?)?$/;

/** The range [start, end) a FHIR date value denotes at its precision; dates without a time are UTC. */
export function dateRange(value: string): { readonly start: Date; readonly end: Date } | null {
  const m = DATE_RE.exec(value);
  if (m === null) return null;
  const [, y, mo, d, hh, mi, ss, fraction] = m;
  const year = Number(y);
  if (mo === undefined)
    return { start: new Date(Date.UTC(year, 0, 1)), end: new Date(Date.UTC(year + 1, 0, 1)) };
  const month = Number(mo) - 1;
  if (month < 0 || month > 11) return null;
  if (d === undefined)
    return { start: new Date(Date.UTC(year, month, 1)), end: new Date(Date.UTC(year, month + 1, 1)) };
  const day = Number(d);
  const start = new Date(Date.UTC(year, month, day));
  if (start.getUTCMonth() !== month || start.getUTCDate() !== day) return null;
  if (hh === undefined) return { start, end: new Date(Date.UTC(year, month, day + 1)) };
  const instant = new Date(value);
  if (Number.isNaN(instant.getTime()) || Number(hh) > 23 || Number(mi) > 59 || Number(ss ?? '0') > 59)
    return null;
  const step = fraction !== undefined ? 1 : ss === undefined ? 60_000 : 1_000;
  return { start: instant, end: new Date(instant.getTime() + step) };
}

/** `date=[prefix]value` with the prefixes eq, gt, ge, lt, le, sa, eb (§3.1.1.4.2) as bounds. */
export function parseDate(raw: string): readonly DateBound[] | null {
  // An unencoded `+` of a UTC offset arrives as a space.
  const m = /^(eq|gt|ge|lt|le|sa|eb)?(.+)$/.exec(raw.replace(' ', '+'));
  if (m === null) return null;
  const range = dateRange(m[2] ?? '');
  if (range === null) return null;
  const start = range.start.toISOString();
  const end = range.end.toISOString();
  switch (m[1] ?? 'eq') {
    case 'eq':
      return [
        { op: '>=', instant: start },
        { op: '<', instant: end },
      ];
    case 'ge':
      return [{ op: '>=', instant: start }];
    case 'gt':
    case 'sa':
      return [{ op: '>=', instant: end }];
    case 'le':
      return [{ op: '<', instant: end }];
    case 'lt':
    case 'eb':
      return [{ op: '<', instant: start }];
    default:
      return null;
  }
}
