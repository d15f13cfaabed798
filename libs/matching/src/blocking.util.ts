import type { NormalizedRecord } from './matching.types';
import { canonicalGiven } from './name-normalization.util';
import { nysiis } from './phonetic.util';

/**
 * Blocking keys of a record (the MPI indexes them and compares a new record only with records sharing
 * at least one key, under a candidate cap). Each key is `kind:value`:
 * - `pn:` phonetic family + given (NYSIIS of the Latin or pinyin spelling, nickname → formal name),
 *   the two codes sorted so swapped given/family still collide
 * - `dob:` birth date
 * - `yg:` birth year + given-name initial
 * - `ph:` phone (national significant number)
 * - `id:` national identifier, `ins:` insurance id
 * Placeholder records get no name key (they would collide with every "Baby Boy").
 */
export function blockingKeys(record: NormalizedRecord): string[] {
  const keys: string[] = [];
  const given = record.given?.tokens[0];
  if (record.family && given && !record.placeholder) {
    const codes = [
      nysiis(record.family.latin) || record.family.latin,
      nysiis(canonicalGiven(given)) || given,
    ].sort();
    keys.push(`pn:${codes[0]}|${codes[1]}`);
  }
  if (record.birthDate) keys.push(`dob:${record.birthDate}`);
  if (record.birthDate && given) keys.push(`yg:${record.birthDate.slice(0, 4)}|${given[0]}`);
  if (record.phone) keys.push(`ph:${record.phone}`);
  if (record.nationalId) keys.push(`id:${record.nationalId.value}`);
  if (record.insuranceId) keys.push(`ins:${record.insuranceId}`);
  return keys;
}
