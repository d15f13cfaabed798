import type { AckCondition, AckOutcome } from './ack-mode.policy';
import { ackMode, ackRequired, applicationAckRequested, immediateAckCode } from './ack-mode.policy';

const header = (acceptAckType: string, applicationAckType: string) => ({ acceptAckType, applicationAckType });

describe('ackMode (Chapter 2 §2.9.2 / §2.9.3)', () => {
  it('is original mode when MSH-15 and MSH-16 are both empty', () => {
    const plan = ackMode(header('', ' '));
    expect(plan.mode).toBe('original');
    expect(immediateAckCode(plan, 'accepted')).toBe('AA');
    expect(immediateAckCode(plan, 'error')).toBe('AE');
    expect(immediateAckCode(plan, 'rejected')).toBe('AR');
    expect(applicationAckRequested(plan, 'accepted')).toBe(false);
  });

  it('is enhanced mode when either is valued', () => {
    expect(ackMode(header('NE', ''))).toEqual({ mode: 'enhanced', acceptAck: 'NE', applicationAck: 'AL' });
    expect(ackMode(header('', 'ER'))).toEqual({ mode: 'enhanced', acceptAck: 'AL', applicationAck: 'ER' });
    expect(ackMode(header('su', 'al'))).toEqual({ mode: 'enhanced', acceptAck: 'SU', applicationAck: 'AL' });
    expect(ackMode(header('XX', 'NE'))).toEqual({ mode: 'enhanced', acceptAck: 'AL', applicationAck: 'NE' });
  });

  it.each<[string, AckOutcome, string | undefined]>([
    ['AL', 'accepted', 'CA'],
    ['AL', 'error', 'CE'],
    ['AL', 'rejected', 'CR'],
    ['NE', 'accepted', undefined],
    ['NE', 'rejected', undefined],
    ['ER', 'accepted', undefined],
    ['ER', 'error', 'CE'],
    ['ER', 'rejected', 'CR'],
    ['SU', 'accepted', 'CA'],
    ['SU', 'rejected', undefined],
  ])('MSH-15 %s, outcome %s → %s', (msh15, outcome, expected) => {
    expect(immediateAckCode(ackMode(header(msh15, 'NE')), outcome)).toBe(expected);
  });

  it('table 0155 conditions', () => {
    const table: Record<AckCondition, [boolean, boolean]> = { AL: [true, true], NE: [false, false], ER: [false, true], SU: [true, false] };
    for (const [condition, [onSuccess, onError]] of Object.entries(table) as [AckCondition, [boolean, boolean]][]) {
      expect(ackRequired(condition, 'accepted')).toBe(onSuccess);
      expect(ackRequired(condition, 'error')).toBe(onError);
    }
    expect(applicationAckRequested(ackMode(header('AL', 'SU')), 'accepted')).toBe(true);
    expect(applicationAckRequested(ackMode(header('AL', 'SU')), 'error')).toBe(false);
  });
});
