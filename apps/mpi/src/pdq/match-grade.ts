import type { Decision } from '@tessera/matching';

/** FHIR match-grade extension codes (http://hl7.org/fhir/StructureDefinition/match-grade, R4 Patient/$match). */
export type MatchGrade = 'certain' | 'probable' | 'possible';

export const MATCH_GRADE_URL = 'http://hl7.org/fhir/StructureDefinition/match-grade';

/**
 * Grade and 0..1 score of a $match result from the Fellegi–Sunter total weight `w` (log2 of the
 * likelihood ratio) and the engine's decision:
 * - grade: MATCH → certain; POSSIBLE_MATCH at or above the middle of the review band → probable;
 *   other POSSIBLE_MATCH → possible; NO_MATCH → not returned (null);
 * - score: the posterior 1 / (1 + 2^-w) with even prior odds, a monotone map of the weight into 0..1
 *   (FHIR Bundle.entry.search.score), not a calibrated probability.
 * Pure.
 */
export function matchGrade(
  weight: number,
  decision: Decision,
  thresholds: { readonly autoLink: number; readonly review: number },
): { readonly grade: MatchGrade; readonly score: number } | null {
  if (decision === 'NO_MATCH') return null;
  const score = Math.round((1 / (1 + 2 ** -weight)) * 10_000) / 10_000;
  if (decision === 'MATCH') return { grade: 'certain', score };
  const middle = (thresholds.autoLink + thresholds.review) / 2;
  return { grade: weight >= middle ? 'probable' : 'possible', score };
}
