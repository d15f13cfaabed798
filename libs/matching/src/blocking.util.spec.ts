import { blockingKeys } from './blocking.util';
import { REGION_CN, REGION_US, type MatchInput } from './matching.types';
import { normalizeRecord } from './record-normalization.util';
import { RULE_SET_V1 } from './rule-set.loader';

const keys = (m: MatchInput, region = REGION_US) =>
  blockingKeys(normalizeRecord(m, { ...region, allowSyntheticSsn: true }, RULE_SET_V1));
const shared = (a: readonly string[], b: readonly string[]) => a.filter((k) => b.includes(k));

describe('blocking keys', () => {
  it('produces name, date, phone and id keys', () => {
    expect(
      keys({
        family: 'Smith',
        given: 'William',
        birthDate: '1970-04-02',
        phone: '(217) 555-0100',
        nationalId: '912-34-5678',
        insuranceId: 'w123',
      }),
    ).toEqual(['pn:SNAT|WALAN', 'dob:1970-04-02', 'yg:1970|w', 'ph:2175550100', 'id:912345678', 'ins:W123']);
  });

  it('spelling variants, nicknames and swapped names share the phonetic key', () => {
    const a = keys({ family: 'Smith', given: 'William' });
    expect(shared(a, keys({ family: 'SMITH', given: 'Bill' }))).toEqual(['pn:SNAT|WALAN']);
    expect(shared(a, keys({ family: 'William', given: 'Smith' }))).toEqual(['pn:SNAT|WALAN']);
    expect(
      shared(keys({ family: 'Catherine', given: 'Mary' }), keys({ family: 'Katherine', given: 'Mary' })),
    ).toHaveLength(1);
  });

  it('a Hanzi name and its pinyin spelling share the phonetic key', () => {
    const hanzi = keys({ family: '张', given: '秀英' }, REGION_CN);
    const pinyin = keys({ family: 'ZHANG', given: 'XIUYING' }, REGION_CN);
    expect(hanzi).toEqual(pinyin);
    expect(hanzi[0]).toMatch(/^pn:/);
  });

  it('placeholders get no name key', () => {
    expect(
      keys({ family: 'Doe', given: 'John', birthDate: '1980-01-01' }).some((k) => k.startsWith('pn:')),
    ).toBe(false);
  });
});
