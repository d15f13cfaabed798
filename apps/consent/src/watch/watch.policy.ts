import { createHash } from 'node:crypto';

/**
 * The privacy officer's watch for one pattern (README "Sudden patterns"): an institution registers
 * persons it never treated — source records the MPI MATCH-links (first or by a move) to persons
 * other institutions already hold — and then queries them. Pure rules; the consumer keeps the facts.
 */

/** The window [start, end] that ends at `at` (event time, never the wall clock). */
export function windowEndingAt(
  at: Date,
  windowMinutes: number,
): { readonly start: Date; readonly end: Date } {
  return { start: new Date(at.getTime() - windowMinutes * 60_000), end: at };
}

/**
 * A query counts when the person was registered by the querying institution before it
 * (`registeredAt` ≤ `queriedAt`, however long before: waiting out a window must not evade the
 * watch) and someone else already held the person then. Only the first query of each registered
 * person counts (the caller keeps one hit per institution and person); the window bounds how many
 * such first queries make an alert.
 */
export function isRegisteredThenQueried(
  registeredAt: Date,
  otherHolders: readonly string[],
  institutionId: string,
  queriedAt: Date,
): boolean {
  return registeredAt <= queriedAt && otherHolders.some((h) => h !== institutionId);
}

/**
 * Open an alert when the count in the window exceeds the threshold, unless one was opened for the
 * institution within the same window (`lastAlertAt`: the end of its newest alert's window).
 */
export function shouldOpenAlert(
  count: number,
  threshold: number,
  lastAlertAt: Date | null,
  at: Date,
  windowMinutes: number,
): boolean {
  if (count <= threshold) return false;
  return lastAlertAt === null || lastAlertAt <= windowEndingAt(at, windowMinutes).start;
}

/**
 * The alert's id, derived from the institution and the audit event that tipped the count: handling
 * the same event again (a transaction group retried record by record) names the same alert.
 */
export function alertIdOf(institutionId: string, eventId: string): string {
  const h = createHash('sha256').update(`${institutionId}|${eventId}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h.slice(16, 18), 16) & 0x3f) | 0x80).toString(16)}${h.slice(18, 20)}-${h.slice(20, 32)}`;
}
