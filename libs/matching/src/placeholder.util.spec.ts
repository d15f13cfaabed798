import { isPlaceholderName } from './placeholder.util';
import { RULE_SET_V1 } from './rule-set.loader';

const p = (family: string | undefined, given: string | undefined) =>
  isPlaceholderName(family, given, RULE_SET_V1.placeholderPatterns);

describe('placeholder identities', () => {
  it.each([
    ['Smith', 'Baby Boy'],
    ['SMITH', 'BABY GIRL'],
    ['Doe', 'John'],
    ['DOE', 'JANE'],
    ['Unknown', 'Unknown'],
    ['UNK', 'MALE'],
    ['Test', 'Patient'],
    ['Patient', 'Test'],
    ['Zztest', 'Do Not Use'],
    ['无名氏', undefined],
    ['未知', '未知'],
    ['测试', '患者'],
    ['王', '芳之子'],
    ['李', '秀英之女'],
  ])('%s / %s is a placeholder', (family, given) => {
    expect(p(family, given)).toBe(true);
  });

  it.each([
    ['Smith', 'John'],
    ['Doerr', 'Jane'],
    ['Babbage', 'Charles'],
    ['Testa', 'Maria'],
    ['王', '伟'],
    ['Unger', 'Patrick'],
  ])('%s / %s is a real name', (family, given) => {
    expect(p(family, given)).toBe(false);
  });

  it('patterns are data: another list gives other results', () => {
    expect(isPlaceholderName('Nomen', 'Nescio', ['^nescio nomen$'])).toBe(true);
    expect(isPlaceholderName('Doe', 'John', ['^nescio nomen$'])).toBe(false);
    expect(isPlaceholderName(undefined, undefined, RULE_SET_V1.placeholderPatterns)).toBe(false);
  });
});
