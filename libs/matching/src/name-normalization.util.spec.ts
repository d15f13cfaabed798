import {
  areNicknames,
  canonicalGiven,
  foldLatin,
  hanziToPinyin,
  normalizeName,
} from './name-normalization.util';

describe('name normalization', () => {
  it('folds Latin case and diacritics (NFKD) including letters NFKD does not decompose', () => {
    expect(foldLatin('José Müller-Łukasz Søren Straße Dvořák ÅNGSTRÖM')).toBe(
      'jose muller-lukasz soren strasse dvorak angstrom',
    );
  });

  it('never strips Hanzi: keeps them and adds pinyin', () => {
    const n = normalizeName(' 王 秀英 ', 'given');
    expect(n).toEqual({ han: '王秀英', latin: 'wangxiuying', tokens: ['wangxiuying'] });
    expect(normalizeName('Ｗａｎｇ', 'family')?.latin).toBe('wang'); // full-width Latin → NFKC
  });

  it('romanizes compound surnames with their surname reading', () => {
    expect(hanziToPinyin('欧阳', true)).toEqual(['ouyang']);
    expect(normalizeName('欧阳', 'family')?.latin).toBe('ouyang');
    expect(normalizeName('吕', 'family')?.latin).toBe('lu');
    expect(normalizeName('LYU', 'family')?.latin).toBe('lu');
    expect(normalizeName('Lü', 'family')?.latin).toBe('lu');
  });

  it('keeps unknown Hanzi as they are rather than guessing', () => {
    expect(hanziToPinyin('龘')).toEqual(['龘']);
  });

  it('removes punctuation, honorifics and generational suffixes; splits tokens', () => {
    expect(normalizeName("O'Brien", 'family')?.latin).toBe('obrien');
    expect(normalizeName('Dr. John', 'given')?.latin).toBe('john');
    expect(normalizeName('Smith Jr.', 'family')?.latin).toBe('smith');
    expect(normalizeName('Smith III', 'family')?.latin).toBe('smith');
    expect(normalizeName('Smith-Jones', 'family')?.tokens).toEqual(['smith', 'jones']);
    expect(normalizeName('van den Berg', 'family')?.latin).toBe('vandenberg');
    expect(normalizeName('Mr', 'given')?.latin).toBe('mr'); // a lone "prefix" is the name itself
    expect(normalizeName('  ', 'given')).toBeUndefined();
    expect(normalizeName(undefined, 'given')).toBeUndefined();
  });

  it('knows nicknames in both directions and between diminutives of one name', () => {
    expect(areNicknames('william', 'bill')).toBe(true);
    expect(areNicknames('bill', 'william')).toBe(true);
    expect(areNicknames('bill', 'will')).toBe(true);
    expect(areNicknames('robert', 'bob')).toBe(true);
    expect(areNicknames('elizabeth', 'liz')).toBe(true);
    expect(areNicknames('margaret', 'peggy')).toBe(true);
    expect(areNicknames('william', 'robert')).toBe(false);
    expect(areNicknames('zeno', 'zed')).toBe(false);
    expect(canonicalGiven('peggy')).toBe('margaret');
    expect(canonicalGiven('xiuying')).toBe('xiuying');
  });
});
