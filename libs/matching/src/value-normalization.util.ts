import type { RegionConfig } from './matching.types';
import { containsHan, foldLatin } from './name-normalization.util';

/**
 * Phone → national significant number digits (ITU-T E.164 without country code): punctuation removed,
 * an international prefix ("+" or "00") and a configured country code stripped, then the trunk prefix.
 * Returns undefined for fewer than 6 digits (extensions, junk).
 */
export function normalizePhone(raw: string | undefined, region: RegionConfig): string | undefined {
  if (raw === undefined) return undefined;
  const trimmed = raw.trim();
  let digits = trimmed.replace(/\D/g, '');
  let international = trimmed.startsWith('+');
  if (!international && digits.startsWith('00')) {
    digits = digits.slice(2);
    international = true;
  }
  const codes = [...region.phoneCountryCodes].sort((a, b) => b.length - a.length);
  if (international) {
    const cc = codes.find((c) => digits.startsWith(c));
    if (cc !== undefined) digits = digits.slice(cc.length);
  } else if (region.phoneCountryCodes.includes('1') && digits.length === 11 && digits.startsWith('1')) {
    digits = digits.slice(1); // NANP: 1 + 10 digits dialled without "+"
  }
  if (region.phoneTrunkPrefix !== '' && digits.startsWith(region.phoneTrunkPrefix)) {
    digits = digits.slice(region.phoneTrunkPrefix.length);
  }
  return digits.length >= 6 ? digits : undefined;
}

/** Postal code: upper case, no spaces or dashes; US ZIP+4 reduced to the 5-digit ZIP. */
export function normalizePostalCode(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const compact = raw.toUpperCase().replace(/[\s-]/g, '');
  if (/^\d{9}$/.test(compact) && /^\d{5}-\d{4}$/.test(raw.trim())) return compact.slice(0, 5);
  return compact === '' ? undefined : compact;
}

const STREET_WORDS: Readonly<Record<string, string>> = {
  street: 'st',
  avenue: 'ave',
  av: 'ave',
  road: 'rd',
  boulevard: 'blvd',
  lane: 'ln',
  drive: 'dr',
  court: 'ct',
  place: 'pl',
  apartment: 'apt',
  suite: 'ste',
  north: 'n',
  south: 's',
  east: 'e',
  west: 'w',
  strasse: 'str',
  straße: 'str',
  number: 'no',
};

/** Address line for comparison: Latin folded and street words abbreviated (USPS Pub. 28 style); Hanzi kept. */
export function normalizeAddressLine(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const nfkc = raw.normalize('NFKC').trim();
  if (nfkc === '') return undefined;
  if (containsHan(nfkc)) return nfkc.replace(/[\s,，.。#]/gu, '');
  const words = foldLatin(nfkc)
    .replace(/strasse\b/g, ' strasse')
    .split(/[^a-z0-9]+/)
    .filter((w) => w.length > 0)
    .map((w) => STREET_WORDS[w] ?? w);
  return words.length === 0 ? undefined : words.join(' ');
}

function isRealDate(y: number, m: number, d: number): boolean {
  if (m < 1 || m > 12 || d < 1 || y < 1800 || y > 2200) return false;
  const dt = new Date(Date.UTC(y, m - 1, d));
  return dt.getUTCFullYear() === y && dt.getUTCMonth() === m - 1 && dt.getUTCDate() === d;
}

function iso(y: number, m: number, d: number): string | undefined {
  return isRealDate(y, m, d) ? `${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}` : undefined;
}

/**
 * Dates in the shapes feeds send → YYYY-MM-DD: ISO 8601 (with or without time), HL7 v2 DT/DTM
 * (YYYYMMDD[HHMM…], v2.5 chapter 2A.22), YYYY/MM/DD, YYYY年MM月DD日, and NN/NN/YYYY or NN.NN.YYYY read
 * in the region's order (a first number > 12 can only be a day). Impossible dates give undefined.
 */
export function normalizeDate(raw: string | undefined, order: 'MDY' | 'DMY' = 'DMY'): string | undefined {
  if (raw === undefined) return undefined;
  const s = raw.trim();
  let m =
    /^(\d{4})-(\d{2})-(\d{2})(?:[T ].*)?$/.exec(s) ??
    /^(\d{4})(\d{2})(\d{2})(?:\d{2,6}(?:\.\d+)?)?(?:[+-]\d{4})?$/.exec(s);
  if (m) return iso(Number(m[1]), Number(m[2]), Number(m[3]));
  m = /^(\d{4})[/.年](\d{1,2})[/.月](\d{1,2})日?$/.exec(s);
  if (m) return iso(Number(m[1]), Number(m[2]), Number(m[3]));
  m = /^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$/.exec(s);
  if (m) {
    const a = Number(m[1]);
    const b = Number(m[2]);
    const y = Number(m[3]);
    if (a > 12) return iso(y, b, a);
    if (b > 12) return iso(y, a, b);
    return order === 'MDY' ? iso(y, a, b) : iso(y, b, a);
  }
  return undefined;
}

/** Sex (HL7 table 0001, FHIR AdministrativeGender) → M / F, anything else unknown. */
export function normalizeSex(raw: string | undefined): 'M' | 'F' | undefined {
  if (raw === undefined) return undefined;
  const v = raw.trim().toLowerCase();
  if (v === 'm' || v === 'male' || v === '男') return 'M';
  if (v === 'f' || v === 'female' || v === '女') return 'F';
  return undefined;
}

/** Identifiers: upper case, spaces and dashes removed. */
export function normalizeIdentifier(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const v = raw.toUpperCase().replace(/[\s\-./]/g, '');
  return v === '' ? undefined : v;
}
