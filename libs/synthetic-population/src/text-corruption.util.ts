import type { SeededRandom } from './seeded-random.util';

const LOWER = 'abcdefghijklmnopqrstuvwxyz';

function isUpper(ch: string): boolean {
  return ch !== ch.toLowerCase() && ch === ch.toUpperCase();
}

function randomLetterLike(rng: SeededRandom, neighbour: string): string {
  const letter = rng.pick(LOWER.split(''));
  return isUpper(neighbour) ? letter.toUpperCase() : letter;
}

/**
 * One keyboard typo: insert, delete, substitute or transpose a letter (the four Damerau edit
 * operations, which account for most single-error misspellings). The first letter is kept most of the
 * time, as in real registration data. Always returns a string different from the input.
 */
export function applyTypo(rng: SeededRandom, value: string): string {
  const chars = Array.from(value);
  if (chars.length === 0) return value;
  for (let attempt = 0; attempt < 8; attempt++) {
    const op = chars.length < 3 ? 2 : rng.int(0, 3);
    const start = chars.length > 1 && rng.chance(0.9) ? 1 : 0;
    const pos = rng.int(start, chars.length - 1);
    const out = chars.slice();
    const here = out[pos];
    switch (op) {
      case 0:
        out.splice(pos, 0, randomLetterLike(rng, here));
        break;
      case 1:
        out.splice(pos, 1);
        break;
      case 2:
        out[pos] = randomLetterLike(rng, here);
        break;
      default: {
        const other = pos + 1 < out.length ? pos + 1 : pos - 1;
        out[pos] = out[other];
        out[other] = here;
      }
    }
    const result = out.join('');
    if (result !== value && /\p{L}/u.test(result)) return result;
  }
  return value + randomLetterLike(rng, chars[chars.length - 1]);
}

/** Replaces one digit with a different digit (a transcription error in an identifier). */
export function applyDigitTypo(rng: SeededRandom, value: string): string {
  const positions: number[] = [];
  for (let i = 0; i < value.length; i++) if (/[\dX]/.test(value[i])) positions.push(i);
  if (positions.length === 0) return value;
  const pos = rng.pick(positions);
  const current = value[pos];
  let replacement = current;
  while (replacement === current) replacement = String(rng.int(0, 9));
  return value.slice(0, pos) + replacement + value.slice(pos + 1);
}

const ASCII_FOLD: Readonly<Record<string, string>> = {
  ß: 'ss',
  ł: 'l',
  Ł: 'L',
  ø: 'o',
  Ø: 'O',
  æ: 'ae',
  Æ: 'AE',
  đ: 'd',
  Đ: 'D',
  ı: 'i',
  œ: 'oe',
  Œ: 'OE',
  ð: 'd',
  þ: 'th',
};

/** What an ASCII-only registration system stores: diacritics dropped (NFKD, combining marks removed). */
export function toAscii(value: string): string {
  return value
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .replace(/[ßłŁøØæÆđĐıœŒðþ]/g, (ch) => ASCII_FOLD[ch] ?? ch);
}

export function capitalize(value: string): string {
  return value.length === 0 ? value : value[0].toUpperCase() + value.slice(1);
}
