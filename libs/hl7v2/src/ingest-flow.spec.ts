import * as iconv from 'iconv-lite';
import type { AckOutcome, Hl7AckError, Hl7CharsetError, Hl7ParseError } from './index';
import {
  ackErrorFor,
  ackMode,
  buildAck,
  buildAckForUnparseable,
  decodeHl7Bytes,
  encodeHl7Text,
  encodeMllpFrame,
  Hl7ErrorCodes,
  Hl7MessageBuilder,
  immediateAckCode,
  MllpFrameDecoder,
  parseHl7,
} from './index';

// The whole pure path the gateway wraps around a socket: bytes → frames → text → message → ACK bytes.
const TESSERA = { sendingApplication: 'TESSERA', sendingFacility: 'HIE', now: new Date('2024-03-01T00:00:00Z') } as const;

function handleFrame(payload: Buffer, ackId: string): Buffer | undefined {
  let decoded: { text: string; charset: string };
  try {
    decoded = decodeHl7Bytes(payload, '8859/1');
  } catch (e) {
    const raw = payload.toString('latin1');
    return encodeMllpFrame(encodeHl7Text(buildAckForUnparseable(raw, { ...TESSERA, controlId: ackId, errors: [ackErrorFor(e as Hl7CharsetError)] }), 'ASCII'));
  }
  let message;
  try {
    message = parseHl7(decoded.text);
  } catch (e) {
    const ack = buildAckForUnparseable(decoded.text, { ...TESSERA, controlId: ackId, errors: [ackErrorFor(e as Hl7ParseError)] });
    return encodeMllpFrame(encodeHl7Text(ack, decoded.charset));
  }
  const errors: Hl7AckError[] =
    message.first('PID')?.value(3) === ''
      ? [{ code: Hl7ErrorCodes.RequiredFieldMissing, location: { segment: 'PID', field: 3 }, userMessage: 'PID-3 is required.' }]
      : [];
  const outcome: AckOutcome = errors.length > 0 ? 'error' : 'accepted';
  const code = immediateAckCode(ackMode(message.header), outcome);
  if (code === undefined) return undefined;
  return encodeMllpFrame(encodeHl7Text(buildAck(message, { ...TESSERA, code, controlId: ackId, errors }), decoded.charset));
}

describe('ingest flow (decoder → charset → parser → ACK)', () => {
  it('acknowledges a chunked stream of messages in their own charsets', () => {
    const build = (id: string, charset: string, name: string, pid3: string, msh15 = '') =>
      new Hl7MessageBuilder()
        .msh({
          sendingApplication: 'HIS',
          sendingFacility: 'H1',
          dateTime: '20240301',
          messageCode: 'ADT',
          triggerEvent: 'A01',
          messageStructure: 'ADT_A01',
          controlId: id,
          acceptAckType: msh15,
          characterSet: charset,
        })
        .segment('PID', ['1', undefined, pid3, undefined, name.split('^')])
        .toString();
    const stream = Buffer.concat([
      Buffer.from('\n'),
      encodeMllpFrame(iconv.encode(build('M1', 'GB 18030-2000', '张^伟', 'X1'), 'gb18030')),
      encodeMllpFrame(iconv.encode(build('M2', '', 'Müller^Zoë', ''), 'latin1')),
      encodeMllpFrame(Buffer.from(build('M3', 'UNICODE UTF-8', 'Ødegård^Siân', 'X3', 'AL'))),
      encodeMllpFrame(Buffer.from(build('M4', 'UNICODE UTF-8', 'A^B', 'X4', 'ER'))),
      encodeMllpFrame(Buffer.from('MSH|^~\\&|HIS|H1|||||ADT^A01|M5|P|2.5||||||EBCDIC\r')),
      encodeMllpFrame(Buffer.from('MSH|^~|HIS|H1|||||ADT^A01|M6|P|2.5\r')),
    ]);
    const decoder = new MllpFrameDecoder({ maxFrameBytes: 4096 });
    const acks: string[] = [];
    const problems: string[] = [];
    for (let i = 0; i < stream.length; i += 5) {
      for (const event of decoder.push(stream.subarray(i, i + 5))) {
        if (event.kind === 'error') problems.push(event.code);
        else {
          const ack = handleFrame(event.payload, `A${acks.length + 1}`);
          if (ack !== undefined) acks.push(ack.subarray(1, -2).toString('latin1'));
        }
      }
    }
    expect(problems).toEqual(['GARBAGE_OUTSIDE_FRAME']);
    const msa = acks.map((a) => a.split('\r')[1]);
    expect(msa).toEqual(['MSA|AA|M1', 'MSA|AE|M2', 'MSA|CA|M3', 'MSA|AR|M5', 'MSA|AR|M6']); // M4: enhanced ER, success → no ACK
    // The GB 18030 message's ACK is in GB 18030 and says so in MSH-18.
    expect(acks[0].split('\r')[0]).toMatch(/\|GB 18030-2000$/);
    expect(acks[3]).toContain('ERR||MSH^1^18^1|103^Table value not found^HL70357|E');
    expect(acks[4]).toContain('102^Data type error^HL70357');
  });
});
