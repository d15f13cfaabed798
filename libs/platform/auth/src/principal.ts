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

/** The exchange calling the MPI / registry / consent service on a request's behalf. */
export const SERVICE_ROLE_EXCHANGE = 'service.exchange';

export type PrincipalKind = 'institution' | 'operator' | 'service';

/** Token audiences: which API family a token is for. */
export const Audiences = {
  /** Institutions' FHIR API (the exchange); the configured FHIR base URL is also accepted. */
  exchange: 'tessera:exchange',
  /** Operator APIs of every service. */
  operator: 'tessera:operator',
  /** Service-to-service calls inside the platform. */
  internal: 'tessera:internal',
} as const;

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
