import hanziPinyin from './data/hanzi-pinyin.json';
import nicknameData from './data/nicknames.json';
import type { NormalizedName } from './matching.types';

const HAN = /\p{Script=Han}/u;
const PINYIN: Readonly<Record<string, string>> = hanziPinyin.characters;
const COMPOUND_SURNAMES: Readonly<Record<string, string>> = hanziPinyin.compoundSurnames;

/** Letters NFKD does not decompose into base + combining mark. */
const FOLD: Readonly<Record<string, string>> = {
  ß: 'ss',
  ẞ: 'ss',
  ł: 'l',
  Ł: 'l',
  ø: 'o',
  Ø: 'o',
  æ: 'ae',
  Æ: 'ae',
  œ: 'oe',
  Œ: 'oe',
  đ: 'd',
  Đ: 'd',
  ð: 'd',
  Ð: 'd',
  þ: 'th',
  Þ: 'th',
  ı: 'i',
  ħ: 'h',
};
const FOLD_RE = /[ßẞłŁøØæÆœŒđĐðÐþÞıħ]/g;

/** Honorifics and generational/degree suffixes that are not part of the name (HL7 XPN-5/XPN-4 leaking into XPN-1/2). */
const PREFIXES = new Set([
  'mr',
  'mrs',
  'ms',
  'miss',
  'mx',
  'dr',
  'prof',
  'rev',
  'sr',
  'sra',
  'herr',
  'frau',
  'mme',
  'mlle',
  'm',
]);
const SUFFIXES = new Set(['jr', 'sr', 'ii', 'iii', 'iv', 'v', 'md', 'phd', 'dds', 'esq', 'junior', 'senior']);

export function containsHan(value: string): boolean {
  return HAN.test(value);
}

/** Latin text → lower-case ASCII: NFKD, combining marks removed, special letters folded. Never used on Hanzi. */
export function foldLatin(value: string): string {
  return value
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .replace(FOLD_RE, (ch) => FOLD[ch] ?? ch)
    .toLowerCase();
}

/**
 * Hanzi → toneless pinyin syllables, using the embedded table (surname readings for compound surnames
 * first). Characters missing from the table are kept as they are, so two unknown characters still
 * compare equal only to themselves.
 */
export function hanziToPinyin(value: string, asSurname = false): readonly string[] {
  const chars = Array.from(value.normalize('NFKC').replace(/[\s·・.-]/gu, ''));
  const out: string[] = [];
  let i = 0;
  if (asSurname && chars.length >= 2) {
    const compound = COMPOUND_SURNAMES[chars[0] + chars[1]];
    if (compound !== undefined) {
      out.push(compound);
      i = 2;
    }
  }
  for (; i < chars.length; i++) {
    const ch = chars[i];
    out.push(PINYIN[ch] ?? (HAN.test(ch) ? ch : foldLatin(ch)));
  }
  return out;
}

/** Pinyin spelling variants folded to one form: ü / v / yu after l and n ("Lü", "Lv", "Lyu" → "lu"). */
export function foldPinyin(value: string): string {
  return value.replace(/ü/g, 'u').replace(/([ln])(yu|v)/g, '$1u');
}

/**
 * Normalizes one name component. Latin: folded to ASCII, punctuation removed, honorific prefixes and
 * generational suffixes dropped, split into tokens on spaces and hyphens. Hanzi: kept as sent (NFKC,
 * spaces removed) and romanized to pinyin for comparison with records sent in pinyin.
 */
export function normalizeName(raw: string | undefined, part: 'family' | 'given'): NormalizedName | undefined {
  if (raw === undefined) return undefined;
  const trimmed = raw.normalize('NFKC').trim();
  if (trimmed === '') return undefined;
  if (containsHan(trimmed)) {
    const han = trimmed.replace(/[\s·・.-]/gu, '');
    const syllables = hanziToPinyin(han, part === 'family').map(foldPinyin);
    return { han, latin: syllables.join(''), tokens: [syllables.join('')] };
  }
  const tokens = foldLatin(trimmed)
    .replace(/['’`.,]/g, '')
    .split(/[^a-z0-9]+/)
    .filter((t) => t.length > 0);
  let start = 0;
  let end = tokens.length;
  while (start < end - 1 && PREFIXES.has(tokens[start])) start++;
  while (end - 1 > start && SUFFIXES.has(tokens[end - 1])) end--;
  const kept = tokens.slice(start, end).map(foldPinyin);
  if (kept.length === 0) return undefined;
  return { latin: kept.join(''), tokens: kept };
}

const NICKNAME_TO_FORMAL = new Map<string, Set<string>>();
const FORMAL_NAMES: Readonly<Record<string, readonly string[]>> = nicknameData.names;
for (const [formal, nicknames] of Object.entries(FORMAL_NAMES)) {
  for (const n of [formal, ...nicknames]) {
    const set = NICKNAME_TO_FORMAL.get(n) ?? new Set<string>();
    set.add(formal);
    NICKNAME_TO_FORMAL.set(n, set);
  }
}

/** Formal names a (normalized) given name may stand for: itself plus the formal names it is a diminutive of. */
export function formalNames(given: string): ReadonlySet<string> {
  return NICKNAME_TO_FORMAL.get(given) ?? new Set([given]);
}

/** True when one given name is a recorded diminutive of the other, or both of one formal name. */
export function areNicknames(a: string, b: string): boolean {
  if (a === b) return true;
  const fa = NICKNAME_TO_FORMAL.get(a);
  const fb = NICKNAME_TO_FORMAL.get(b);
  if (!fa || !fb) return false;
  for (const f of fa) if (fb.has(f)) return true;
  return false;
}

/** The canonical formal name used in blocking keys (alphabetically first formal name, else itself). */
export function canonicalGiven(given: string): string {
  const formal = NICKNAME_TO_FORMAL.get(given);
  if (!formal) return given;
  return Array.from(formal).sort()[0];
}
