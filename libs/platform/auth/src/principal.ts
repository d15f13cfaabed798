/**
 * Who is calling, as established from a verified access token. Every HTTP API of the platform
 * sees callers only through this.
 */

/** Operator roles (regional platform staff and hospital interface analysts). */
export const OPERATOR_ROLES = [
  'platform.admin', // institutions and client registrations
  'ledger.read', // message ledger search/detail/raw (own institution only when the client has one)
  'ledger.replay', // replay and pruning
  'mpi.review', // review queue, manual link/unlink/merge/unmerge
  'consent.read', // consent lookup
  'consent.write', // record consents on a patient's behalf
  'audit.read', // audit search and "who accessed my record"
  'privacy.officer', // break-the-glass reviews
] as const;
export type OperatorRole = (typeof OPERATOR_ROLES)[number];

/**
 * The roles whose routes narrow what they do to the caller's institution (the ledger filters by
 * the client's institution). Every other role acts across the whole region, so an operator client
 * bound to one institution may hold only these (refused at registration and by the role check).
 */
export const INSTITUTION_SCOPED_ROLES: readonly OperatorRole[] = ['ledger.read', 'ledger.replay'];

export function isInstitutionScopedRole(role: string): boolean {
  return (INSTITUTION_SCOPED_ROLES as readonly string[]).includes(role);
}

export { Audiences, SERVICE_ROLE_EXCHANGE } from '@tessera/contracts';
export type { PrincipalKind } from '@tessera/contracts';
import type { PrincipalKind } from '@tessera/contracts';

export interface Principal {
  readonly kind: PrincipalKind;
  readonly clientId: string;
  /** The institution the client belongs to (null for regional operators and services). */
  readonly institutionId: string | null;
  /** SMART scopes granted, e.g. `system/DocumentReference.read` (institution clients). */
  readonly scopes: readonly string[];
  /** Operator roles granted (operator clients) or the service role (services). */
  readonly roles: readonly string[];
  readonly tokenId: string;
  readonly expiresAt: number; // epoch seconds
}
