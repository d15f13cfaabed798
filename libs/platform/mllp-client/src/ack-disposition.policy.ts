import { isHl7ParseError, parseHl7 } from '@tessera/hl7v2';
import type { Hl7Message } from '@tessera/hl7v2';

/*
 * What a sender does with the acknowledgment of one message it sent, decided from MSA-1 (HL7 v2.5.1
 * Chapter 2 §2.9.2 original-mode and §2.9.3 enhanced-mode acknowledgment rules, HL7 table 0008):
 *
 * - AA / CA: the receiving application processed the message (AA) or the receiving system took
 *   responsibility for it (CA, enhanced mode). Delivered.
 * - AE / CE: the receiver found an error in processing this message (AE), or its message handling
 *   service cannot accept it "for any other reason" (CE). The receiver has looked at this message
 *   and refused it: the same bytes will be refused again, so the sender parks it for a person to
 *   fix (mapping, subscription or the receiver's configuration) instead of resending it as is.
 * - AR / CR: the receiver failed to process the message for reasons unrelated to its content or
 *   format (§2.9.2: "system down or internal error"), and table 0008 leaves it to the sender to send
 *   it again. The sender resends later. AR/CR are also the answer to an MSH-9, MSH-11 or MSH-12
 *   value the receiver does not accept, which no resend cures: retries must be capped and end
 *   parked, never loop.
 * - anything else (not HL7, no MSA, an MSA-1 outside table 0008, MSA-2 not echoing the MSH-10 that
 *   was sent) is invalid: the answer cannot be attributed to this message, so it proves nothing
 *   about delivery.
 *
 * `error` carries the receiver's explanation (ERR-8 user message, else ERR-3 error code: its
 * original text ERR-3.9, as HAPI writes its exception there, else its text ERR-3.2; else MSA-3 text
 * message), trimmed to 200 characters. Receivers sometimes quote field values in it
 * (HAPI: "Primitive value '…' requires to be …"), so quoted runs are masked: the text can be stored
 * and shown to operators without carrying the message's content.
 */

export type AckDisposition =
  | { readonly kind: 'accepted'; readonly code: 'AA' | 'CA' }
  /** The receiver refuses this message: do not resend as is. */
  | { readonly kind: 'rejected'; readonly code: 'AE' | 'CE'; readonly error?: string }
  /** The receiver could not take it now: send again later. */
  | { readonly kind: 'retry'; readonly code: 'AR' | 'CR'; readonly error?: string }
  /** Not an ACK, or MSA-2 does not echo our MSH-10. */
  | { readonly kind: 'invalid'; readonly reason: string };

/** Longest `error` text kept, in characters. */
export const ACK_ERROR_MAX_LENGTH = 200;

/**
 * Reads the acknowledgment `ackText` (as received, segments CR-separated) of the message sent with
 * MSH-10 = `sentControlId`. Pure; never throws.
 */
export function readAckDisposition(ackText: string, sentControlId: string): AckDisposition {
  let message: Hl7Message;
  try {
    message = parseHl7(ackText);
  } catch (error) {
    const detail = isHl7ParseError(error) ? ` (${error.code})` : '';
    return { kind: 'invalid', reason: `The response is not an HL7 v2 message${detail}.` };
  }
  const msa = message.first('MSA');
  if (msa === undefined) return { kind: 'invalid', reason: 'The response has no MSA segment.' };
  if (msa.value(2) !== sentControlId) {
    return { kind: 'invalid', reason: 'MSA-2 does not echo the MSH-10 of the message sent.' };
  }
  const code = msa.value(1);
  switch (code) {
    case 'AA':
    case 'CA':
      return { kind: 'accepted', code };
    case 'AE':
    case 'CE':
      return withError({ kind: 'rejected', code }, errorText(message));
    case 'AR':
    case 'CR':
      return withError({ kind: 'retry', code }, errorText(message));
    default:
      return { kind: 'invalid', reason: 'MSA-1 is not an acknowledgment code of HL7 table 0008.' };
  }
}

function withError<T extends { readonly kind: 'rejected' | 'retry' }>(
  disposition: T,
  error: string | undefined,
): T & { readonly error?: string } {
  return error === undefined ? disposition : { ...disposition, error };
}

/** ERR-8, else ERR-3.9, else ERR-3.2, of the first ERR segment that has one; else MSA-3. */
function errorText(message: Hl7Message): string | undefined {
  let text = '';
  for (const err of message.all('ERR')) {
    text = err.value(8).trim() || err.value(3, 9).trim() || err.value(3, 2).trim();
    if (text !== '') break;
  }
  if (text === '') text = message.first('MSA')?.value(3).trim() ?? '';
  if (text === '') return undefined;
  const masked = text.replace(/\s+/g, ' ').replace(/'[^']*'|"[^"]*"/g, "'…'");
  return masked.length <= ACK_ERROR_MAX_LENGTH ? masked : `${masked.slice(0, ACK_ERROR_MAX_LENGTH - 1)}…`;
}
