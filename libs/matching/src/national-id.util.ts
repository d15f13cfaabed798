import type { IdValidity, NationalIdScheme, RegionConfig } from './matching.types';

const RIC_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2] as const;
const RIC_CHECK = '10X98765432';

export interface ResidentIdInfo {
  readonly valid: boolean;
  /** Embedded birth date (YYYY-MM-DD) when the id has the right shape and a real date. */
  readonly birthDate?: string;
  /** From the parity of the 17th digit: odd = male (GB 11643-1999 §5.2). */
  readonly sex?: 'M' | 'F';
  readonly reason?: 'format' | 'birth-date' | 'check-digit';
}

/**
 * Chinese resident identity number (GB 11643-1999): 6-digit address code, birth date YYYYMMDD, 3-digit
 * sequence (odd = male), ISO 7064 MOD 11-2 check character (0-9 or X).
 */
export function validateCnResidentId(raw: string): ResidentIdInfo {
  const id = raw.trim().toUpperCase();
  if (!/^\d{17}[\dX]$/.test(id)) return { valid: false, reason: 'format' };
  const y = Number(id.slice(6, 10));
  const mo = Number(id.slice(10, 12));
  const d = Number(id.slice(12, 14));
  const dt = new Date(Date.UTC(y, mo - 1, d));
  const realDate =
    y >= 1800 && dt.getUTCFullYear() === y && dt.getUTCMonth() === mo - 1 && dt.getUTCDate() === d;
  const sex = Number(id[16]) % 2 === 1 ? 'M' : 'F';
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += (id.charCodeAt(i) - 48) * RIC_WEIGHTS[i];
  const checkOk = RIC_CHECK[sum % 11] === id[17];
  const birthDate = realDate ? `${id.slice(6, 10)}-${id.slice(10, 12)}-${id.slice(12, 14)}` : undefined;
  if (!realDate) return { valid: false, sex, reason: 'birth-date' };
  if (!checkOk) return { valid: false, sex, ...(birthDate ? { birthDate } : {}), reason: 'check-digit' };
  return { valid: true, sex, ...(birthDate ? { birthDate } : {}) };
}

/**
 * US SSN shape (SSA, "Social Security Number Randomization", 2011): 9 digits; area 000, 666 and
 * 900–999, group 00 and serial 0000 are never issued. 9xx numbers are accepted only when the region
 * allows synthetic test data. Format sanity only: an SSN has no check digit.
 */
export function isPlausibleSsn(raw: string, allowSynthetic: boolean): boolean {
  const digits = raw.replace(/[\s-]/g, '');
  if (!/^\d{9}$/.test(digits)) return false;
  const area = digits.slice(0, 3);
  if (area === '000' || area === '666') return false;
  if (area.startsWith('9') && !allowSynthetic) return false;
  return digits.slice(3, 5) !== '00' && digits.slice(5) !== '0000';
}

/** Luhn (ISO/IEC 7812-1 annex B) over a digit string whose last digit is the check digit. */
export function isValidLuhn(digits: string): boolean {
  if (!/^\d{2,}$/.test(digits)) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

export function nationalIdValidity(
  value: string,
  scheme: NationalIdScheme,
  region: RegionConfig,
): IdValidity {
  switch (scheme) {
    case 'cn-resident-id':
      return validateCnResidentId(value).valid ? 'valid' : 'invalid';
    case 'us-ssn':
      // No check digit: a plausible SSN is "unknown" (a typo cannot be detected), an implausible one invalid.
      return isPlausibleSsn(value, region.allowSyntheticSsn) ? 'unknown' : 'invalid';
    case 'luhn':
      return isValidLuhn(value) ? 'valid' : 'invalid';
    case 'none':
      return 'unknown';
  }
}

/**
 * Identifier comparison levels:
 * - exact-valid: equal and passes its check (strong evidence)
 * - exact-invalid: equal, but fails its check (weaker: the same wrong number copied between systems)
 * - one-digit-off: same length, exactly one position differs or two adjacent are transposed (a typo;
 *   weak evidence, it must not outweigh the rest of the record)
 * - different
 * null when either side is missing.
 */
export function compareIdentifiers(
  a: { readonly value: string; readonly validity: IdValidity } | undefined,
  b: { readonly value: string; readonly validity: IdValidity } | undefined,
): 'exact-valid' | 'exact-invalid' | 'one-digit-off' | 'different' | null {
  if (!a || !b) return null;
  // 'unknown' (a scheme without check digit, e.g. SSN) counts as valid: nothing says it is wrong.
  if (a.value === b.value) return a.validity === 'invalid' ? 'exact-invalid' : 'exact-valid';
  if (a.value.length !== b.value.length) return 'different';
  const diffs: number[] = [];
  for (let i = 0; i < a.value.length; i++) {
    if (a.value[i] !== b.value[i]) {
      diffs.push(i);
      if (diffs.length > 2) return 'different';
    }
  }
  if (diffs.length === 1) return 'one-digit-off';
  const [i, j] = diffs as [number, number];
  return j === i + 1 && a.value[i] === b.value[j] && a.value[j] === b.value[i]
    ? 'one-digit-off'
    : 'different';
}
