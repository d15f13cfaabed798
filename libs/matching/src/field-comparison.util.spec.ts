import {
  compareAddress,
  compareBirthDate,
  compareFamily,
  compareGiven,
  compareRecords,
  compareSex,
} from './field-comparison.util';
import { REGION_CN, REGION_US, type MatchInput } from './matching.types';
import { normalizeName } from './name-normalization.util';
import { normalizeRecord } from './record-normalization.util';
import { RULE_SET_V1 } from './rule-set.loader';

const fam = (s: string) => normalizeName(s, 'family');
const giv = (s: string) => normalizeName(s, 'given');

describe('comparison levels', () => {
  it('family names', () => {
    expect(compareFamily(fam('Müller'), fam('MULLER'))).toBe('exact');
    expect(compareFamily(fam('王'), fam('WANG'))).toBe('exact'); // Hanzi vs pinyin
    expect(compareFamily(fam('王'), fam('汪'))).toBe('homophone');
    expect(compareFamily(fam('王'), fam('王'))).toBe('exact');
    expect(compareFamily(fam('Johnson'), fam('Jonhson'))).toBe('jw-high');
    expect(compareFamily(fam('Smith-Jones'), fam('Smith'))).toBe('jw-high');
    expect(compareFamily(fam('Smith'), fam('Garcia'))).toBe('different');
    expect(compareFamily(undefined, fam('Smith'))).toBeNull();
  });

  it('given names', () => {
    expect(compareGiven(giv('William'), giv('BILL'))).toBe('nickname');
    expect(compareGiven(giv('Margaret'), giv('Peggy'))).toBe('nickname');
    expect(compareGiven(giv('秀英'), giv('Xiuying'))).toBe('exact');
    expect(compareGiven(giv('伟'), giv('玮'))).toBe('homophone');
    expect(compareGiven(giv('明伟'), giv('铭'))).toBe('different'); // siblings, not a typo
    expect(compareGiven(giv('Mary Ann'), giv('Mary'))).toBe('jw-high');
    expect(compareGiven(giv('Brenda'), giv('Brenta'))).toBe('jw-high');
    expect(compareGiven(giv('J'), giv('John'))).toBe('initial');
    expect(compareGiven(giv('John'), giv('James'))).toBe('different');
  });

  it('birth dates', () => {
    expect(compareBirthDate('1985-03-07', '1985-03-07')).toBe('exact');
    expect(compareBirthDate('1985-03-07', '1985-07-03')).toBe('transposed');
    expect(compareBirthDate('1985-03-07', '1986-03-07')).toBe('year-off');
    expect(compareBirthDate('1985-03-07', '1985-03-08')).toBe('digit-off');
    expect(compareBirthDate('1985-03-07', '1985-03-21')).toBe('same-year-month');
    expect(compareBirthDate('1985-03-07', '1990-11-30')).toBe('different');
    expect(compareBirthDate(undefined, '1990-11-30')).toBeNull();
  });

  it('sex and address', () => {
    expect(compareSex('M', 'M')).toBe('agree');
    expect(compareSex('M', 'F')).toBe('disagree');
    expect(compareSex(undefined, 'F')).toBeNull();
    const rec = (line: string | undefined, postalCode: string) =>
      normalizeRecord(
        { family: 'X', address: { ...(line ? { line } : {}), postalCode } },
        REGION_US,
        RULE_SET_V1,
      );
    expect(compareAddress(rec('12 Main Street', '62701'), rec('12 MAIN ST', '62701-0001'))).toBe('exact');
    expect(compareAddress(rec('12 Main St', '62701'), rec('12 Main St Apt 4', '62701'))).toBe('line');
    expect(compareAddress(rec('12 Main St', '62701'), rec('12 Mian St', '62701'))).toBe('line');
    expect(compareAddress(rec('12 Main St', '62701'), rec('99 Oak Ave', '62701'))).toBe('postal');
    expect(compareAddress(rec('12 Main St', '62701'), rec('99 Oak Ave', '10001'))).toBe('different');
    expect(compareAddress(rec(undefined, '62701'), rec('99 Oak Ave', '62701'))).toBe('postal');
  });

  it('a Hanzi record and its pinyin copy compare as the same name; swapped names are caught', () => {
    const hanzi: MatchInput = {
      family: '欧阳',
      given: '秀英',
      sex: 'F',
      birthDate: '1980-01-02',
      phone: '13812345678',
    };
    const pinyin: MatchInput = {
      family: 'OUYANG',
      given: 'XIUYING',
      sex: 'F',
      birthDate: '19800102',
      phone: '+86 138 1234 5678',
    };
    const v = compareRecords(
      normalizeRecord(hanzi, REGION_CN, RULE_SET_V1),
      normalizeRecord(pinyin, REGION_CN, RULE_SET_V1),
    );
    expect(v).toMatchObject({
      family: 'exact',
      given: 'exact',
      birthDate: 'exact',
      sex: 'agree',
      phone: 'exact',
    });
    const swapped = compareRecords(
      normalizeRecord({ family: 'Smith', given: 'John' }, REGION_US, RULE_SET_V1),
      normalizeRecord({ family: 'John', given: 'Smith' }, REGION_US, RULE_SET_V1),
    );
    expect(swapped).toMatchObject({ family: 'jw-high', given: 'jw-high' });
  });
});
