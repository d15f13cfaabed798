import { ACK_ERROR_MAX_LENGTH, readAckDisposition } from './ack-disposition.policy';

const MSH = 'MSH|^~\\&|PRACTICE_EHR|NVFP|TESSERA|REGION|20260101120000+0000||ACK^A01^ACK|R1|P|2.5.1\r';
const ack = (...segments: string[]): string => MSH + segments.map((s) => `${s}\r`).join('');

describe('readAckDisposition', () => {
  it.each(['AA', 'CA'] as const)('%s with MSA-2 = our MSH-10 is accepted', (code) => {
    expect(readAckDisposition(ack(`MSA|${code}|N-1`), 'N-1')).toEqual({ kind: 'accepted', code });
  });

  it.each(['AE', 'CE'] as const)(
    '%s is rejected (park, do not resend) with the ERR-8 user message',
    (code) => {
      const text = ack(
        `MSA|${code}|N-1`,
        'ERR||PID^1^3|101^Required field missing^HL70357|E||||PID-3 is empty',
      );
      expect(readAckDisposition(text, 'N-1')).toEqual({ kind: 'rejected', code, error: 'PID-3 is empty' });
    },
  );

  it.each(['AR', 'CR'] as const)('%s is retry (send again later)', (code) => {
    const text = ack(`MSA|${code}|N-1`, 'ERR|||207^Application internal error^HL70357|E');
    expect(readAckDisposition(text, 'N-1')).toEqual({
      kind: 'retry',
      code,
      error: 'Application internal error',
    });
  });

  it('falls back from ERR-8 to ERR-3.9 (original text) to ERR-3.2 to MSA-3, and omits error when none is sent', () => {
    const hapi = ack(
      'MSA|AE|N-1',
      'ERR|||207^Application internal error^HL70357^^^^^^Validation failed at PV1-44(0)|E',
    );
    expect(readAckDisposition(hapi, 'N-1')).toEqual({
      kind: 'rejected',
      code: 'AE',
      error: 'Validation failed at PV1-44(0)',
    });
    expect(readAckDisposition(ack('MSA|AE|N-1|Unknown facility'), 'N-1')).toEqual({
      kind: 'rejected',
      code: 'AE',
      error: 'Unknown facility',
    });
    expect(readAckDisposition(ack('MSA|AR|N-1', 'ERR||PID'), 'N-1')).toEqual({ kind: 'retry', code: 'AR' });
    expect(
      readAckDisposition(ack('MSA|AE|N-1', 'ERR|||^^HL70357', 'ERR|||102^Data type error'), 'N-1'),
    ).toEqual({
      kind: 'rejected',
      code: 'AE',
      error: 'Data type error',
    });
  });

  it('trims the error to 200 characters and masks quoted values a receiver echoed', () => {
    const long = ack(`MSA|AE|N-1`, `ERR|||207|E||||${'x'.repeat(500)}`);
    const disposition = readAckDisposition(long, 'N-1');
    expect(disposition.kind === 'rejected' && disposition.error?.length).toBe(ACK_ERROR_MAX_LENGTH);

    const echoed = ack(
      'MSA|AE|N-1',
      "ERR|||207|E||||Validation failed: Primitive value 'Doe\\S\\Jane' requires to be empty or a HL7 datetime string at PID-7(0)",
    );
    expect(readAckDisposition(echoed, 'N-1')).toEqual({
      kind: 'rejected',
      code: 'AE',
      error:
        "Validation failed: Primitive value '…' requires to be empty or a HL7 datetime string at PID-7(0)",
    });
  });

  it('is invalid when MSA-2 does not echo our MSH-10 (a late or foreign ACK proves nothing)', () => {
    expect(readAckDisposition(ack('MSA|AA|N-0'), 'N-1')).toEqual({
      kind: 'invalid',
      reason: 'MSA-2 does not echo the MSH-10 of the message sent.',
    });
    expect(readAckDisposition(ack('MSA|AA|'), 'N-1').kind).toBe('invalid');
  });

  it('is invalid for text that is not an ACK: not HL7, no MSA, an MSA-1 outside table 0008', () => {
    expect(readAckDisposition('HTTP/1.1 400 Bad Request\r\n', 'N-1')).toMatchObject({ kind: 'invalid' });
    expect(readAckDisposition('', 'N-1')).toMatchObject({ kind: 'invalid' });
    expect(readAckDisposition(MSH, 'N-1')).toEqual({
      kind: 'invalid',
      reason: 'The response has no MSA segment.',
    });
    expect(readAckDisposition(ack('MSA|OK|N-1'), 'N-1')).toEqual({
      kind: 'invalid',
      reason: 'MSA-1 is not an acknowledgment code of HL7 table 0008.',
    });
    // Codes are case-sensitive table values.
    expect(readAckDisposition(ack('MSA|aa|N-1'), 'N-1').kind).toBe('invalid');
  });

  it('reads the control id unescaped, as the receiver echoed it', () => {
    expect(readAckDisposition(ack('MSA|AA|N\\F\\1'), 'N|1')).toEqual({ kind: 'accepted', code: 'AA' });
  });

  it('never puts the invalid response text into the reason', () => {
    const disposition = readAckDisposition('garbage with a name Jane Doe', 'N-1');
    expect(disposition.kind).toBe('invalid');
    expect(JSON.stringify(disposition)).not.toContain('Jane');
  });
});
