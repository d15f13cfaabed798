/**
 * The registry's projection of MPI link decisions (hie.mpi.link, docs/architecture.md "Identity
 * (MPI)"): one row per source record = (assigning authority system, local id), holding the newest
 * decision.
 *
 * Link events are keyed by source record, so they normally arrive in order; but a replay, a retry
 * through `<topic>.<group>.retry` or a re-partitioned topic can deliver an older decision after a
 * newer one. The projection therefore keeps the decision with the greatest (decidedAt, eventId):
 * whatever the arrival order, every replica and every replay ends on the same row.
 *
 * The MPI already guarantees that manual decisions are not overridden by the engine (a later AUTO
 * event is only emitted when the engine is allowed to decide), so the projection does not second-
 * guess origins: it mirrors the MPI's newest decision.
 */
import { linkDecisionSupersedes } from '@tessera/contracts';

export type LinkState = 'MATCH' | 'POSSIBLE_MATCH' | 'NO_MATCH';
export type LinkOrigin = 'AUTO' | 'MANUAL';

export interface LinkDecision {
  readonly enterpriseId: string | null;
  readonly state: LinkState;
  readonly origin: LinkOrigin;
  /** ISO 8601 instant at which the MPI made the decision (event data `decidedAt`). */
  readonly decidedAt: string;
  /** CloudEvents id of the link event: the tie-breaker for decisions made in the same instant. */
  readonly eventId: string;
}

/** True when `incoming` is newer than `current` (the shared ordering rule of libs/contracts). */
export function supersedes(incoming: LinkDecision, current: LinkDecision | undefined): boolean {
  return linkDecisionSupersedes(incoming, current);
}

/**
 * How a source record is joined to a person, as shown to consumers of the registry: `manual` (an
 * operator linked it), `auto` (the engine linked it above the auto-link threshold) or `probable`
 * (a possible match awaiting review). NO_MATCH or no enterprise id: not joined.
 */
export type LinkConfidence = 'auto' | 'manual' | 'probable';

export function linkConfidence(
  decision: Pick<LinkDecision, 'state' | 'origin' | 'enterpriseId'>,
): LinkConfidence | null {
  if (decision.enterpriseId === null) return null;
  switch (decision.state) {
    case 'MATCH':
      return decision.origin === 'MANUAL' ? 'manual' : 'auto';
    case 'POSSIBLE_MATCH':
      return 'probable';
    case 'NO_MATCH':
      return null;
  }
}
