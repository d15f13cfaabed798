import { buildResidentId, isValidResidentIdChecksum, residentIdCheckChar } from './resident-id.util';

describe('resident identity number (GB 11643-1999, ISO 7064 MOD 11-2)', () => {
  it('computes the check character of the standard example 11010519491231002X', () => {
    expect(residentIdCheckChar('11010519491231002')).toBe('X');
    expect(isValidResidentIdChecksum('11010519491231002X')).toBe(true);
  });

  it('rejects any single-digit change (MOD 11-2 detects all single substitutions)', () => {
    const id = '11010519491231002X';
    for (let pos = 0; pos < 17; pos++) {
      for (let d = 0; d <= 9; d++) {
        if (String(d) === id[pos]) continue;
        expect(isValidResidentIdChecksum(id.slice(0, pos) + d + id.slice(pos + 1))).toBe(false);
      }
    }
    expect(isValidResidentIdChecksum('110105194912310021')).toBe(false);
  });

  it('rejects wrong shapes', () => {
    expect(isValidResidentIdChecksum('1101051949123100')).toBe(false);
    expect(isValidResidentIdChecksum('11010519491231002x')).toBe(false);
    expect(isValidResidentIdChecksum('X1010519491231002X')).toBe(false);
  });

  it('builds ids with the birth date embedded and the sex in the parity of digit 17', () => {
    const male = buildResidentId('310115', '1985-03-07', 120, 'M');
    const female = buildResidentId('310115', '1985-03-07', 120, 'F');
    expect(male.slice(0, 14)).toBe('31011519850307');
    expect(Number(male[16]) % 2).toBe(1);
    expect(Number(female[16]) % 2).toBe(0);
    expect(isValidResidentIdChecksum(male)).toBe(true);
    expect(isValidResidentIdChecksum(female)).toBe(true);
  });
});
