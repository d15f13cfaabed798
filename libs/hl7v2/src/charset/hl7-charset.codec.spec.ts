import * as iconv from 'iconv-lite';
import { parseHl7 } from '../parse/hl7-message.parser';
import { decodeHl7Bytes, encodeHl7Text, Hl7CharsetError, isSupportedHl7Charset } from './hl7-charset.codec';

// Synthetic names only.
const message = (msh18: string, name: string): string =>
  `MSH|^~\\&|HIS|HOSP|TESSERA|HIE|20240301||ADT^A01^ADT_A01|C1|P|2.5.1|||AL|NE||${msh18}\rPID|1||M1^^^HOSP^MR||${name}\r`;

function charsetError(fn: () => unknown): Hl7CharsetError {
  try {
    fn();
  } catch (e) {
    if (e instanceof Hl7CharsetError) return e;
    throw e;
  }
  throw new Error('expected Hl7CharsetError');
}

describe('decodeHl7Bytes', () => {
  it('decodes GB 18030 Hanzi names declared in MSH-18', () => {
    const text = message('GB 18030-2000', '张^伟~欧阳^娜娜');
    const bytes = iconv.encode(text, 'gb18030');
    expect(bytes.includes(Buffer.from('张', 'utf8'))).toBe(false); // really GB 18030 bytes, not UTF-8
    const decoded = decodeHl7Bytes(bytes, 'UNICODE UTF-8');
    expect(decoded).toEqual({ text, charset: 'GB 18030-2000', usedDefault: false });
    const pid = parseHl7(decoded.text).first('PID')!;
    expect(pid.repetitions(5).map((r) => r.text)).toEqual(['张^伟', '欧阳^娜娜']);
  });

  it('accepts the common GB18030 spelling', () => {
    const text = message('GB18030', '王^芳');
    expect(decodeHl7Bytes(iconv.encode(text, 'gb18030'), 'ASCII').text).toBe(text);
  });

  it('finds MSH-18 even when non-ASCII text before it produces trail bytes equal to "|"', () => {
    // "亅" is 0x81 0x7C in GB 18030: its trail byte is the field separator.
    expect([...iconv.encode('亅', 'gb18030')]).toEqual([0x81, 0x7c]);
    const text = `MSH|^~\\&|HIS|亅医院|TESSERA|HIE|20240301||ADT^A01|C1|P|2.5.1|||||GB 18030-2000\rPID|1||M1||李^雷\r`;
    for (const fallback of ['8859/1', 'ASCII', 'UNICODE UTF-8']) {
      const decoded = decodeHl7Bytes(iconv.encode(text, 'gb18030'), fallback);
      expect(decoded.charset).toBe('GB 18030-2000');
      expect(decoded.text).toBe(text);
    }
  });

  it('decodes Latin-1 names with diacritics (8859/1)', () => {
    const text = message('8859/1', 'Müller-Lüdenscheidt^Zoë^Françoise');
    const bytes = iconv.encode(text, 'latin1');
    expect(bytes.length).toBe(text.length);
    const decoded = decodeHl7Bytes(bytes, 'UNICODE UTF-8');
    expect(decoded.text).toBe(text);
    expect(parseHl7(decoded.text).first('PID')!.value(5, 2)).toBe('Zoë');
  });

  it('decodes 8859/2 (Czech/Polish names)', () => {
    const text = message('8859/2', 'Dvořák^Łucja');
    expect(decodeHl7Bytes(iconv.encode(text, 'iso-8859-2'), 'ASCII').text).toBe(text);
  });

  it('decodes UTF-8, with or without BOM', () => {
    const text = message('UNICODE UTF-8', 'Ødegård^Siân');
    expect(decodeHl7Bytes(Buffer.from(text, 'utf8'), 'ASCII')).toEqual({ text, charset: 'UNICODE UTF-8', usedDefault: false });
    expect(decodeHl7Bytes(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text, 'utf8')]), 'ASCII').text).toBe(text);
  });

  it('uses the feed default when MSH-18 is empty', () => {
    const text = message('', 'Gómez^Ana');
    expect(decodeHl7Bytes(iconv.encode(text, 'latin1'), '8859/1')).toEqual({ text, charset: '8859/1', usedDefault: true });
    expect(decodeHl7Bytes(Buffer.from(text, 'utf8'), 'UNICODE UTF-8').text).toBe(text);
  });

  it('uses the first repetition of MSH-18 and tolerates a short MSH', () => {
    const text = message('UNICODE UTF-8~8859/1', 'Zoë');
    expect(decodeHl7Bytes(Buffer.from(text, 'utf8'), 'ASCII').charset).toBe('UNICODE UTF-8');
    expect(decodeHl7Bytes(Buffer.from('MSH|^~\\&|A', 'latin1'), 'ASCII')).toEqual({ text: 'MSH|^~\\&|A', charset: 'ASCII', usedDefault: true });
  });

  it('decodes UTF-16 (UNICODE UTF-16) with or without BOM', () => {
    const text = message('UNICODE UTF-16', '张^伟');
    expect(decodeHl7Bytes(iconv.encode(text, 'utf-16le'), 'ASCII').text).toBe(text);
    expect(decodeHl7Bytes(iconv.encode(text, 'utf-16be'), 'ASCII').text).toBe(text);
    expect(decodeHl7Bytes(iconv.encode(text, 'utf-16', { addBOM: true }), 'ASCII').text).toBe(text);
    const mismatch = charsetError(() => decodeHl7Bytes(iconv.encode(message('8859/1', 'x'), 'utf-16le'), 'ASCII'));
    expect(mismatch.code).toBe('CHARSET_MISMATCH');
  });

  it('rejects an unknown declared charset naming MSH-18 and the value', () => {
    const err = charsetError(() => decodeHl7Bytes(Buffer.from(message('KLINGON-1', 'Secret^Name')), 'ASCII'));
    expect(err).toMatchObject({ code: 'UNKNOWN_CHARSET', field: 'MSH-18', charset: 'KLINGON-1', source: 'MSH-18' });
    expect(err.message).toContain('MSH-18');
    expect(err.message).toContain('KLINGON-1');
    expect(err.message).not.toContain('Secret');
  });

  it('rejects an unsupported default charset', () => {
    const err = charsetError(() => decodeHl7Bytes(Buffer.from(message('', 'X')), 'EBCDIC'));
    expect(err).toMatchObject({ code: 'UNKNOWN_CHARSET', charset: 'EBCDIC', source: 'default' });
  });

  it('rejects bytes invalid in the declared charset instead of silently replacing them', () => {
    const latin1Bytes = iconv.encode(message('UNICODE UTF-8', 'Zoë Secret'), 'latin1');
    const err = charsetError(() => decodeHl7Bytes(latin1Bytes, 'ASCII'));
    expect(err.code).toBe('MALFORMED_BYTES');
    expect(err.message).toContain('UNICODE UTF-8');
    expect(err.message).not.toContain('Secret');
    expect(charsetError(() => decodeHl7Bytes(latin1Bytes.subarray(0), 'ASCII', {})).code).toBe('MALFORMED_BYTES');
    expect(decodeHl7Bytes(latin1Bytes, 'ASCII', { onMalformed: 'replace' }).text).toContain('Zo\uFFFD');
    expect(charsetError(() => decodeHl7Bytes(iconv.encode(message('ASCII', 'Zoë'), 'latin1'), 'ASCII')).code).toBe('MALFORMED_BYTES');
  });

  it('keeps a U+FFFD that the sender really encoded', () => {
    const text = message('UNICODE UTF-8', 'Unknown\uFFFD');
    expect(decodeHl7Bytes(Buffer.from(text, 'utf8'), 'ASCII').text).toBe(text);
  });
});

describe('encodeHl7Text', () => {
  it('encodes in the message charset for the ACK (round trip)', () => {
    for (const [charset, name] of [
      ['GB 18030-2000', '张伟'],
      ['8859/1', 'Zoë'],
      ['UNICODE UTF-8', 'Ødegård 张'],
      ['8859/15', '€uro'],
    ] as const) {
      const bytes = encodeHl7Text(message(charset, name), charset);
      expect(decodeHl7Bytes(bytes, 'ASCII').text).toBe(message(charset, name));
    }
    expect([...encodeHl7Text('é', '8859/1')]).toEqual([0xe9]);
    expect([...encodeHl7Text('张', 'GB 18030-2000')]).toEqual([0xd5, 0xc5]);
  });

  it('uses UTF-8 for an empty charset and rejects unknown ones', () => {
    expect(encodeHl7Text('é', '')).toEqual(Buffer.from('é', 'utf8'));
    expect(charsetError(() => encodeHl7Text('x', 'NOPE')).code).toBe('UNKNOWN_CHARSET');
  });
});

describe('isSupportedHl7Charset', () => {
  it.each(['ASCII', '8859/1', '8859/15', 'UNICODE UTF-8', 'unicode  utf-8', 'GB 18030-2000', 'GB18030', 'UNICODE', 'UNICODE UTF-16', 'BIG-5'])('%s', (c) => {
    expect(isSupportedHl7Charset(c)).toBe(true);
  });
  it.each(['', 'ISO IR87', 'CNS 11643-1992', 'KLINGON'])('not %j', (c) => {
    expect(isSupportedHl7Charset(c)).toBe(false);
  });
});
