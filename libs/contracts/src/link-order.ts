/**
 * How consumers order MPI link decisions (MpiLinkChanged on hie.mpi.link) about one source record.
 *
 * Link events are keyed by source record, so they normally arrive in order; but a replay, a retry
 * through `<topic>.<group>.retry` or a re-partitioned topic can deliver an older decision after a
 * newer one. A projection therefore keeps the decision with the greatest (decidedAt, eventId):
 * whatever the arrival order, every replica and every replay ends on the same row.
 */
export interface OrderedLinkDecision {
  /** ISO 8601 instant at which the MPI made the decision (event data `decidedAt`). */
  readonly decidedAt: string;
  /** CloudEvents id of the link event: the tie-breaker for decisions made in the same instant. */
  readonly eventId: string;
}

/** True when `incoming` is newer than `current` (or there is no current decision). */
export function linkDecisionSupersedes(
  incoming: OrderedLinkDecision,
  current: OrderedLinkDecision | undefined,
): boolean {
  if (current === undefined) return true;
  const a = Date.parse(incoming.decidedAt);
  const b = Date.parse(current.decidedAt);
  if (Number.isNaN(a)) throw new Error('decidedAt of the incoming link decision is not an instant');
  if (a !== b) return Number.isNaN(b) || a > b;
  return incoming.eventId > current.eventId;
}
