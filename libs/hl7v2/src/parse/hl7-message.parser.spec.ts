import { Message } from 'node-hl7-client';
import { parseHl7 } from './hl7-message.parser';
import { Hl7ParseError } from './hl7-parse.error';

// Synthetic data only.
const ADT_A01 = [
  'MSH|^~\\&|EPIC|CITYHOSP|TESSERA|HIE|20240301101500+0100||ADT^A01^ADT_A01|MSG00001|P|2.5.1|||AL|NE||UNICODE UTF-8',
  'EVN|A01|20240301101500',
  'PID|1||MRN12345^^^CITYHOSP^MR~99887766^^^NATIONAL^NI||Doe^Jane^Q^^Dr.||19800101|F|||1 Main St^^Springfield^^12345',
  'PV1|1|I|WARD1^101^A',
  'ZPI|custom|42',
].join('\r');

function parseError(text: string): Hl7ParseError {
  try {
    parseHl7(text);
  } catch (e) {
    if (e instanceof Hl7ParseError) return e;
    throw e;
  }
  throw new Error('expected Hl7ParseError');
}

describe('parseHl7', () => {
  it('reads segments, fields, components, repetitions and Z-segments', () => {
    const msg = parseHl7(ADT_A01);
    expect(msg.segments.map((s) => s.name)).toEqual(['MSH', 'EVN', 'PID', 'PV1', 'ZPI']);
    const pid = msg.first('PID')!;
    expect(pid.value(5, 1)).toBe('Doe');
    expect(pid.value(5, 2)).toBe('Jane');
    expect(pid.value(5, 9)).toBe('');
    const ids = pid.repetitions(3);
    expect(ids).toHaveLength(2);
    expect(ids[1].component(1)).toBe('99887766');
    expect(ids[1].component(5)).toBe('NI');
    expect(ids[0].componentCount).toBe(5);
    expect(ids[0].text).toBe('MRN12345^^^CITYHOSP^MR');
    expect(pid.repetitions(2)).toEqual([]);
    expect(pid.repetitions(99)).toEqual([]);
    expect(pid.repetitions(0)).toEqual([]);
    expect(pid.fieldCount).toBe(11);
    expect(msg.first('ZPI')!.value(2)).toBe('42');
    expect(msg.first('OBX')).toBeUndefined();
    expect(msg.all('PV1')).toHaveLength(1);
  });

  it('extracts the header', () => {
    expect(parseHl7(ADT_A01).header).toEqual({
      sendingApplication: 'EPIC',
      sendingFacility: 'CITYHOSP',
      receivingApplication: 'TESSERA',
      receivingFacility: 'HIE',
      dateTime: '20240301101500+0100',
      messageCode: 'ADT',
      triggerEvent: 'A01',
      messageStructure: 'ADT_A01',
      controlId: 'MSG00001',
      processingId: 'P',
      version: '2.5.1',
      acceptAckType: 'AL',
      applicationAckType: 'NE',
      characterSet: 'UNICODE UTF-8',
    });
  });

  it('numbers MSH fields from the field separator (MSH-1) and returns MSH-1/MSH-2 literally', () => {
    const msh = parseHl7(ADT_A01).first('MSH')!;
    expect(msh.value(1)).toBe('|');
    expect(msh.value(2)).toBe('^~\\&');
    expect(msh.repetitions(2)).toHaveLength(1);
    expect(msh.value(3)).toBe('EPIC');
    expect(msh.value(9, 3)).toBe('ADT_A01');
    expect(msh.fieldCount).toBe(18);
  });

  it.each([
    ['CR', '\r'],
    ['LF', '\n'],
    ['CRLF', '\r\n'],
  ])('accepts %s segment terminators and trailing/blank lines', (_name, sep) => {
    const msg = parseHl7(ADT_A01.split('\r').join(sep) + sep + sep);
    expect(msg.segments).toHaveLength(5);
    expect(msg.first('PID')!.value(3)).toBe('MRN12345');
    expect(msg.first('ZPI')!.value(2)).toBe('42');
  });

  it('keeps a lone LF inside a value when segments are CR-terminated', () => {
    const msg = parseHl7('MSH|^~\\&|A|B|||||ORU^R01|C|P|2.5\rOBX|1|TX|||line1\nline2\r\nNTE|1\r');
    expect(msg.segments.map((s) => s.name)).toEqual(['MSH', 'OBX', 'NTE']);
    expect(msg.first('OBX')!.value(5)).toBe('line1\nline2');
  });

  it('supports custom encoding characters from MSH-1/MSH-2', () => {
    const hash = parseHl7('MSH#^~\\&#APP#FAC#R#RF#2024##ADT^A08#C1#P#2.4\rPID#1##ID1~ID2##Roe^Ann');
    expect(hash.encoding).toEqual({ field: '#', component: '^', repetition: '~', escape: '\\', subComponent: '&' });
    expect(hash.header.controlId).toBe('C1');
    expect(hash.header.triggerEvent).toBe('A08');
    expect(hash.first('PID')!.repetitions(3).map((r) => r.text)).toEqual(['ID1', 'ID2']);
    expect(hash.first('PID')!.value(5, 2)).toBe('Ann');

    const bang = parseHl7('MSH|!~\\&|APP|FAC|||||ADT!A04|C2|P|2.3\rPID|1||X!!!AUTH||Roe!Bob\\S\\x');
    expect(bang.encoding.component).toBe('!');
    expect(bang.header.messageCode).toBe('ADT');
    expect(bang.header.triggerEvent).toBe('A04');
    expect(bang.first('PID')!.value(3, 4)).toBe('AUTH');
    expect(bang.first('PID')!.value(5, 2)).toBe('Bob!x');
  });

  it('reads the v2.7 truncation character from MSH-2', () => {
    const msg = parseHl7('MSH|^~\\&#|APP|FAC|||||ADT^A01|C3|P|2.7\rPID|1||ID\\P\\1');
    expect(msg.encoding.truncation).toBe('#');
    expect(msg.header.version).toBe('2.7');
    expect(msg.first('MSH')!.value(2)).toBe('^~\\&#');
    expect(msg.first('PID')!.value(3)).toBe('ID#1');
  });

  it('resolves escape sequences in values (Chapter 2 §2.7)', () => {
    const msg = parseHl7(
      'MSH|^~\\&|A|B|||||ORU^R01|C4|P|2.5\r' +
        'OBX|1|FT|||Line1\\.br\\Line2 \\H\\bold\\N\\ a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f \\X41\\\\XC3A9\\ \\.sp2\\end\r' +
        'NTE|1||50\\E\\ off \\Zlocal\\ \\.in+4\\indent\\unknown\\ tail\\',
    );
    expect(msg.first('OBX')!.value(5)).toBe('Line1\nLine2 bold a|b^c&d~e\\f Aé \n\nend');
    expect(msg.first('NTE')!.value(3)).toBe('50\\ off  indent\\unknown\\ tail\\');
  });

  it('splits on delimiters before unescaping, so escaped delimiters stay inside one value', () => {
    const msg = parseHl7('MSH|^~\\&|A|B|||||ADT^A01|C5|P|2.5\rPID|1||A\\R\\B~C^\\S\\&\\T\\');
    const reps = msg.first('PID')!.repetitions(3);
    expect(reps).toHaveLength(2);
    expect(reps[0].component(1)).toBe('A~B');
    expect(reps[1].component(2, 1)).toBe('^');
    expect(reps[1].component(2, 2)).toBe('&');
    expect(reps[1].text).toBe('C^^&&');
    expect(reps[1].subComponents(2)).toEqual(['^', '&']);
    expect(reps[1].subComponents(3)).toEqual([]);
  });

  it('keeps the HL7 null "" as is and distinguishes empty repetitions', () => {
    const msg = parseHl7('MSH|^~\\&|A|B|||||ADT^A08|C6|P|2.5\rPID|1||~X||""');
    const reps = msg.first('PID')!.repetitions(3);
    expect(reps).toHaveLength(2);
    expect(reps[0].componentCount).toBe(0);
    expect(reps[0].text).toBe('');
    expect(msg.first('PID')!.value(5)).toBe('""');
  });

  it('accepts versions 2.3 to 2.8 alike', () => {
    for (const v of ['2.3', '2.3.1', '2.4', '2.5', '2.5.1', '2.6', '2.7', '2.7.1', '2.8']) {
      expect(parseHl7(`MSH|^~\\&|A|B|||||ADT^A01|C|P|${v}`).header.version).toBe(v);
    }
  });

  it('ignores a leading BOM and leading line breaks', () => {
    expect(parseHl7('\uFEFF\n\rMSH|^~\\&|A|B|||||ADT^A01|C7|P|2.5').header.controlId).toBe('C7');
  });

  describe('errors', () => {
    it.each([
      ['', 'EMPTY_MESSAGE', 1, undefined],
      ['\r\n', 'EMPTY_MESSAGE', 1, undefined],
      ['PID|1||SECRET-MRN', 'MISSING_MSH', 1, undefined],
      ['BHS|^~\\&|A', 'BATCH_NOT_SUPPORTED', 1, undefined],
      ['MSHA^~\\&|A', 'INVALID_FIELD_SEPARATOR', 1, 1],
      ['MSH', 'INVALID_FIELD_SEPARATOR', 1, 1],
      ['MSH|^~|A', 'INVALID_ENCODING_CHARACTERS', 1, 2],
      ['MSH|^^\\&|A', 'INVALID_ENCODING_CHARACTERS', 1, 2],
      ['MSH|^~\\A|A', 'INVALID_ENCODING_CHARACTERS', 1, 2],
      ['MSH|^~\\&|A\rPID|1\rSecret Patient Name|x', 'INVALID_SEGMENT_ID', 3, undefined],
      ['MSH|^~\\&|A\rPID^1', 'INVALID_SEGMENT_ID', 2, undefined],
      ['MSH|^~\\&|A\rpid|1', 'INVALID_SEGMENT_ID', 2, undefined],
      ['MSH|^~\\&|A\rPID|1\rMSH|^~\\&|B', 'UNEXPECTED_MSH', 3, undefined],
      ['MSH|^~\\&|A\rBTS|1', 'BATCH_NOT_SUPPORTED', 2, undefined],
    ])('%j → %s at segment %d', (text, code, segmentIndex, field) => {
      const err = parseError(text);
      expect(err).toBeInstanceOf(Hl7ParseError);
      expect(err.code).toBe(code);
      expect(err.location.segmentIndex).toBe(segmentIndex);
      expect(err.location.field).toBe(field);
      expect(err.message).not.toMatch(/SECRET|Secret/);
    });

    it('names the location in `where`', () => {
      expect(parseError('MSH|^~|A').where).toBe('MSH-2');
      expect(parseError('MSH|^~\\&|A\rPID|1\rMSH|^~\\&|B').where).toBe('segment 3 (MSH)');
      expect(parseError('MSH|^~\\&|A\r?ID|1').where).toBe('segment 2');
    });
  });

  it('agrees with node-hl7-client on ordinary messages (differential check)', () => {
    const ours = parseHl7(ADT_A01);
    const theirs = new Message({ text: ADT_A01 });
    for (const [seg, field, comp] of [
      ['MSH', 9, 1],
      ['MSH', 9, 2],
      ['MSH', 10, 1],
      ['MSH', 12, 1],
      ['PID', 3, 1],
      ['PID', 5, 1],
      ['PID', 5, 2],
      ['PID', 11, 3],
      ['PV1', 3, 2],
      ['ZPI', 2, 1],
    ] as const) {
      expect(ours.first(seg)!.value(field, comp)).toBe(theirs.get(`${seg}.${field}.${comp}`).toString());
    }
  });
});
