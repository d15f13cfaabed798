import { containsHan, foldLatin } from './name-normalization.util';

const compiled = new Map<string, RegExp>();

function pattern(source: string): RegExp {
  let re = compiled.get(source);
  if (!re) {
    re = new RegExp(source, 'iu');
    compiled.set(source, re);
  }
  return re;
}

/**
 * Placeholder identities are registered when the real identity is not (yet) known: newborns ("Baby
 * Boy Smith", "王芳之子"), unidentified patients ("John Doe", "无名氏", "Unknown"), test patients. They
 * must never be linked automatically (many different people share them). The patterns are data in the
 * rule set; they are matched against "given family", "family given" and each part alone, Latin parts
 * folded to lower-case ASCII and Hanzi kept as sent.
 */
export function isPlaceholderName(
  family: string | undefined,
  given: string | undefined,
  patterns: readonly string[],
): boolean {
  const clean = (s: string | undefined): string => {
    if (s === undefined) return '';
    const t = s.normalize('NFKC').trim();
    return containsHan(t)
      ? t.replace(/\s/g, '')
      : foldLatin(t)
          .replace(/[^a-z0-9 ]/g, ' ')
          .replace(/\s+/g, ' ')
          .trim();
  };
  const f = clean(family);
  const g = clean(given);
  if (f === '' && g === '') return false;
  const candidates = [`${g} ${f}`.trim(), `${f} ${g}`.trim(), f, g, `${f}${g}`].filter((c) => c !== '');
  return patterns.some((p) => candidates.some((c) => pattern(p).test(c)));
}
