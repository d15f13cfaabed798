import { REGION_CN, REGION_EU, REGION_US } from './matching.types';
import {
  normalizeAddressLine,
  normalizeDate,
  normalizeIdentifier,
  normalizePhone,
  normalizePostalCode,
  normalizeSex,
} from './value-normalization.util';

describe('value normalization', () => {
  it('phones: national significant number, country code and trunk prefix stripped per region', () => {
    for (const raw of ['(217) 555-0123', '217-555-0123', '+1 217 555 0123', '12175550123', '2175550123']) {
      expect(normalizePhone(raw, REGION_US)).toBe('2175550123');
    }
    for (const raw of ['+86 138 1234 5678', '13812345678', '0086 138 1234 5678']) {
      expect(normalizePhone(raw, REGION_CN)).toBe('13812345678');
    }
    for (const raw of ['+49 151 2345678', '0151 2345678', '0049 1512345678']) {
      expect(normalizePhone(raw, REGION_EU)).toBe('1512345678');
    }
    expect(normalizePhone('x123', REGION_US)).toBeUndefined();
    expect(normalizePhone(undefined, REGION_US)).toBeUndefined();
  });

  it('postal codes: compact upper case, ZIP+4 → ZIP', () => {
    expect(normalizePostalCode('62701-1234')).toBe('62701');
    expect(normalizePostalCode('sw1a 1aa')).toBe('SW1A1AA');
    expect(normalizePostalCode('100020')).toBe('100020');
  });

  it('dates: many formats → YYYY-MM-DD, ambiguous ones by region order, impossible ones rejected', () => {
    expect(normalizeDate('1985-03-07')).toBe('1985-03-07');
    expect(normalizeDate('19850307')).toBe('1985-03-07'); // HL7 DT
    expect(normalizeDate('198503071230+0800')).toBe('1985-03-07'); // HL7 DTM
    expect(normalizeDate('1985-03-07T10:00:00Z')).toBe('1985-03-07');
    expect(normalizeDate('1985/3/7')).toBe('1985-03-07');
    expect(normalizeDate('1985年3月7日')).toBe('1985-03-07');
    expect(normalizeDate('03/07/1985', 'MDY')).toBe('1985-03-07');
    expect(normalizeDate('07.03.1985', 'DMY')).toBe('1985-03-07');
    expect(normalizeDate('25/12/1985', 'MDY')).toBe('1985-12-25'); // 25 can only be a day
    expect(normalizeDate('1985-02-30')).toBeUndefined();
    expect(normalizeDate('yesterday')).toBeUndefined();
  });

  it('address lines: folded and street words abbreviated; Hanzi kept', () => {
    expect(normalizeAddressLine('123 North Main Street, Apt. 4')).toBe('123 n main st apt 4');
    expect(normalizeAddressLine('123 N Main St Apt 4')).toBe('123 n main st apt 4');
    expect(normalizeAddressLine('Hauptstraße 5')).toBe('haupt str 5');
    expect(normalizeAddressLine('朝阳区 建国路88号')).toBe('朝阳区建国路88号');
  });

  it('sex and identifiers', () => {
    expect(normalizeSex('male')).toBe('M');
    expect(normalizeSex('F')).toBe('F');
    expect(normalizeSex('女')).toBe('F');
    expect(normalizeSex('U')).toBeUndefined();
    expect(normalizeIdentifier('912-34-5678')).toBe('912345678');
    expect(normalizeIdentifier('11010519491231002x')).toBe('11010519491231002X');
  });
});
