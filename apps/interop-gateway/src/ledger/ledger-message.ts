import type { SenderAuthentication } from '@tessera/contracts';
import type { Hl7AckError } from '@tessera/hl7v2';

/**
 * Where a ledger message is in its life:
 * - received: stored, not yet on Kafka (the ACK waits for publication; the republisher retries)
 * - published: on hie.inbound.hl7v2 (acks=all), ACKed positively
 * - mapped / failed: the mapper produced canonical events, or could not (state_detail says why)
 * - rejected: answered AE/AR, kept for operators, never published
 * - unparseable: not an HL7 message we could read, kept with its error
 */
export type LedgerState = 'received' | 'published' | 'mapped' | 'failed' | 'rejected' | 'unparseable';

/** A message as the ingest path records it, before it is stored. */
export interface NewLedgerMessage {
  readonly id: string;
  readonly receivedAt: Date;
  readonly institutionId: string | null;
  readonly sendingApplication: string;
  readonly sendingFacility: string;
  readonly messageType: string;
  readonly controlId: string;
  readonly hl7Version: string;
  readonly contentSha256: string;
  readonly charset: string;
  readonly raw: Buffer;
  /** Decoded text (not stored: `raw` + `charset` are the record); published for accepted messages. */
  readonly text: string | null;
  readonly peer: string;
  readonly channel: 'mllp' | 'http';
  /** How the sender was authenticated on its connection (or by its token). */
  readonly senderAuthentication: SenderAuthentication;
  /** `CN=…`, the peer address or the token's client id; null when nothing was authenticated. */
  readonly senderIdentity: string | null;
  /** Kafka key: institution|local patient id, so one patient's messages stay in order. */
  readonly partitionKey: string;
  readonly ackMode: 'original' | 'enhanced';
  readonly ackCode: string | null;
  readonly ackErrors: readonly Hl7AckError[];
  readonly state: Extract<LedgerState, 'received' | 'rejected' | 'unparseable'>;
  readonly stateDetail: string | null;
  /**
   * Refused because of who sent it (MSH-4 not a facility of the authenticated institution, or an
   * institution that authenticates elsewhere claimed on a plain port). Such a row is never the
   * original of a repeat: each attempt is stored as its own row.
   */
  readonly senderRefused: boolean;
}

/**
 * What storing a message found: it is new, or it repeats one already stored by the same institution
 * (same institution, facility, MSH-10 and bytes; never one refused because of its sender).
 */
export interface StoredOutcome {
  readonly id: string;
  readonly duplicate: boolean;
  readonly state: LedgerState;
  readonly ackCode: string | null;
  readonly ackErrors: readonly Hl7AckError[];
}

export type DurableResult =
  | { readonly durable: true; readonly stored: StoredOutcome }
  | {
      readonly durable: false;
      readonly reason: 'database' | 'kafka' | 'timeout';
      readonly stored?: StoredOutcome;
    };
