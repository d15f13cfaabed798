import { parseHl7 } from '../parse/hl7-message.parser';
import { Hl7MessageBuilder, repeat } from './hl7-message.builder';

const msh = {
  sendingApplication: 'DEMO',
  sendingFacility: 'GEN',
  receivingApplication: 'TESSERA',
  receivingFacility: 'HIE',
  dateTime: new Date('2024-03-01T08:00:00Z'),
  messageCode: 'ADT',
  triggerEvent: 'A01',
  messageStructure: 'ADT_A01',
  controlId: 'D1',
} as const;

describe('Hl7MessageBuilder', () => {
  it('builds MSH and segments with components, sub-components and repetitions', () => {
    const text = new Hl7MessageBuilder()
      .msh({ ...msh, acceptAckType: 'AL', applicationAckType: 'NE', characterSet: 'UNICODE UTF-8' })
      .segment('PID', ['1', undefined, repeat(['M1', '', '', ['CITY', '1.2.3', 'ISO'], 'MR'], ['N1', '', '', 'NAT', 'NI']), null, ['Doe', 'Jane']])
      .segment('ZPI', ['x'])
      .toString();
    expect(text).toBe(
      'MSH|^~\\&|DEMO|GEN|TESSERA|HIE|20240301080000+0000||ADT^A01^ADT_A01|D1|P|2.5.1|||AL|NE||UNICODE UTF-8\r' +
        'PID|1||M1^^^CITY&1.2.3&ISO^MR~N1^^^NAT^NI||Doe^Jane\r' +
        'ZPI|x\r',
    );
    const parsed = parseHl7(text);
    expect(parsed.first('PID')!.repetitions(3)[0].subComponents(4)).toEqual(['CITY', '1.2.3', 'ISO']);
    expect(parsed.header.characterSet).toBe('UNICODE UTF-8');
  });

  it('escapes every delimiter so values round-trip through parseHl7', () => {
    const nasty = 'a|b^c~d\\e&f\nline2';
    const text = new Hl7MessageBuilder().msh(msh).segment('NTE', ['1', '', nasty, [nasty, [nasty, nasty]]]).toString();
    expect(text.split('\r')[1]).toBe('NTE|1||a\\F\\b\\S\\c\\R\\d\\E\\e\\T\\f\\.br\\line2|a\\F\\b\\S\\c\\R\\d\\E\\e\\T\\f\\.br\\line2^a\\F\\b\\S\\c\\R\\d\\E\\e\\T\\f\\.br\\line2&a\\F\\b\\S\\c\\R\\d\\E\\e\\T\\f\\.br\\line2');
    const nte = parseHl7(text).first('NTE')!;
    expect(nte.value(3)).toBe(nasty);
    expect(nte.value(4, 1)).toBe(nasty);
    expect(nte.repetitions(4)[0].subComponents(2)).toEqual([nasty, nasty]);
  });

  it('uses custom encoding characters, including a v2.7 truncation character', () => {
    const text = new Hl7MessageBuilder({ field: '#', component: '!', repetition: '~', escape: '\\', subComponent: '&', truncation: '%' })
      .msh({ ...msh, version: '2.7' })
      .segment('PID', ['1', '', ['A#1', 'B!2', '50%']])
      .toString();
    expect(text.startsWith('MSH#!~\\&%#DEMO#')).toBe(true);
    const parsed = parseHl7(text);
    expect(parsed.encoding.truncation).toBe('%');
    expect(parsed.first('PID')!.value(3, 1)).toBe('A#1');
    expect(parsed.first('PID')!.value(3, 2)).toBe('B!2');
    expect(parsed.first('PID')!.value(3, 3)).toBe('50%');
  });

  it('guards its use', () => {
    expect(() => new Hl7MessageBuilder().segment('PID', [])).toThrow('msh()');
    expect(() => new Hl7MessageBuilder().toString()).toThrow('msh()');
    expect(() => new Hl7MessageBuilder().msh(msh).msh(msh)).toThrow('MSH');
    expect(() => new Hl7MessageBuilder().msh(msh).segment('pid', [])).toThrow('Invalid segment id');
    expect(new Hl7MessageBuilder().msh(msh).segment('EVN', []).toString()).toContain('\rEVN\r');
  });
});
