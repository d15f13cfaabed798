import type { ComparisonVector, NormalizedName, NormalizedRecord } from './matching.types';
import { compareIdentifiers } from './national-id.util';
import { areNicknames } from './name-normalization.util';
import { jaroWinkler } from './string-similarity.util';
import { nysiis } from './phonetic.util';

/** Jaro–Winkler cut-offs for name levels (Winkler's census work used ~0.94 / 0.88 on surnames). */
const JW_HIGH = 0.92;
const JW_MEDIUM = 0.85;

function nameSimilarity(a: NormalizedName, b: NormalizedName): number {
  if (a.latin === b.latin) return 1;
  let best = jaroWinkler(a.latin, b.latin);
  // hyphenated or double surnames: one token in common counts as a near match
  for (const ta of a.tokens)
    for (const tb of b.tokens) if (ta.length > 1 && ta === tb) best = Math.max(best, 0.95);
  return best;
}

/**
 * Family name levels: exact (same Hanzi, or same Latin/pinyin spelling when at least one side is not
 * Hanzi), homophone (different Hanzi, same pinyin), jw-high, jw-medium / phonetic (same NYSIIS), different.
 */
export function compareFamily(a: NormalizedName | undefined, b: NormalizedName | undefined): string | null {
  if (!a || !b) return null;
  if (a.han !== undefined && b.han !== undefined) {
    if (a.han === b.han) return 'exact';
    if (a.latin === b.latin) return 'homophone';
  } else if (a.latin === b.latin) return 'exact';
  const sim = nameSimilarity(a, b);
  if (sim >= JW_HIGH) return 'jw-high';
  if (sim >= JW_MEDIUM || nysiis(a.latin) === nysiis(b.latin)) return 'jw-medium';
  return 'different';
}

/**
 * Given name levels: exact, homophone, nickname (table), jw-high, jw-medium, initial (one side is a
 * single letter the other starts with), different. Two Hanzi given names that differ in a character
 * of a different reading are "different": siblings often share one character (a generation name), and
 * a clerk's error in Hanzi is a same-reading character from the input method, which is "homophone".
 * No phonetic-code level here: NYSIIS folds John/James/Juan together.
 */
export function compareGiven(a: NormalizedName | undefined, b: NormalizedName | undefined): string | null {
  if (!a || !b) return null;
  if (a.han !== undefined && b.han !== undefined) {
    if (a.han === b.han) return 'exact';
    return a.latin === b.latin ? 'homophone' : 'different';
  } else if (a.latin === b.latin) return 'exact';
  const firstA = a.tokens[0] ?? a.latin;
  const firstB = b.tokens[0] ?? b.latin;
  if (firstA === firstB) return 'jw-high'; // "Mary Ann" vs "Mary"
  if (areNicknames(firstA, firstB)) return 'nickname';
  const sim = Math.max(nameSimilarity(a, b), jaroWinkler(firstA, firstB));
  if (sim >= JW_HIGH) return 'jw-high';
  if (sim >= JW_MEDIUM) return 'jw-medium';
  if (
    (firstA.length === 1 && firstB.startsWith(firstA)) ||
    (firstB.length === 1 && firstA.startsWith(firstB))
  )
    return 'initial';
  return 'different';
}

/**
 * Birth date levels: exact, transposed (day and month swapped: a DMY/MDY confusion), year-off (same
 * month and day, year ±1), digit-off (one digit differs), same-year-month, different.
 */
export function compareBirthDate(a: string | undefined, b: string | undefined): string | null {
  if (a === undefined || b === undefined) return null;
  if (a === b) return 'exact';
  const [ya, ma, da] = a.split('-');
  const [yb, mb, db] = b.split('-');
  if (ya === yb && ma === db && da === mb) return 'transposed';
  if (ma === mb && da === db && Math.abs(Number(ya) - Number(yb)) === 1) return 'year-off';
  let diffs = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) diffs++;
  if (diffs === 1) return 'digit-off';
  if (ya === yb && ma === mb) return 'same-year-month';
  return 'different';
}

export function compareSex(a: 'M' | 'F' | undefined, b: 'M' | 'F' | undefined): string | null {
  if (a === undefined || b === undefined) return null;
  return a === b ? 'agree' : 'disagree';
}

/** Address levels: exact (line and postal code), line (line similar), postal (same postal code only), different. */
export function compareAddress(a: NormalizedRecord, b: NormalizedRecord): string | null {
  if (a.addressLine === undefined || b.addressLine === undefined) {
    if (a.postalCode !== undefined && b.postalCode !== undefined)
      return a.postalCode === b.postalCode ? 'postal' : 'different';
    return null;
  }
  const samePostal = a.postalCode !== undefined && a.postalCode === b.postalCode;
  if (a.addressLine === b.addressLine)
    return samePostal || a.postalCode === undefined || b.postalCode === undefined ? 'exact' : 'line';
  const [shorter, longer] =
    a.addressLine.length <= b.addressLine.length
      ? [a.addressLine, b.addressLine]
      : [b.addressLine, a.addressLine];
  if (longer.startsWith(`${shorter} `) || jaroWinkler(a.addressLine, b.addressLine) >= 0.93) return 'line'; // apartment dropped, typo
  return samePostal ? 'postal' : 'different';
}

export function comparePhone(a: string | undefined, b: string | undefined): string | null {
  if (a === undefined || b === undefined) return null;
  if (a === b) return 'exact';
  return 'different';
}

export function compareInsurance(a: string | undefined, b: string | undefined): string | null {
  if (a === undefined || b === undefined) return null;
  return a === b ? 'exact' : 'different';
}

/**
 * The comparison vector of two normalized records. When given and family look swapped (each agrees
 * better with the other's opposite part), the names are compared crosswise and capped at jw-high.
 */
export function compareRecords(a: NormalizedRecord, b: NormalizedRecord): ComparisonVector {
  let family = compareFamily(a.family, b.family);
  let given = compareGiven(a.given, b.given);
  if (a.family && a.given && b.family && b.given && family === 'different' && given === 'different') {
    const crossFamily = compareFamily(a.family, b.given);
    const crossGiven = compareGiven(a.given, b.family);
    if (crossFamily !== 'different' && crossGiven !== 'different') {
      const cap = (level: string | null): string =>
        level === 'exact' || level === 'homophone' ? 'jw-high' : (level ?? 'different');
      family = cap(crossFamily);
      given = cap(crossGiven);
    }
  }
  return {
    family,
    given,
    birthDate: compareBirthDate(a.birthDate, b.birthDate),
    sex: compareSex(a.sex, b.sex),
    address: compareAddress(a, b),
    phone: comparePhone(a.phone, b.phone),
    nationalId: compareIdentifiers(a.nationalId, b.nationalId),
    insuranceId: compareInsurance(a.insuranceId, b.insuranceId),
  };
}
