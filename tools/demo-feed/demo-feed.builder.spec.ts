import path from 'node:path';
import { decodeHl7Bytes, encodeHl7Text, parseHl7 } from '@tessera/hl7v2';
import type { Hl7Message } from '@tessera/hl7v2';
import { buildDemoFeed } from './demo-feed.builder';
import type { DemoMessage } from './demo-feed.builder';
import { loadInstitutions, parseInstitutionsYaml } from './institutions.loader';

const institutions = loadInstitutions(path.resolve(__dirname, '../../deploy/demo-region/institutions.yaml'));
const feed = buildDemoFeed({ institutions, seed: 1, persons: 60 });
const parsed = new Map<DemoMessage, Hl7Message>(feed.map((m) => [m, parseHl7(m.hl7)]));
const byInstitution = new Map(institutions.map((i) => [i.id, i]));

function pid3(m: DemoMessage): string {
  return parsed.get(m)!.first('PID')?.value(3) ?? '';
}

describe('buildDemoFeed', () => {
  it('is deterministic for the same options and changes with the seed', () => {
    expect(buildDemoFeed({ institutions, seed: 1, persons: 60 })).toEqual(feed);
    const other = buildDemoFeed({ institutions, seed: 2, persons: 60 });
    expect(other.map((m) => m.hl7)).not.toEqual(feed.map((m) => m.hl7));
  });

  it('builds a few hundred messages for 60 persons', () => {
    expect(feed.length).toBeGreaterThan(150);
    expect(feed.length).toBeLessThan(1500);
  });

  it('every message parses, and its MSH agrees with the metadata (v2.5.1, MSH-4, MSH-9, MSH-10, MSH-18)', () => {
    for (const m of feed) {
      const h = parsed.get(m)!.header;
      expect({
        id: m.controlId,
        v: h.version,
        fac: h.sendingFacility,
        type: `${h.messageCode}^${h.triggerEvent}`,
        ctl: h.controlId,
        cs: h.characterSet,
      }).toEqual({
        id: m.controlId,
        v: '2.5.1',
        fac: m.sendingFacility,
        type: m.messageType,
        ctl: m.controlId,
        cs: m.charset,
      });
    }
  });

  it('uses each institution charset (MSH-18 = its default), and every message survives encoding in it unchanged', () => {
    const charsets = new Map<string, Set<string>>();
    for (const m of feed)
      charsets.set(m.institution, (charsets.get(m.institution) ?? new Set()).add(m.charset));
    for (const inst of institutions)
      expect([inst.id, [...(charsets.get(inst.id) ?? [])]]).toEqual([inst.id, [inst.charset]]);
    expect([...charsets.keys()].sort()).toEqual([...institutions.map((i) => i.id), 'unknown'].sort());
    expect(new Set(feed.map((m) => m.charset))).toEqual(
      new Set(['UNICODE UTF-8', '8859/1', 'GB 18030-2000']),
    );
    for (const m of feed) {
      const bytes = encodeHl7Text(m.hl7, m.charset);
      expect(decodeHl7Bytes(bytes, 'UNICODE UTF-8').text).toBe(m.hl7);
    }
    // GB 18030 really is a different byte encoding from UTF-8 for the Hanzi messages.
    const hanzi = feed.find((m) => m.charset === 'GB 18030-2000' && /[\u4e00-\u9fff]/.test(m.hl7))!;
    expect(encodeHl7Text(hanzi.hl7, hanzi.charset).equals(Buffer.from(hanzi.hl7, 'utf8'))).toBe(false);
  });

  it('sends only from registered facilities except the one deliberately unknown message', () => {
    for (const m of feed) {
      if (m.institution === 'unknown') {
        expect(institutions.flatMap((i) => i.sendingFacilities)).not.toContain(m.sendingFacility);
      } else {
        expect(byInstitution.get(m.institution)!.sendingFacilities).toContain(m.sendingFacility);
      }
    }
  });

  it('control ids are unique per sending facility', () => {
    const keys = feed.map((m) => `${m.sendingFacility}|${m.controlId}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('contains the two bad messages: no PID-3 expecting AE/101, unknown facility expecting AR', () => {
    const negative = feed.filter((m) => m.expectedAck !== 'AA' && m.expectedAck !== 'CA');
    expect(negative.map((m) => [m.expectedAck, m.expectedErrorCode ?? ''])).toEqual(
      expect.arrayContaining([
        ['AE', '101'],
        ['AR', ''],
      ]),
    );
    expect(negative).toHaveLength(2);
    const noId = negative.find((m) => m.expectedAck === 'AE')!;
    expect(parsed.get(noId)!.first('PID')!.repetitions(3)).toHaveLength(0);
    expect(parsed.get(noId)!.first('PID')!.value(5)).not.toBe('');
    const unknown = negative.find((m) => m.expectedAck === 'AR')!;
    expect(unknown.institution).toBe('unknown');
  });

  it('asks for commit ACKs (MSH-15 AL, MSH-16 NE → CA) on enhanced feeds and original mode elsewhere', () => {
    for (const m of feed.filter((x) => x.expectedAck === 'AA' || x.expectedAck === 'CA')) {
      const h = parsed.get(m)!.header;
      const enhanced = byInstitution.get(m.institution)?.ackMode === 'enhanced';
      expect([m.controlId, h.acceptAckType, h.applicationAckType, m.expectedAck]).toEqual(
        enhanced ? [m.controlId, 'AL', 'NE', 'CA'] : [m.controlId, '', '', 'AA'],
      );
    }
  });

  it('every person seen at two or more institutions has a different local id at each, and PID-3.1 carries it', () => {
    const ids = new Map<string, Map<string, Set<string>>>();
    for (const m of feed) {
      if (
        m.personId === undefined ||
        m.localId === undefined ||
        m.expectedAck === 'AE' ||
        m.institution === 'unknown'
      )
        continue;
      expect(pid3(m)).toBe(m.localId);
      const perInst = ids.get(m.personId) ?? new Map<string, Set<string>>();
      perInst.set(m.institution, (perInst.get(m.institution) ?? new Set()).add(m.localId));
      ids.set(m.personId, perInst);
    }
    const multi = [...ids.values()].filter((perInst) => perInst.size >= 2);
    expect(multi.length).toBeGreaterThanOrEqual(3);
    expect([...ids.values()].some((perInst) => perInst.size >= 3)).toBe(true);
    for (const perInst of multi) {
      const all = [...perInst.values()].flatMap((s) => [...s]);
      expect(new Set(all).size).toBe(all.length);
    }
  });

  it('shows realistic variation: the same person is spelled or dated differently somewhere', () => {
    const shapes = new Map<string, Set<string>>();
    for (const m of feed) {
      if (m.personId === undefined || !m.messageType.startsWith('ADT^A0')) continue;
      const p = parsed.get(m)!.first('PID')!;
      const shape = `${p.value(5, 1).toUpperCase()}|${p.value(5, 2).toUpperCase()}|${p.value(7)}|${p.value(11, 1)}`;
      shapes.set(m.personId, (shapes.get(m.personId) ?? new Set()).add(shape));
    }
    expect([...shapes.values()].filter((s) => s.size >= 2).length).toBeGreaterThanOrEqual(2);
  });

  it('has a CN person with a Hanzi name (+ pinyin repetition) at the GB 18030 hospital and a pinyin name at another', () => {
    const hanziAt = new Map<string, string>();
    for (const m of feed.filter((x) => x.institution === 'donghai-people' && x.personId !== undefined)) {
      const names = parsed.get(m)!.first('PID')!.repetitions(5);
      if (names[0]?.component(8) === 'I' && /[\u4e00-\u9fff]/.test(names[0].component(1)))
        hanziAt.set(m.personId!, names[1]?.component(1) ?? '');
    }
    const visitor = feed.find(
      (m) =>
        m.institution !== 'donghai-people' &&
        m.personId !== undefined &&
        hanziAt.has(m.personId) &&
        m.messageType.startsWith('ADT'),
    );
    expect(visitor).toBeDefined();
    const latin = parsed.get(visitor!)!.first('PID')!.value(5, 1);
    expect(latin).toMatch(/^[A-Za-z]+$/);
    const pinyin = hanziAt.get(visitor!.personId!);
    if (pinyin) expect(latin.toUpperCase()).toBe(pinyin.toUpperCase());
  });

  it('has twins (same family name, birth date and address at one institution, different given names) and a "Baby Boy"', () => {
    const seen = new Map<string, Set<string>>();
    for (const m of feed.filter((x) => x.messageType === 'ADT^A04' || x.messageType === 'ADT^A01')) {
      const p = parsed.get(m)!.first('PID')!;
      const key = `${m.institution}|${p.value(5, 1)}|${p.value(7)}|${p.value(11, 1)}`;
      seen.set(key, (seen.get(key) ?? new Set()).add(`${m.personId}|${p.value(5, 2)}`));
    }
    const twins = [...seen.values()].filter(
      (s) => s.size >= 2 && new Set([...s].map((x) => x.split('|')[1])).size >= 2,
    );
    expect(twins.length).toBeGreaterThanOrEqual(1);
    expect(feed.some((m) => /^baby boy$/i.test(parsed.get(m)!.first('PID')?.value(5, 2) ?? ''))).toBe(true);
  });

  it('covers ADT A01/A03/A04/A08/A40, ORU^R01 and MDM^T02', () => {
    expect(new Set(feed.map((m) => m.messageType))).toEqual(
      new Set(['ADT^A01', 'ADT^A03', 'ADT^A04', 'ADT^A08', 'ADT^A40', 'ORU^R01', 'MDM^T02']),
    );
  });

  it('writes lab results as OBX NM with LOINC code, UCUM unit, reference range and a flag consistent with them', () => {
    const obx = feed.filter((m) => m.messageType === 'ORU^R01').flatMap((m) => parsed.get(m)!.all('OBX'));
    expect(obx.length).toBeGreaterThan(10);
    for (const o of obx) {
      expect(o.value(2)).toBe('NM');
      expect(o.value(3, 3)).toBe('LN');
      expect(o.value(6, 3)).toBe('UCUM');
      const [low, high] = o.value(7).split('-').map(Number);
      const value = Number(o.value(5));
      expect(o.value(8)).toBe(value < low ? 'L' : value > high ? 'H' : 'N');
    }
    expect(new Set(obx.map((o) => o.value(8)))).toEqual(new Set(['L', 'H', 'N']));
  });

  it('writes documents as TXA + OBX TX lines, and exactly one as OBX ED with base64 content', () => {
    const mdm = feed.filter((m) => m.messageType === 'MDM^T02').map((m) => parsed.get(m)!);
    expect(mdm.every((m) => m.first('TXA')?.value(12) !== '')).toBe(true);
    const ed = mdm.flatMap((m) => m.all('OBX')).filter((o) => o.value(2) === 'ED');
    expect(ed).toHaveLength(1);
    expect(ed[0].value(5, 4)).toBe('Base64');
    expect(Buffer.from(ed[0].value(5, 5), 'base64').toString('latin1')).toMatch(/^%PDF-1\.4/);
    expect(mdm.flatMap((m) => m.all('OBX')).filter((o) => o.value(2) === 'TX').length).toBeGreaterThan(10);
  });

  it('merges with one A40 whose MRG-1 id was registered earlier at the same facility', () => {
    const merges = feed.filter((m) => m.messageType === 'ADT^A40');
    expect(merges).toHaveLength(1);
    const merge = merges[0];
    const mrg = parsed.get(merge)!.first('MRG')!;
    const retired = mrg.value(1);
    expect(retired).not.toBe(pid3(merge));
    const index = feed.indexOf(merge);
    const earlier = feed.slice(0, index).filter((m) => m.sendingFacility === merge.sendingFacility);
    expect(earlier.some((m) => pid3(m) === retired)).toBe(true);
    expect(earlier.some((m) => pid3(m) === pid3(merge))).toBe(true);
  });

  it('orders each institution messages by event time (MSH-7), admits before discharges', () => {
    for (const inst of new Set(feed.map((m) => m.institution))) {
      const times = feed.filter((m) => m.institution === inst).map((m) => parsed.get(m)!.header.dateTime);
      expect(times).toEqual([...times].sort());
    }
    const visits = new Map<string, string[]>();
    for (const m of feed) {
      const visit = parsed.get(m)!.first('PV1')?.value(19);
      if (visit)
        visits.set(`${m.institution}|${visit}`, [
          ...(visits.get(`${m.institution}|${visit}`) ?? []),
          m.messageType,
        ]);
    }
    for (const types of visits.values()) {
      const discharge = types.indexOf('ADT^A03');
      if (discharge >= 0) expect(types.slice(discharge + 1)).not.toContain('ADT^A01');
      expect(['ADT^A01', 'ADT^A04']).toContain(types[0]);
    }
  });

  it('rejects nonsense options', () => {
    expect(() => buildDemoFeed({ institutions, persons: 2 })).toThrow(/persons/);
  });
});

describe('parseInstitutionsYaml', () => {
  it('reads facilities, default assigning authority, charset and ack mode', () => {
    expect(byInstitution.get('riverside')).toEqual({
      id: 'riverside',
      name: 'Riverside Community Clinic',
      sendingFacilities: ['RIVERSIDE', 'RIVERSIDE-LAB'],
      assigningAuthority: 'RCC',
      charset: '8859/1',
      ackMode: 'original',
    });
    expect(byInstitution.get('donghai-people')?.charset).toBe('GB 18030-2000');
  });

  it('names the institution and key that is wrong', () => {
    expect(() => parseInstitutionsYaml('institutions:\n  - id: x\n    sendingFacilities: []\n')).toThrow(
      /institutions\[0\] \(x\): sendingFacilities/,
    );
    expect(() => parseInstitutionsYaml('region: demo\n')).toThrow(/no `institutions`/);
  });
});
