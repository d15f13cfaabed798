import ruleSetV1 from './data/rule-set.v1.json';
import ruleSetV2 from './data/rule-set.v2.json';
import type { ComparisonField, RuleSet } from './matching.types';

const FIELDS: readonly ComparisonField[] = [
  'family',
  'given',
  'birthDate',
  'sex',
  'address',
  'phone',
  'nationalId',
  'insuranceId',
];

/**
 * Validates a rule set read from data (JSON file, database row) and returns it typed. Fails with a
 * message naming the offending path; never echoes record data.
 */
export function parseRuleSet(data: unknown): RuleSet {
  const fail = (path: string, what: string): never => {
    throw new Error(`Invalid matching rule set at ${path}: ${what}`);
  };
  if (typeof data !== 'object' || data === null) return fail('$', 'expected an object');
  const o = data as Record<string, unknown>;
  if (typeof o['version'] !== 'string' || o['version'] === '')
    fail('$.version', 'expected a non-empty string');
  const t = o['thresholds'] as Record<string, unknown> | undefined;
  if (typeof t?.['autoLink'] !== 'number' || typeof t['review'] !== 'number')
    fail('$.thresholds', 'expected numbers autoLink and review');
  if ((t!['review'] as number) > (t!['autoLink'] as number))
    fail('$.thresholds', 'review must not exceed autoLink');
  if (!Array.isArray(o['fields'])) return fail('$.fields', 'expected an array');
  (o['fields'] as unknown[]).forEach((f, i) => {
    const field = f as Record<string, unknown>;
    if (!FIELDS.includes(field['field'] as ComparisonField))
      fail(`$.fields[${i}].field`, `expected one of ${FIELDS.join(', ')}`);
    if (!Array.isArray(field['levels']) || field['levels'].length < 2)
      fail(`$.fields[${i}].levels`, 'expected at least two levels');
    (field['levels'] as unknown[]).forEach((l, j) => {
      const level = l as Record<string, unknown>;
      for (const p of ['m', 'u'] as const) {
        const v = level[p];
        if (typeof v !== 'number' || !(v > 0 && v <= 1))
          fail(`$.fields[${i}].levels[${j}].${p}`, 'expected a probability in (0, 1]');
      }
      if (typeof level['level'] !== 'string') fail(`$.fields[${i}].levels[${j}].level`, 'expected a string');
    });
  });
  if (!Array.isArray(o['autoLinkVetoes'])) fail('$.autoLinkVetoes', 'expected an array');
  if (!Array.isArray(o['placeholderPatterns'])) fail('$.placeholderPatterns', 'expected an array');
  (o['placeholderPatterns'] as unknown[]).forEach((p, i) => {
    try {
      new RegExp(p as string, 'iu');
    } catch {
      fail(`$.placeholderPatterns[${i}]`, 'not a valid regular expression');
    }
  });
  return data as RuleSet;
}

/** The committed rule set (data/rule-set.v1.json): m/u estimated by EM on synthetic data. */
export const RULE_SET_V1: RuleSet = parseRuleSet(ruleSetV1);

/**
 * v1's weights and thresholds with a stricter given-name veto (data/rule-set.v2.json): a missing,
 * jw-medium or initial-only given name no longer auto-links (twins and household members share
 * surname, birth date, address and phone) unless the same valid national id or insurance id.
 */
export const RULE_SET_V2: RuleSet = parseRuleSet(ruleSetV2);
