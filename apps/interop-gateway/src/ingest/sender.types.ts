import type { SenderAuthentication } from '@tessera/contracts';

/**
 * What a connection (or an access token) proved about who sends on it. Recorded with every
 * message in the ledger and carried on to the canonical events.
 */
export interface AuthenticatedSender {
  readonly authentication: SenderAuthentication;
  /** `CN=…` of the client certificate, the peer address, or the token's client id; absent for 'none'. */
  readonly identity?: string;
  /**
   * The institution the connection is bound to (certificate, institution port, token): MSH-4 must
   * be one of its facilities. Absent when MSH-4 is believed (a plain shared port).
   */
  readonly institutionId?: string;
  /** Where it came in, for security alerts: e.g. `mllp shared :2575`, `mllp riverside :12575`, `http /hl7/batch`. */
  readonly listener: string;
}
