import iconv from 'iconv-lite';
import { parseHl7 } from '../parse/hl7-message.parser';
import { splitHl7Batch } from './hl7-batch.splitter';

const msh = (id: string, charset = '') =>
  `MSH|^~\\&|APP|FAC|TESSERA|HIE|20260101||ADT^A04|${id}|P|2.5.1${charset === '' ? '' : `|||||CHN|${charset}`}`;

describe('splitHl7Batch (HL7 v2 §2.10.3)', () => {
  it('splits a file of batches into messages and checks BTS-1', () => {
    const file = [
      'FHS|^~\\&|APP|FAC',
      'BHS|^~\\&|APP|FAC',
      msh('1'),
      'PID|1||A^^^X',
      msh('2'),
      'PID|1||B^^^X',
      'BTS|2',
      'BHS|^~\\&|APP|FAC',
      msh('3'),
      'PID|1||C^^^X',
      'BTS|2',
      'FTS|2',
    ].join('\r\n');
    const split = splitHl7Batch(Buffer.from(file));
    expect(split.messages.map((m) => parseHl7(m.toString()).header.controlId)).toEqual(['1', '2', '3']);
    expect(split.messages[0].toString()).toBe(`${msh('1')}\rPID|1||A^^^X\r`);
    expect(split).toMatchObject({ hasFileHeader: true, batchCount: 2, declaredMessageCount: 4 });
    expect(split.warnings).toEqual(['BTS-1 says 2 messages, batch 2 holds 1']);
  });

  it("takes bare messages without any envelope, and keeps each message's bytes (GB 18030) intact", () => {
    const hanzi = iconv.encode(`${msh('9', 'GB 18030-2000')}\rPID|1||Z^^^X||王^秀英`, 'gb18030');
    const split = splitHl7Batch(Buffer.concat([Buffer.from(`${msh('8')}\rPID|1||Y^^^X\r`), hanzi]));
    expect(split.messages).toHaveLength(2);
    expect(iconv.decode(split.messages[1], 'gb18030')).toContain('王^秀英');
    expect(split).toMatchObject({
      hasFileHeader: false,
      batchCount: 0,
      declaredMessageCount: undefined,
      warnings: [],
    });
  });

  it('reports segments outside any message instead of attaching them', () => {
    const split = splitHl7Batch(Buffer.from(`PID|1||stray\r${msh('1')}\rPID|1||A^^^X`));
    expect(split.messages).toHaveLength(1);
    expect(split.warnings).toEqual(['A PID segment outside any message was ignored']);
  });
});
