import { RULE_SET_V1 } from '@tessera/matching';
import type { RuleSet } from '@tessera/matching';

/** Rule sets a re-match job may name (by `version`); the engine decides new records with RULE_SET_V1. */
export const RULE_SETS: ReadonlyMap<string, RuleSet> = new Map([[RULE_SET_V1.version, RULE_SET_V1]]);
