import { parseHl7 } from '@tessera/hl7v2';

/*
 * Reads the parts of an acknowledgment a sender acts on (HL7 v2.x Chapter 2 §2.14.8 MSA, §2.14.5
 * ERR): MSA-1 acknowledgment code (table 0008: AA/AE/AR original mode, CA/CE/CR enhanced mode),
 * MSA-2 the acknowledged MSH-10, and per ERR segment the table 0357 code (ERR-3.1 from v2.5, ERR-1.4.1
 * before) with the most readable text available (ERR-8 user message, ERR-7 diagnostic, ERR-3.2, MSA-3).
 */

export interface AckError {
  /** HL7 table 0357 code, e.g. "101"; '' when the ERR segment carries none. */
  readonly code: string;
  /** ERR-2 location as sent (segment^sequence^field…), '' when absent. */
  readonly location: string;
  readonly text: string;
}

export interface AckSummary {
  /** MSA-1; '' when the response has no MSA segment. */
  readonly code: string;
  /** MSA-2. */
  readonly controlId: string;
  /** MSA-3 (deprecated from v2.5 on, still sent for v2.1–2.4). */
  readonly textMessage: string;
  readonly errors: readonly AckError[];
}

/** Summarizes an ACK text; throws Hl7ParseError when it is not HL7 at all. */
export function readAck(text: string): AckSummary {
  const message = parseHl7(text);
  const msa = message.first('MSA');
  const textMessage = msa?.value(3) ?? '';
  const errors = message.all('ERR').map((err): AckError => {
    const code = err.value(3, 1) || err.value(1, 4);
    const text = err.value(8) || err.value(7) || err.value(3, 2) || err.value(1, 4, 2) || textMessage;
    const location = err.repetitions(2)[0]?.text ?? '';
    return { code, location, text };
  });
  return { code: msa?.value(1) ?? '', controlId: msa?.value(2) ?? '', textMessage, errors };
}

/** Whether an MSA-1 code is positive (AA application accept, CA commit accept). */
export function isPositiveAck(code: string): boolean {
  return code === 'AA' || code === 'CA';
}
