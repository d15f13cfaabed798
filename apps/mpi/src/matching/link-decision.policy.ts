import type { Decision, FieldComparison } from '@tessera/matching';

/** One scored candidate: another source record, the enterprise id it is linked to, and the pair's score. */
export interface ScoredCandidate {
  readonly sourceRecordId: string;
  readonly enterpriseId: string;
  readonly score: number;
  /** Fellegi–Sunter decision of the pair (already capped for placeholders and vetoes by libs/matching). */
  readonly decision: Decision;
  readonly comparisons: readonly FieldComparison[];
  /** An operator recorded that this record and the candidate are not the same person. */
  readonly notSamePerson: boolean;
  /**
   * The candidate's link is an operator's (MANUAL) decision: it affirms that the candidate is the
   * same person as the other members of its enterprise id, so it keeps them there.
   */
  readonly manual?: boolean;
}

/** The record's current link, when it has one. */
export interface CurrentLink {
  readonly enterpriseId: string;
  readonly state: Decision;
  readonly origin: 'AUTO' | 'MANUAL';
  /** Other active source records linked to the same enterprise id. */
  readonly otherMembers: number;
}

export interface DecisionInput {
  /** The record is a placeholder identity (Baby Boy, John Doe…): never linked automatically. */
  readonly placeholder: boolean;
  readonly current: CurrentLink | null;
  readonly candidates: readonly ScoredCandidate[];
  /**
   * An existing enterprise id the source record claims (an identifier in the `urn:tessera:enterprise-id`
   * system). The candidates must then include that id's members. Linked there only when the
   * demographics at least possibly match one of them; otherwise the claim goes to review.
   */
  readonly assertedEnterpriseId?: string | null;
}

export interface ReviewRequest {
  /** POSSIBLE_MATCH: a probable link an operator must confirm; POSSIBLE_DUPLICATE: matches in several enterprise ids. */
  readonly kind: 'POSSIBLE_MATCH' | 'POSSIBLE_DUPLICATE';
  readonly enterpriseIds: readonly string[];
  readonly candidates: readonly ScoredCandidate[];
}

/**
 * What to do with a record's link:
 * - `keep`: the link stays on `current.enterpriseId` (its state may change);
 * - `link`: link to the existing `enterpriseId` (new link, or moved from the current one);
 * - `new`: link to a new enterprise id.
 * `best` is the candidate that justifies the link (its score and comparisons are recorded).
 */
export type LinkDecision =
  | {
      readonly action: 'keep';
      readonly state: Decision;
      readonly reason: string;
      readonly best: ScoredCandidate | null;
      readonly review: ReviewRequest | null;
    }
  | {
      readonly action: 'link';
      readonly enterpriseId: string;
      readonly state: 'MATCH';
      readonly reason: string;
      readonly best: ScoredCandidate | null;
      /** Only for an enterprise id the record claimed and the demographics did not support. */
      readonly review: ReviewRequest | null;
    }
  | {
      readonly action: 'new';
      readonly state: Decision;
      readonly reason: string;
      readonly best: ScoredCandidate | null;
      readonly review: ReviewRequest | null;
    };

function byScore(a: ScoredCandidate, b: ScoredCandidate): number {
  return b.score - a.score || a.sourceRecordId.localeCompare(b.sourceRecordId);
}

function distinct(values: readonly string[]): string[] {
  return [...new Set(values)].sort();
}

/**
 * The link policy of docs/architecture.md "Identity (MPI)", as a pure function of
 * the scored candidates:
 * 1. A MANUAL link is never moved by the engine.
 * 2. An enterprise id the record claims links there when the demographics at least possibly match one
 *    of its members (a candidate of that id decided MATCH or POSSIBLE_MATCH). A claim the demographics
 *    do not support is not trusted: the record is decided by rules 3-7 as if it had claimed nothing,
 *    and the claimed id is added to a POSSIBLE_MATCH review task (unless the record stays on it, or
 *    an operator marked one of its members "not the same person").
 * 3. Candidates the operators marked "not the same person" are ignored.
 * 4. A placeholder identity never links automatically: MATCH-grade candidates become review candidates.
 * 5. MATCH candidates all in one enterprise id → link there (or stay, if already there).
 * 6. MATCH candidates in several enterprise ids → a possible-duplicate task; the engine does not pick
 *    one: the record stays where it is, or gets a new enterprise id (state POSSIBLE_MATCH).
 * 7. No MATCH: possible matches open a review task; a record that no longer matches any other member of
 *    its enterprise id moves to a new one (unless an operator placed a member there: MANUAL links
 *    survive re-matching, and so does the membership they assert); a new record gets a new enterprise id.
 */
export function decideLink(input: DecisionInput): LinkDecision {
  if (input.current?.origin === 'MANUAL') return decideByDemographics(input);
  const asserted = input.assertedEnterpriseId ?? null;
  if (asserted === null) return decideByDemographics(input);
  const claimed = input.candidates.filter((c) => c.enterpriseId === asserted).sort(byScore);
  const usable = claimed.filter((c) => !c.notSamePerson);
  const support = usable.find((c) => c.decision === 'MATCH' || c.decision === 'POSSIBLE_MATCH');
  if (support !== undefined) {
    const reason = 'enterprise id asserted by the source';
    if (input.current?.enterpriseId === asserted) {
      return { action: 'keep', state: 'MATCH', reason, best: support, review: null };
    }
    return { action: 'link', enterpriseId: asserted, state: 'MATCH', reason, best: support, review: null };
  }
  const decision = decideByDemographics({ ...input, assertedEnterpriseId: null });
  const target =
    decision.action === 'link'
      ? decision.enterpriseId
      : decision.action === 'keep'
        ? input.current?.enterpriseId
        : undefined;
  if (target === asserted || usable.length < claimed.length) return decision;
  const previous = decision.review;
  const review: ReviewRequest = {
    kind: previous?.kind ?? 'POSSIBLE_MATCH',
    enterpriseIds: distinct([...(previous?.enterpriseIds ?? []), asserted]),
    candidates: [...(previous?.candidates ?? []), ...usable],
  };
  return {
    ...decision,
    reason: `${decision.reason}; the enterprise id the source claims is not supported by the demographics: review task`,
    review,
  };
}

/** Rules 1 and 3-7: the decision from the scored candidates alone. */
function decideByDemographics(input: DecisionInput): LinkDecision {
  const { current } = input;
  const candidates = input.candidates.filter((c) => !c.notSamePerson).sort(byScore);
  const matches = input.placeholder ? [] : candidates.filter((c) => c.decision === 'MATCH');
  const possibles = candidates.filter(
    (c) => c.decision === 'POSSIBLE_MATCH' || (input.placeholder && c.decision === 'MATCH'),
  );
  const best = candidates[0] ?? null;

  if (current?.origin === 'MANUAL') {
    return { action: 'keep', state: current.state, reason: 'manual link: never moved by the engine', best, review: null };
  }

  const matchIds = distinct(matches.map((c) => c.enterpriseId));
  const top = matches[0];
  if (matchIds.length === 1 && top !== undefined) {
    const target = top.enterpriseId;
    if (current?.enterpriseId === target) {
      return { action: 'keep', state: 'MATCH', reason: 'still matches its enterprise id', best: top, review: null };
    }
    return {
      action: 'link',
      enterpriseId: target,
      state: 'MATCH',
      reason: current === null ? 'matched an existing enterprise id' : 'moved: now matches another enterprise id',
      best: top,
      review: null,
    };
  }
  if (matchIds.length > 1) {
    const review: ReviewRequest = { kind: 'POSSIBLE_DUPLICATE', enterpriseIds: matchIds, candidates: matches };
    if (current !== null) {
      return { action: 'keep', state: 'POSSIBLE_MATCH', reason: 'matches several enterprise ids', best, review };
    }
    return { action: 'new', state: 'POSSIBLE_MATCH', reason: 'matches several enterprise ids: new id, duplicate task', best, review };
  }

  const reviewIds = distinct(possibles.map((c) => c.enterpriseId).filter((id) => id !== current?.enterpriseId));
  const review: ReviewRequest | null =
    reviewIds.length === 0
      ? null
      : {
          kind: 'POSSIBLE_MATCH',
          enterpriseIds: reviewIds,
          candidates: possibles.filter((c) => c.enterpriseId !== current?.enterpriseId),
        };
  if (current === null) {
    return {
      action: 'new',
      state: 'MATCH',
      reason: review === null ? 'no candidate above the review threshold' : 'possible matches only: new id, review task',
      best,
      review,
    };
  }
  const stillWithMembers = candidates.some(
    (c) => c.enterpriseId === current.enterpriseId && (c.decision !== 'NO_MATCH' || c.manual === true),
  );
  if (current.otherMembers > 0 && !stillWithMembers) {
    return {
      action: 'new',
      state: 'MATCH',
      reason: 'moved: no longer matches the other records of its enterprise id',
      best,
      review,
    };
  }
  return {
    action: 'keep',
    state:
      current.otherMembers > 0 &&
      !candidates.some((c) => c.enterpriseId === current.enterpriseId && (c.decision === 'MATCH' || c.manual === true))
      ? 'POSSIBLE_MATCH'
      : 'MATCH',
    reason: 'no better enterprise id',
    best,
    review,
  };
}
