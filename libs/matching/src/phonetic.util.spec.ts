import { nysiis } from './phonetic.util';

describe('NYSIIS (Taft 1970)', () => {
  it.each([
    ['Knight', 'NAGT'],
    ['Mitchell', 'MATCAL'],
    ['Daniel', 'DANAL'],
    ['MacDonald', 'MCDANALD'],
    ['Phillips', 'FALAP'],
    ['Schmidt', 'SNAD'],
    ['Bishop', 'BASAP'],
  ])('%s → %s', (name, code) => {
    expect(nysiis(name)).toBe(code);
  });

  it('maps spelling variants of one name to one code', () => {
    expect(nysiis('John')).toBe(nysiis('Jon'));
    expect(nysiis('Catherine')).toBe(nysiis('Katherine'));
    expect(nysiis('Mueller')).toBe(nysiis('Muller'));
    expect(nysiis('Stevens')).toBe(nysiis('Stephens'));
    expect(nysiis('')).toBe('');
  });
});
