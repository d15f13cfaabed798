import { SeededRandom } from './seeded-random.util';
import { applyDigitTypo, applyTypo, toAscii } from './text-corruption.util';

describe('text corruption', () => {
  it('a typo always changes the value by one edit', () => {
    const rng = new SeededRandom(3);
    for (let i = 0; i < 500; i++) {
      for (const name of ['Smith', 'Li', 'Østergaard', 'O']) {
        const typo = applyTypo(rng, name);
        expect(typo).not.toBe(name);
        expect(Math.abs(Array.from(typo).length - Array.from(name).length)).toBeLessThanOrEqual(1);
      }
    }
  });

  it('a digit typo changes exactly one digit and keeps separators', () => {
    const rng = new SeededRandom(5);
    for (let i = 0; i < 200; i++) {
      const out = applyDigitTypo(rng, '912-34-5678');
      expect(out).toMatch(/^\d{3}-\d{2}-\d{4}$/);
      const diff = Array.from(out).filter((ch, k) => ch !== '912-34-5678'[k]).length;
      expect(diff).toBe(1);
    }
  });

  it('folds Latin diacritics to ASCII', () => {
    expect(toAscii('Müller Łukasz Søren Straße José Dvořák')).toBe('Muller Lukasz Soren Strasse Jose Dvorak');
  });
});
