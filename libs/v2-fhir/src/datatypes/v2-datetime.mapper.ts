/**
 * HL7 v2 DTM / TS / DT (Chapter 2A: YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]) -> FHIR R4
 * date / dateTime / instant (§2.24.0.1 primitive types). FHIR requires a time zone whenever a time
 * is present, and seconds with it; v2 allows both to be absent.
 */
const DTM = /^(\d{4})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:(\d{2})(\.\d{1,4})?)?)?)?)?)?([+-]\d{4})?$/;

export interface FhirDateTime {
  /** FHIR date or dateTime text. */
  readonly value: string;
  /** True when value carries a time (and so a time zone): usable as an instant. */
  readonly hasTime: boolean;
  /** True when the v2 value had a time but no offset was known, so the time was dropped. */
  readonly timeDropped: boolean;
}

/** "+0800" -> "+08:00"; undefined when malformed. */
export function normalizeUtcOffset(offset: string): string | undefined {
  const m = /^([+-])(\d{2}):?(\d{2})$/.exec(offset);
  if (m === null) return undefined;
  const hours = Number(m[2]);
  const minutes = Number(m[3]);
  if (hours > 14 || minutes > 59) return undefined;
  return `${m[1]}${m[2]}:${m[3]}`;
}

/** The UTC offset of a v2 timestamp ("20240501083000+0800" -> "+08:00"), if it has one. */
export function utcOffsetOf(raw: string): string | undefined {
  const m = DTM.exec(raw.trim());
  return m?.[8] === undefined ? undefined : normalizeUtcOffset(m[8]);
}

/**
 * Converts a v2 timestamp. `fallbackOffset` ("+08:00") applies when the value has no offset of its
 * own (the sender's local time: MSH-7's offset, else the institution's configured one).
 * Returns undefined when the text is not a valid v2 DTM.
 */
export function v2DateTimeToFhir(raw: string, fallbackOffset: string | undefined): FhirDateTime | undefined {
  const m = DTM.exec(raw.trim());
  if (m === null) return undefined;
  const [, year, month, day, hour, minute, second, fraction, offset] = m;
  if (month !== undefined && (Number(month) < 1 || Number(month) > 12)) return undefined;
  if (day !== undefined && (Number(day) < 1 || Number(day) > daysIn(Number(year), Number(month))))
    return undefined;
  if (hour !== undefined && Number(hour) > 23) return undefined;
  if (minute !== undefined && Number(minute) > 59) return undefined;
  if (second !== undefined && Number(second) > 59) return undefined;

  let date = year;
  if (month !== undefined) date += `-${month}`;
  if (day !== undefined) date += `-${day}`;
  if (hour === undefined || day === undefined) return { value: date, hasTime: false, timeDropped: false };

  const zone = offset !== undefined ? normalizeUtcOffset(offset) : fallbackOffset;
  if (zone === undefined) return { value: date, hasTime: false, timeDropped: true };
  const time = `${hour}:${minute ?? '00'}:${second ?? '00'}${second !== undefined && fraction !== undefined ? fraction : ''}`;
  return { value: `${date}T${time}${zone === '+00:00' ? 'Z' : zone}`, hasTime: true, timeDropped: false };
}

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** v2 TM (HH[MM[SS[.S...]]][+/-ZZZZ]) -> FHIR time (hh:mm:ss); undefined when malformed. */
export function v2TimeToFhir(raw: string): string | undefined {
  const m = /^(\d{2})(\d{2})?(\d{2})?(\.\d{1,4})?([+-]\d{4})?$/.exec(raw.trim());
  if (m === null || Number(m[1]) > 23 || Number(m[2] ?? '0') > 59 || Number(m[3] ?? '0') > 59)
    return undefined;
  return `${m[1]}:${m[2] ?? '00'}:${m[3] ?? '00'}${m[3] !== undefined && m[4] !== undefined ? m[4] : ''}`;
}

const FHIR_DATE_TIME =
  /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

/**
 * FHIR R4 date / dateTime / instant -> HL7 v2 DTM (Chapter 2A.22), the reverse of v2DateTimeToFhir:
 * the precision and the UTC offset are kept as written ("2024-05-01T08:30:00+08:00" ->
 * "20240501083000+0800", "Z" -> "+0000", "1990-03-07" -> "19900307"); fractions of a second keep at
 * most the four digits DTM allows. Throws RangeError naming `field` (never the value) when the text
 * is not a FHIR date or dateTime.
 */
export function fhirDateTimeToV2(value: string, field: string): string {
  const m = FHIR_DATE_TIME.exec(value);
  if (m === null) throw new RangeError(`${field}: the value is not a FHIR date or dateTime.`);
  const [, year, month = '', day = '', hour = '', minute = '', second = '', fraction = '', zone] = m;
  const offset = zone === undefined ? '' : zone === 'Z' ? '+0000' : zone.replace(':', '');
  const time = hour === '' ? '' : `${hour}${minute}${second}${second !== '' ? fraction.slice(0, 5) : ''}`;
  return `${year}${month}${day}${time}${time !== '' ? offset : ''}`;
}
