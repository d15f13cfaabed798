import { readFileSync } from 'node:fs';
import { parseRuleSet, REGION_CN, REGION_EU, REGION_US, RULE_SET_V1, RULE_SET_V2 } from '@tessera/matching';
import type { RegionConfig, RuleSet } from '@tessera/matching';
import type { MpiSettings } from '../mpi.config';

/** Rule sets shipped with libs/matching (by `version`). */
export const BUILT_IN_RULE_SETS: readonly RuleSet[] = [RULE_SET_V1, RULE_SET_V2];

const REGIONS: Readonly<Record<MpiSettings['MPI_REGION'], RegionConfig>> = { us: REGION_US, cn: REGION_CN, eu: REGION_EU };

/** What the engine matches with: built once at boot from the MPI settings (`MATCHING_PROFILE`). */
export interface MatchingProfile {
  readonly region: RegionConfig;
  /** The rule set new records and updates are decided with. */
  readonly ruleSet: RuleSet;
  /** Rule sets a re-match job may name (by `version`): the built-in ones plus MPI_RULE_SET_FILE. */
  readonly ruleSets: ReadonlyMap<string, RuleSet>;
  readonly nationalIdProfile: MpiSettings['MPI_NATIONAL_ID_PROFILE'];
}

export const MATCHING_PROFILE = Symbol('MATCHING_PROFILE');

export class MatchingProfileError extends Error {
  override readonly name = 'MatchingProfileError';
}

/**
 * Validates the MPI settings into a matching profile; fails at boot (naming the variable, never record
 * data) when the rule-set file is unreadable or invalid or the selected version is unknown.
 */
export function matchingProfileOf(
  settings: MpiSettings,
  readFile: (path: string) => string = (path) => readFileSync(path, 'utf8'),
): MatchingProfile {
  const ruleSets = new Map(BUILT_IN_RULE_SETS.map((r) => [r.version, r]));
  if (settings.MPI_RULE_SET_FILE !== undefined) {
    let data: unknown;
    try {
      data = JSON.parse(readFile(settings.MPI_RULE_SET_FILE));
    } catch (e) {
      throw new MatchingProfileError(`MPI_RULE_SET_FILE: cannot read a JSON rule set (${(e as Error).name})`);
    }
    let fromFile: RuleSet;
    try {
      fromFile = parseRuleSet(data);
    } catch (e) {
      throw new MatchingProfileError(`MPI_RULE_SET_FILE: ${(e as Error).message}`);
    }
    if (ruleSets.has(fromFile.version)) {
      throw new MatchingProfileError(`MPI_RULE_SET_FILE: version ${fromFile.version} is a built-in rule set; give the file its own version`);
    }
    ruleSets.set(fromFile.version, fromFile);
  }
  const ruleSet = ruleSets.get(settings.MPI_RULE_SET_VERSION);
  if (ruleSet === undefined) {
    throw new MatchingProfileError(`MPI_RULE_SET_VERSION: unknown rule set; known: ${[...ruleSets.keys()].join(', ')}`);
  }
  const base = REGIONS[settings.MPI_REGION];
  const region: RegionConfig = { ...base, allowSyntheticSsn: settings.MPI_NATIONAL_ID_PROFILE === 'synthetic' };
  return { region, ruleSet, ruleSets, nationalIdProfile: settings.MPI_NATIONAL_ID_PROFILE };
}
