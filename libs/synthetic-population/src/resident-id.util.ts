/**
 * Chinese resident identity number (GB 11643-1999): 6-digit address code (GB/T 2260), 8-digit birth
 * date YYYYMMDD, 3-digit sequence code whose last digit is odd for men and even for women, and a check
 * character computed with ISO 7064:1983 MOD 11-2 (weights 2^(17-i) mod 11, value 10 written "X").
 */
const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2] as const;
const CHECK_CHARS = '10X98765432';

/** Check character for the first 17 digits. */
export function residentIdCheckChar(first17: string): string {
  if (!/^\d{17}$/.test(first17)) throw new Error('residentIdCheckChar: expected 17 digits');
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += (first17.charCodeAt(i) - 48) * WEIGHTS[i];
  return CHECK_CHARS[sum % 11];
}

export function isValidResidentIdChecksum(id: string): boolean {
  if (!/^\d{17}[\dX]$/.test(id)) return false;
  return residentIdCheckChar(id.slice(0, 17)) === id[17];
}

/** Builds a valid id. `sequence` is 0..999; its parity is forced to match `sex`. */
export function buildResidentId(
  areaCode: string,
  birthDate: string,
  sequence: number,
  sex: 'M' | 'F',
): string {
  let seq = sequence % 1000;
  const wantOdd = sex === 'M';
  if ((seq % 2 === 1) !== wantOdd) seq = seq === 999 ? 998 : seq + 1;
  if (seq === 0) seq = wantOdd ? 1 : 2;
  const first17 = `${areaCode}${birthDate.replace(/-/g, '')}${String(seq).padStart(3, '0')}`;
  return first17 + residentIdCheckChar(first17);
}
