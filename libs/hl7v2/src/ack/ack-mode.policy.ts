import type { Hl7Header } from '../message';

/*
 * Acknowledgment modes, HL7 v2.x Chapter 2 §2.9.2 (original mode) and §2.9.3 (enhanced mode),
 * conditions from HL7 table 0155 (MSH-15 accept ack type, MSH-16 application ack type).
 *
 * - Both MSH-15 and MSH-16 empty → original mode: the receiver always answers with an
 *   application acknowledgment (AA / AE / AR) on the same connection.
 * - Either valued → enhanced mode: an accept (commit) acknowledgment CA / CE / CR is sent on the
 *   same connection under the MSH-15 condition once the message is safely stored; the
 *   application acknowledgment (AA / AE / AR) would be a separate message under MSH-16.
 * Decisions: in enhanced mode an empty or unknown (not in table 0155) value is treated as AL —
 * answering when unsure is safer than leaving a sender waiting for an ACK it expects.
 */

export type AckCondition = 'AL' | 'NE' | 'ER' | 'SU';
export type AckCode = 'AA' | 'AE' | 'AR' | 'CA' | 'CE' | 'CR';
/** What happened to the message: stored/processed, stored-but-erroneous, or refused. */
export type AckOutcome = 'accepted' | 'error' | 'rejected';

export interface Hl7AckPlan {
  readonly mode: 'original' | 'enhanced';
  /** Condition for the accept ACK sent on the connection (enhanced mode); 'NE' in original mode. */
  readonly acceptAck: AckCondition;
  /** Condition for the application ACK; 'AL' in original mode (it is the ACK on the connection). */
  readonly applicationAck: AckCondition;
}

const CONDITIONS: ReadonlySet<string> = new Set<AckCondition>(['AL', 'NE', 'ER', 'SU']);

export function ackMode(header: Pick<Hl7Header, 'acceptAckType' | 'applicationAckType'>): Hl7AckPlan {
  const accept = header.acceptAckType.trim().toUpperCase();
  const application = header.applicationAckType.trim().toUpperCase();
  if (accept === '' && application === '') return { mode: 'original', acceptAck: 'NE', applicationAck: 'AL' };
  return { mode: 'enhanced', acceptAck: toCondition(accept), applicationAck: toCondition(application) };
}

/** Whether an acknowledgment governed by `condition` is sent for `outcome` (table 0155). */
export function ackRequired(condition: AckCondition, outcome: AckOutcome): boolean {
  switch (condition) {
    case 'AL':
      return true;
    case 'NE':
      return false;
    case 'SU':
      return outcome === 'accepted';
    case 'ER':
      return outcome !== 'accepted';
  }
}

/**
 * The acknowledgment code to send back on the same connection for `outcome`, or undefined when
 * the sender asked for none (enhanced mode, MSH-15 NE / SU on error / ER on success).
 * Original mode: AA / AE / AR. Enhanced mode: CA / CE / CR.
 */
export function immediateAckCode(plan: Hl7AckPlan, outcome: AckOutcome): AckCode | undefined {
  if (plan.mode === 'original') return outcome === 'accepted' ? 'AA' : outcome === 'error' ? 'AE' : 'AR';
  if (!ackRequired(plan.acceptAck, outcome)) return undefined;
  return outcome === 'accepted' ? 'CA' : outcome === 'error' ? 'CE' : 'CR';
}

/** Whether the sender wants a later application ACK (enhanced mode only; MSH-16). */
export function applicationAckRequested(plan: Hl7AckPlan, outcome: AckOutcome): boolean {
  return plan.mode === 'enhanced' && ackRequired(plan.applicationAck, outcome);
}

function toCondition(value: string): AckCondition {
  return CONDITIONS.has(value) ? (value as AckCondition) : 'AL';
}
