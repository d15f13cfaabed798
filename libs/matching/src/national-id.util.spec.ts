import { REGION_US } from './matching.types';
import {
  compareIdentifiers,
  isPlausibleSsn,
  isValidLuhn,
  nationalIdValidity,
  validateCnResidentId,
} from './national-id.util';

describe('national identifiers', () => {
  it('validates CN resident ids: check digit, embedded birth date and sex', () => {
    expect(validateCnResidentId('11010519491231002X')).toEqual({
      valid: true,
      sex: 'F',
      birthDate: '1949-12-31',
    });
    expect(validateCnResidentId('11010519491231002x').valid).toBe(true);
    expect(validateCnResidentId('110105194912310021')).toMatchObject({ valid: false, reason: 'check-digit' });
    expect(validateCnResidentId('110105194913310020')).toMatchObject({ valid: false, reason: 'birth-date' });
    expect(validateCnResidentId('1101051949123100')).toMatchObject({ valid: false, reason: 'format' });
  });

  it('checks SSN shape; 9xx only when synthetic data is allowed', () => {
    expect(isPlausibleSsn('123-45-6789', false)).toBe(true);
    expect(isPlausibleSsn('000-45-6789', false)).toBe(false);
    expect(isPlausibleSsn('666-45-6789', false)).toBe(false);
    expect(isPlausibleSsn('123-00-6789', false)).toBe(false);
    expect(isPlausibleSsn('123-45-0000', false)).toBe(false);
    expect(isPlausibleSsn('912-34-5678', false)).toBe(false);
    expect(isPlausibleSsn('912-34-5678', true)).toBe(true);
    expect(nationalIdValidity('912345678', 'us-ssn', { ...REGION_US, allowSyntheticSsn: true })).toBe(
      'unknown',
    );
    expect(nationalIdValidity('912345678', 'us-ssn', REGION_US)).toBe('invalid');
  });

  it('checks Luhn', () => {
    expect(isValidLuhn('79927398713')).toBe(true);
    expect(isValidLuhn('79927398710')).toBe(false);
  });

  it('compares identifiers by level', () => {
    const v = (value: string, validity: 'valid' | 'invalid' | 'unknown' = 'valid') => ({ value, validity });
    expect(compareIdentifiers(v('11010519491231002X'), v('11010519491231002X'))).toBe('exact-valid');
    expect(compareIdentifiers(v('912345678', 'unknown'), v('912345678', 'unknown'))).toBe('exact-valid');
    expect(compareIdentifiers(v('110105194912310021', 'invalid'), v('110105194912310021', 'invalid'))).toBe(
      'exact-invalid',
    );
    expect(compareIdentifiers(v('11010519491231002X'), v('11010519491231003X', 'invalid'))).toBe(
      'one-digit-off',
    );
    expect(compareIdentifiers(v('912345678'), v('913245678'))).toBe('one-digit-off'); // adjacent transposition
    expect(compareIdentifiers(v('912345678'), v('987654321'))).toBe('different');
    expect(compareIdentifiers(v('912345678'), v('91234567'))).toBe('different');
    expect(compareIdentifiers(v('912345678'), undefined)).toBeNull();
  });
});
