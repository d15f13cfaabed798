import { ackMode, Hl7ErrorCodes } from '@tessera/hl7v2';
import type { Hl7AckError, Hl7AckPlan, Hl7Message } from '@tessera/hl7v2';
import type { MappingError, MappingOutcome } from '@tessera/v2-fhir';
import type { Institution } from '../institutions/institution';

/**
 * What the exchange takes, and what it answers when a message is not acceptable.
 * Codes are HL7 table 0357; locations are segment/field as in ERR-2 (v2.5 §2.15.5).
 * Error texts name what is wrong and where, and what to do; they never echo message content.
 */
export const SUPPORTED_MESSAGES: Readonly<Record<string, readonly string[]>> = {
  ADT: ['A01', 'A02', 'A03', 'A04', 'A05', 'A06', 'A07', 'A08', 'A11', 'A12', 'A13', 'A28', 'A31', 'A40'],
  ORU: ['R01'],
  MDM: ['T02', 'T04', 'T08', 'T10'],
};

/** HL7 versions whose syntax and segments the exchange understands (MSH-12). */
export const SUPPORTED_VERSIONS: ReadonlySet<string> = new Set([
  '2.3',
  '2.3.1',
  '2.4',
  '2.5',
  '2.5.1',
  '2.6',
  '2.7',
  '2.7.1',
  '2.8',
  '2.8.1',
  '2.8.2',
]);

/** MSH-11 processing ids (table 0103): production, training, debugging. */
const PROCESSING_IDS: ReadonlySet<string> = new Set(['P', 'T', 'D']);

export type Acceptance =
  | { readonly outcome: 'accepted' }
  | { readonly outcome: 'error' | 'rejected'; readonly errors: readonly Hl7AckError[] };

function reject(outcome: 'error' | 'rejected', error: Hl7AckError): Acceptance {
  return { outcome, errors: [{ severity: 'E', ...error }] };
}

/**
 * What the connection (or token) a message came on proved about its sender: the institution it is
 * bound to — by a client certificate, an institution's own port, or an access token — or none, when
 * MSH-4 is believed (a plain shared port).
 */
export interface SenderBinding {
  readonly institutionId?: string;
}

/** A message refused because of who sent it: the answer, and a reason for the security alert. */
export interface SenderRefusal {
  readonly acceptance: Acceptance & { readonly outcome: 'rejected' };
  readonly reason: string;
}

/**
 * Whether the sender may send as MSH-4. On a bound connection MSH-4 must be a facility of the bound
 * institution: it can never send in another institution's name. On an unbound (plain shared) port,
 * an institution that proves who it is elsewhere (TLS client certificate, allow-listed own port) is
 * refused: there, anyone could claim its MSH-4.
 *
 * Code 204 (table 0357, Unknown key identifier): MSH-4 is the key naming the sender, and it is
 * unknown among the facilities of the institution this connection proved to be. Not 207
 * (application internal error), which tells the sender the exchange failed and invites a resend
 * that could never succeed.
 */
export function assessSender(
  header: Pick<Hl7Message['header'], 'sendingFacility'>,
  claimed: Institution | undefined,
  binding: SenderBinding,
): SenderRefusal | undefined {
  const facility = header.sendingFacility;
  const refuse = (userMessage: string, reason: string): SenderRefusal => ({
    acceptance: {
      outcome: 'rejected',
      errors: [
        {
          severity: 'E',
          code: Hl7ErrorCodes.UnknownKeyIdentifier,
          location: { segment: 'MSH', sequence: 1, field: 4 },
          diagnostic: 'sending facility not authorized for this sender',
          userMessage,
        },
      ],
    },
    reason,
  });
  const bound = binding.institutionId;
  if (bound !== undefined) {
    if (claimed?.id === bound) return undefined;
    return refuse(
      `Sending facility (MSH-4) "${facility}" is not a facility of institution "${bound}", which this connection authenticated as; the message was not accepted. Send each facility's messages on its own institution's connection, or ask the exchange operators to register "${facility}" for "${bound}".`,
      `MSH-4 "${facility}" is not a sending facility of institution "${bound}"`,
    );
  }
  if (claimed !== undefined && (claimed.feed.tls || claimed.feed.allowedAddresses.length > 0)) {
    return refuse(
      `Institution "${claimed.id}" proves who sends its feed on its own port (${claimed.feed.tls ? 'TLS client certificate' : 'allow-listed source addresses'}); this port does not take its messages. Send them on that port.`,
      `MSH-4 "${facility}" of institution "${claimed.id}" sent on an unauthenticated port; the institution sends on its own authenticated port`,
    );
  }
  return undefined;
}

/** Decides whether a parsed message is taken (HL7 v2.x Chapter 2 §2.9.2: AR for what the receiver does not take, AE for content errors). */
export function assessMessage(message: Hl7Message, institution: Institution | undefined): Acceptance {
  const header = message.header;
  if (institution === undefined) {
    return reject('rejected', {
      code: Hl7ErrorCodes.UnknownKeyIdentifier,
      location: { segment: 'MSH', sequence: 1, field: 4 },
      userMessage: `Sending facility (MSH-4) "${header.sendingFacility}" is not a registered institution of this exchange. Ask the exchange operators to register it.`,
    });
  }
  if (header.controlId.trim() === '') {
    return reject('error', {
      code: Hl7ErrorCodes.RequiredFieldMissing,
      location: { segment: 'MSH', sequence: 1, field: 10 },
      userMessage: 'MSH-10 (message control id) is required and is empty.',
    });
  }
  if (!PROCESSING_IDS.has(header.processingId)) {
    return reject('rejected', {
      code: Hl7ErrorCodes.UnsupportedProcessingId,
      location: { segment: 'MSH', sequence: 1, field: 11 },
      userMessage: `MSH-11 (processing id) "${header.processingId}" is not supported; send P, T or D.`,
    });
  }
  if (!SUPPORTED_VERSIONS.has(header.version)) {
    return reject('rejected', {
      code: Hl7ErrorCodes.UnsupportedVersionId,
      location: { segment: 'MSH', sequence: 1, field: 12 },
      userMessage: `MSH-12 (version) "${header.version}" is not supported; the exchange takes HL7 v2.3 to v2.8.`,
    });
  }
  const triggers = SUPPORTED_MESSAGES[header.messageCode];
  if (triggers === undefined) {
    return reject('rejected', {
      code: Hl7ErrorCodes.UnsupportedMessageType,
      location: { segment: 'MSH', sequence: 1, field: 9, component: 1 },
      userMessage: `Message type (MSH-9.1) "${header.messageCode}" is not taken by this exchange; it takes ${Object.keys(SUPPORTED_MESSAGES).join(', ')}.`,
    });
  }
  if (!triggers.includes(header.triggerEvent)) {
    return reject('rejected', {
      code: Hl7ErrorCodes.UnsupportedEventCode,
      location: { segment: 'MSH', sequence: 1, field: 9, component: 2 },
      userMessage: `Trigger event (MSH-9.2) "${header.triggerEvent}" of ${header.messageCode} is not taken; supported: ${triggers.join(', ')}.`,
    });
  }
  return requiredContent(message);
}

function requiredContent(message: Hl7Message): Acceptance {
  const pid = message.first('PID');
  if (pid === undefined) {
    return reject('error', {
      code: Hl7ErrorCodes.SegmentSequenceError,
      location: { segment: 'PID' },
      userMessage: `${message.header.messageCode}^${message.header.triggerEvent} must contain a PID segment.`,
    });
  }
  if (pid.repetitions(3).every((r) => r.component(1).trim() === '')) {
    return reject('error', {
      code: Hl7ErrorCodes.RequiredFieldMissing,
      location: { segment: 'PID', sequence: 1, field: 3 },
      userMessage:
        'PID-3 (patient identifier list) is required: send at least one identifier with PID-3.1 valued.',
    });
  }
  const required: Readonly<Record<string, { segment: string; field?: number; what: string }>> = {
    A40: { segment: 'MRG', field: 1, what: 'MRG-1 (prior patient identifier list)' },
    R01: { segment: 'OBR', what: 'an OBR segment' },
    T02: { segment: 'TXA', what: 'a TXA segment' },
    T04: { segment: 'TXA', what: 'a TXA segment' },
    T08: { segment: 'TXA', what: 'a TXA segment' },
    T10: { segment: 'TXA', what: 'a TXA segment' },
  };
  const rule = required[message.header.triggerEvent];
  if (rule === undefined) return { outcome: 'accepted' };
  const segment = message.first(rule.segment);
  if (segment === undefined) {
    return reject('error', {
      code: Hl7ErrorCodes.SegmentSequenceError,
      location: { segment: rule.segment },
      userMessage: `${message.header.messageCode}^${message.header.triggerEvent} must contain ${rule.what}.`,
    });
  }
  if (
    rule.field !== undefined &&
    segment.repetitions(rule.field).every((r) => r.component(1).trim() === '')
  ) {
    return reject('error', {
      code: Hl7ErrorCodes.RequiredFieldMissing,
      location: { segment: rule.segment, sequence: 1, field: rule.field },
      userMessage: `${rule.what} is required and is empty.`,
    });
  }
  return { outcome: 'accepted' };
}

/** The acknowledgment plan for this feed: forced by the institution's setting or as MSH-15/16 ask. */
export function ackPlanFor(
  institution: Institution | undefined,
  message: Pick<Hl7Message, 'header'>,
): Hl7AckPlan {
  switch (institution?.feed.ackMode) {
    case 'original':
      return { mode: 'original', acceptAck: 'NE', applicationAck: 'AL' };
    case 'enhanced':
      return ackMode({
        acceptAckType: message.header.acceptAckType === '' ? 'AL' : message.header.acceptAckType,
        applicationAckType:
          message.header.applicationAckType === '' ? 'NE' : message.header.applicationAckType,
      });
    case 'message':
    case undefined:
      return ackMode(message.header);
  }
}

/**
 * What the mapper would make of the message (libs/v2-fhir, pure): content it cannot map — a
 * required field the IG needs (OBR-4, OBX-3, TXA-12, PV1-2…), a bad data type or table value — is
 * answered AE with the mapper's location now, while the sender can still fix and resend it, rather
 * than ACKed and found `failed` in the ledger later.
 */
export function assessMappability(outcome: MappingOutcome): Acceptance {
  switch (outcome.status) {
    case 'mapped':
      return { outcome: 'accepted' };
    case 'unsupported':
      return { outcome: 'rejected', errors: [ackErrorOf(outcome.error)] };
    case 'invalid':
      return { outcome: 'error', errors: outcome.errors.map(ackErrorOf) };
  }
}

function ackErrorOf(error: MappingError): Hl7AckError {
  const location = error.location;
  return {
    code: Number(error.hl7ErrorCode) as Hl7AckError['code'],
    severity: 'E',
    ...(location === undefined
      ? {}
      : {
          location: {
            segment: location.segment,
            sequence: location.sequence,
            ...(location.field === undefined ? {} : { field: location.field }),
            ...(location.repetition === undefined ? {} : { fieldRepetition: location.repetition }),
            ...(location.component === undefined ? {} : { component: location.component }),
          },
        }),
    userMessage: error.message,
  };
}
