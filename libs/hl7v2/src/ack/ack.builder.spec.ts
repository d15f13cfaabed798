import { decodeHl7Bytes, encodeHl7Text, Hl7CharsetError } from '../charset/hl7-charset.codec';
import { parseHl7 } from '../parse/hl7-message.parser';
import { Hl7ParseError } from '../parse/hl7-parse.error';
import { ackErrorFor, buildAck, buildAckForUnparseable, formatDtm, recoverHeaderFragments } from './ack.builder';
import { ackMode, immediateAckCode } from './ack-mode.policy';
import { Hl7ErrorCodes } from './hl7-error-code.const';

const NOW = new Date('2024-03-01T09:15:30.000Z');
const TESSERA = { sendingApplication: 'TESSERA', sendingFacility: 'HIE', now: NOW } as const;

const ADT_A01_251 = [
  'MSH|^~\\&|EPIC^1.2.3.4^ISO|CITYHOSP|TESSERA|HIE|20240301101500+0100||ADT^A01^ADT_A01|MSG00001|P|2.5.1||||||UNICODE UTF-8',
  'EVN|A01|20240301101500',
  'PID|1||MRN12345^^^CITYHOSP^MR||Doe^Jane',
  'PV1|1|I',
].join('\r');

describe('buildAck (golden ACKs)', () => {
  it('AA for an ADT^A01 v2.5.1', () => {
    const ack = buildAck(parseHl7(ADT_A01_251), { ...TESSERA, code: 'AA', controlId: 'ACK0001' });
    expect(ack).toBe(
      'MSH|^~\\&|TESSERA|HIE|EPIC^1.2.3.4^ISO|CITYHOSP|20240301091530+0000||ACK^A01^ACK|ACK0001|P|2.5.1||||||UNICODE UTF-8\r' +
        'MSA|AA|MSG00001\r',
    );
  });

  it('AE with ERR for a missing PID-3', () => {
    const ack = buildAck(parseHl7(ADT_A01_251), {
      ...TESSERA,
      code: 'AE',
      controlId: 'ACK0002',
      errors: [
        {
          code: Hl7ErrorCodes.RequiredFieldMissing,
          location: { segment: 'PID', field: 3 },
          userMessage: 'PID-3 (patient identifier list) is required: send at least one identifier.',
        },
      ],
    });
    expect(ack).toBe(
      'MSH|^~\\&|TESSERA|HIE|EPIC^1.2.3.4^ISO|CITYHOSP|20240301091530+0000||ACK^A01^ACK|ACK0002|P|2.5.1||||||UNICODE UTF-8\r' +
        'MSA|AE|MSG00001\r' +
        'ERR||PID^1^3^1|101^Required field missing^HL70357|E||||PID-3 (patient identifier list) is required: send at least one identifier.\r',
    );
    // The ACK is itself a valid message.
    const parsed = parseHl7(ack);
    expect(parsed.first('ERR')!.value(3, 1)).toBe('101');
    expect(parsed.first('ERR')!.value(8)).toBe('PID-3 (patient identifier list) is required: send at least one identifier.');
  });

  it('AR 200 for an unsupported message type', () => {
    const msg = parseHl7('MSH|^~\\&|LAB|CITYHOSP|TESSERA|HIE|20240301||QRY^A19^QRY_A19|Q77|P|2.5\rQRD|1');
    const ack = buildAck(msg, {
      ...TESSERA,
      code: 'AR',
      controlId: 'ACK0003',
      errors: [
        {
          code: Hl7ErrorCodes.UnsupportedMessageType,
          location: { segment: 'MSH', field: 9, component: 1 },
          userMessage: 'Message type QRY is not accepted by Tessera; supported: ADT, ORU, MDM, SIU.',
        },
      ],
    });
    expect(ack).toBe(
      'MSH|^~\\&|TESSERA|HIE|LAB|CITYHOSP|20240301091530+0000||ACK^A19^ACK|ACK0003|P|2.5\r' +
        'MSA|AR|Q77\r' +
        'ERR||MSH^1^9^1^1|200^Unsupported message type^HL70357|E||||Message type QRY is not accepted by Tessera; supported: ADT, ORU, MDM, SIU.\r',
    );
  });

  it('CA for enhanced mode (MSH-15 AL)', () => {
    const msg = parseHl7('MSH|^~\\&|RIS|NORTH|TESSERA|HIE|20240301||ORU^R01^ORU_R01|R1|P|2.6|||AL|NE\rPID|1||X');
    const plan = ackMode(msg.header);
    expect(plan).toEqual({ mode: 'enhanced', acceptAck: 'AL', applicationAck: 'NE' });
    const code = immediateAckCode(plan, 'accepted');
    expect(code).toBe('CA');
    expect(buildAck(msg, { ...TESSERA, code: code!, controlId: 'ACK0004' })).toBe(
      'MSH|^~\\&|TESSERA|HIE|RIS|NORTH|20240301091530+0000||ACK^R01^ACK|ACK0004|P|2.6\rMSA|CA|R1\r',
    );
  });

  it('v2.3 / v2.4 originals: ERR-1 in ELD form, MSA-3 text, no MSH-9.3 for v2.3', () => {
    const v23 = parseHl7('MSH|^~\\&|OLD|SYS|TESSERA|HIE|20240301||ADT^A08|OLD1|P|2.3\rPID|1');
    const err = { code: Hl7ErrorCodes.RequiredFieldMissing, location: { segment: 'PID', field: 3 }, userMessage: 'PID-3 is required.' } as const;
    expect(buildAck(v23, { ...TESSERA, code: 'AE', controlId: 'A5', errors: [err] })).toBe(
      'MSH|^~\\&|TESSERA|HIE|OLD|SYS|20240301091530+0000||ACK^A08|A5|P|2.3\r' +
        'MSA|AE|OLD1|PID-3 is required.\r' +
        'ERR|PID^1^3^101&Required field missing&HL70357|PID^1^3^1|101^Required field missing^HL70357|E||||PID-3 is required.\r',
    );
    const v24 = parseHl7('MSH|^~\\&|OLD|SYS|TESSERA|HIE|20240301||ADT^A08|OLD2|T|2.4\rPID|1');
    const ack = buildAck(v24, { ...TESSERA, code: 'AE', controlId: 'A6', errors: [err] });
    expect(ack.split('\r')[0]).toContain('|ACK^A08^ACK|A6|T|2.4');
    expect(parseHl7(ack).first('ERR')!.value(1, 4, 1)).toBe('101');
  });

  it('escapes delimiters in texts and echoes values that needed escaping', () => {
    const msg = parseHl7('MSH|^~\\&|A\\T\\B|F\\S\\1|TESSERA|HIE|20240301||ADT^A01|C\\F\\1|P|2.5\rPID|1');
    const ack = buildAck(msg, {
      ...TESSERA,
      code: 'AE',
      controlId: 'X|1',
      errors: [{ code: Hl7ErrorCodes.DataTypeError, severity: 'W', userMessage: 'PID-7 must be a date|time^like 20240101', diagnostic: 'line1\nline2' }],
    });
    const parsed = parseHl7(ack);
    expect(parsed.header.controlId).toBe('X|1');
    expect(parsed.header.receivingApplication).toBe('A&B');
    expect(parsed.header.receivingFacility).toBe('F^1');
    expect(parsed.first('MSA')!.value(2)).toBe('C|1');
    const errSeg = parsed.first('ERR')!;
    expect(errSeg.value(4)).toBe('W');
    expect(errSeg.value(7)).toBe('line1\nline2');
    expect(errSeg.value(8)).toBe('PID-7 must be a date|time^like 20240101');
    expect(errSeg.value(2)).toBe('');
  });

  it('accepts header fragments instead of a parsed message', () => {
    const ack = buildAck(
      { sendingApplication: 'X', sendingFacility: 'Y', triggerEvent: 'A04', controlId: 'Z9', processingId: 'P', version: '2.5.1', characterSet: '8859/1' },
      { ...TESSERA, code: 'AA', controlId: 'A7' },
    );
    expect(ack).toBe('MSH|^~\\&|TESSERA|HIE|X|Y|20240301091530+0000||ACK^A04^ACK|A7|P|2.5.1||||||8859/1\rMSA|AA|Z9\r');
  });

  it('the ACK round-trips through the original charset (GB 18030)', () => {
    const msg = parseHl7('MSH|^~\\&|HIS|BJ|TESSERA|HIE|20240301||ADT^A01|G1|P|2.5|||||CHN|GB 18030-2000\rPID|1||1||张^伟');
    const ack = buildAck(msg, { ...TESSERA, code: 'AA', controlId: 'A8' });
    const bytes = encodeHl7Text(ack, msg.header.characterSet);
    expect(decodeHl7Bytes(bytes, 'ASCII')).toEqual({ text: ack, charset: 'GB 18030-2000', usedDefault: false });
  });
});

describe('buildAckForUnparseable', () => {
  it('recovers MSH-10 and friends from a message whose MSH-2 is broken', () => {
    const raw = 'MSH|^^|LAB|CITYHOSP|TESSERA|HIE|20240301||ORU^R01|BROKEN7|P|2.4||||||8859/1\rPID|1||SECRET';
    let parseError: Hl7ParseError | undefined;
    try {
      parseHl7(raw);
    } catch (e) {
      parseError = e as Hl7ParseError;
    }
    expect(parseError).toBeInstanceOf(Hl7ParseError);
    const ack = buildAckForUnparseable(raw, { ...TESSERA, controlId: 'N1', errors: [ackErrorFor(parseError!)] });
    expect(ack).toBe(
      'MSH|^~\\&|TESSERA|HIE|LAB|CITYHOSP|20240301091530+0000||ACK^R01^ACK|N1|P|2.4||||||8859/1\r' +
        'MSA|AR|BROKEN7|MSH-2 (encoding characters) must be 4 distinct non-alphanumeric characters (component, repetition, escape, sub-component), optionally followed by the v2.7 truncation character.\r' +
        'ERR|MSH^1^2^102&Data type error&HL70357|MSH^1^2^1|102^Data type error^HL70357|E|||INVALID_ENCODING_CHARACTERS at segment 1|MSH-2 (encoding characters) must be 4 distinct non-alphanumeric characters (component, repetition, escape, sub-component), optionally followed by the v2.7 truncation character.\r',
    );
    expect(ack).not.toContain('SECRET');
  });

  it('falls back to defaults when nothing can be recovered', () => {
    const ack = buildAckForUnparseable('not hl7 at all', { ...TESSERA, controlId: 'N2', code: 'CR' });
    expect(ack).toBe('MSH|^~\\&|TESSERA|HIE|||20240301091530+0000||ACK^^ACK|N2|P|2.5.1\rMSA|CR\r');
    expect(parseHl7(ack).header.controlId).toBe('N2');
  });

  it('maps a charset error to ERR on MSH-18 with code 103', () => {
    const err = ackErrorFor(new Hl7CharsetError('UNKNOWN_CHARSET', 'KLINGON', 'MSH-18', 'MSH-18 declares character set "KLINGON"'));
    expect(err).toMatchObject({ code: 103, location: { segment: 'MSH', field: 18 } });
    const ack = buildAckForUnparseable('MSH|^~\\&|A|B|||||ADT^A01|K1|P|2.5.1||||||KLINGON', { ...TESSERA, controlId: 'N3', errors: [err] });
    expect(ack.split('\r')[2]).toBe('ERR||MSH^1^18^1|103^Table value not found^HL70357|E||||MSH-18 declares character set "KLINGON"');
  });

  it('maps segment-level parse errors to code 100 without a field', () => {
    try {
      parseHl7('MSH|^~\\&|A|B|||||ADT^A01|C|P|2.5\rPID|1\rMSH|^~\\&|A');
    } catch (e) {
      expect(ackErrorFor(e as Hl7ParseError)).toEqual({
        code: 100,
        severity: 'E',
        location: { segment: 'MSH' },
        userMessage: 'Segment 3 is a second MSH: send one message per MLLP frame.',
        diagnostic: 'UNEXPECTED_MSH at segment 3',
      });
      return;
    }
    throw new Error('expected a parse error');
  });
});

describe('recoverHeaderFragments', () => {
  it('reads custom separators and the first MSH-18 repetition', () => {
    expect(recoverHeaderFragments('\nMSH#!~\\&#APP!X#FAC#R#RF#T##ADT!A02#ID5#D#2.3.1######UNICODE UTF-8~8859/1')).toEqual({
      sendingApplication: 'APP',
      sendingFacility: 'FAC',
      triggerEvent: 'A02',
      controlId: 'ID5',
      processingId: 'D',
      version: '2.3.1',
      characterSet: 'UNICODE UTF-8',
    });
    expect(recoverHeaderFragments('')).toEqual({});
    expect(recoverHeaderFragments('MSHX')).toEqual({});
  });
});

describe('formatDtm', () => {
  it('formats UTC with an explicit offset', () => {
    expect(formatDtm(new Date('1999-12-31T23:59:59.999Z'))).toBe('19991231235959+0000');
  });
});
