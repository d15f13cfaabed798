/**
 * The platform's access-token contract (issued by the exchange, verified by every service): the
 * audiences, the kinds of principal, the signing algorithm and type. Here, not in platform-auth, so
 * that the test issuer (libs/testing) mints tokens without depending on the platform libraries.
 */

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

/** Access tokens are JWTs (RFC 9068) signed ES256 by the exchange, valid 5 minutes. */
export const ACCESS_TOKEN_ALGORITHM = 'ES256';
export const ACCESS_TOKEN_TYPE = 'at+jwt';
export const ACCESS_TOKEN_LIFETIME_SECONDS = 300;

/** The audience a token of each principal kind is issued for. */
export function audienceForKind(kind: PrincipalKind): string {
  switch (kind) {
    case 'institution':
      return Audiences.exchange;
    case 'operator':
      return Audiences.operator;
    case 'service':
      return Audiences.internal;
  }
}
