import type { Coding } from '@medplum/fhirtypes';

/**
 * A visit left open longer than its class allows is closed in notifications by rule: v2 feeds lose
 * discharges (A03 never sent, sent for the wrong visit number, or cancelled by A13 and never re-sent),
 * and a subscriber who was told of an admission would otherwise believe the person is still there.
 * The notify service emits the rule's `closingTopic` once `maxOpenHours` have passed since the visit
 * was last seen open, tagged with CLOSED_BY_RULE_TAG; a real discharge arriving later is still sent.
 */
export interface VisitClosingRule {
  readonly classCodes: readonly string[];
  readonly maxOpenHours: number;
  readonly closingTopic: 'discharge' | 'emergency-departure';
}

/**
 * Only the classes that open a visit subscribers are told about (admission, emergency-arrival) get a
 * closing rule; closing anything else would send a departure nobody heard the arrival of.
 *
 * - EMER, 48 h: ED stays are hours long; patients boarding in the ED for an inpatient bed can wait
 *   more than a day, and an admission from the ED changes the class (A06) before 48 h.
 * - IMP and ACUTE, 90 days: acute inpatient stays are days long; stays beyond three months are rare
 *   enough that a still-open acute visit that old is almost always a lost discharge.
 * - NONAC, 365 days: non-acute stays (rehabilitation, long-term psychiatric care) legitimately last
 *   months; a year keeps a real stay from being closed while still ending a forgotten one.
 */
export const DEFAULT_VISIT_CLOSING_RULES: readonly VisitClosingRule[] = [
  { classCodes: ['EMER'], maxOpenHours: 48, closingTopic: 'emergency-departure' },
  { classCodes: ['IMP', 'ACUTE'], maxOpenHours: 90 * 24, closingTopic: 'discharge' },
  { classCodes: ['NONAC'], maxOpenHours: 365 * 24, closingTopic: 'discharge' },
];

export function closingRuleFor(
  classCode: string,
  rules: readonly VisitClosingRule[] = DEFAULT_VISIT_CLOSING_RULES,
): VisitClosingRule | undefined {
  return rules.find((r) => r.classCodes.includes(classCode));
}

/**
 * Carried in `meta.tag` of a closing-by-rule notification Bundle (and of the Encounter in a
 * full-resource payload), so a subscriber can tell it from a discharge the hospital sent
 * (FHIR R4 Meta.tag: tags "that may be used to control workflow", not clinical meaning).
 */
export const CLOSED_BY_RULE_TAG: Coding = {
  system: 'https://tessera.example/fhir/CodeSystem/notification-tag',
  code: 'closed-by-rule',
  display: 'Visit closed by rule: no discharge was received within the longest open period for its class',
};
