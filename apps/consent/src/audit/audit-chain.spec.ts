import { createHash } from 'node:crypto';
import { canonicalJson, chainHash, GENESIS_HASH } from './audit-chain';

describe('canonicalJson', () => {
  it('sorts keys at every depth, keeps array order, drops undefined members', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: true, y: null }], c: 'x' }, u: undefined })).toBe(
      '{"a":{"c":"x","d":[3,{"y":null,"z":true}]},"b":1}',
    );
  });

  it('is the same for an object and its JSON round trip in another key order', () => {
    const a = { type: 'rest', agent: { roles: ['r'], clientId: 'c' }, patients: ['E1'], n: 2.5 };
    const b = JSON.parse(
      '{"n":2.5,"patients":["E1"],"agent":{"clientId":"c","roles":["r"]},"type":"rest"}',
    ) as unknown;
    expect(canonicalJson(a)).toBe(canonicalJson(b));
  });

  it('escapes strings as JSON and refuses non-JSON values', () => {
    expect(canonicalJson('a"b\n\u00e9')).toBe('"a\\"b\\n\u00e9"');
    expect(() => canonicalJson(Number.NaN)).toThrow(TypeError);
    expect(() => canonicalJson(() => 1)).toThrow(TypeError);
  });
});

describe('chainHash', () => {
  it('is sha256 of the previous hash followed by the canonical row', () => {
    const row = { seq: 1, eventId: 'ev-1', record: { b: 2, a: 1 } };
    const expected = createHash('sha256')
      .update(GENESIS_HASH + '{"event_id":"ev-1","record":{"a":1,"b":2},"seq":1}')
      .digest('hex');
    expect(chainHash(GENESIS_HASH, row)).toBe(expected);
  });

  it('changes with the predecessor, the position and the record', () => {
    const row = { seq: 7, eventId: 'ev', record: { a: 1 } };
    const base = chainHash(GENESIS_HASH, row);
    expect(chainHash('1'.repeat(64), row)).not.toBe(base);
    expect(chainHash(GENESIS_HASH, { ...row, seq: 8 })).not.toBe(base);
    expect(chainHash(GENESIS_HASH, { ...row, record: { a: 2 } })).not.toBe(base);
    expect(chainHash(GENESIS_HASH, { ...row })).toBe(base);
  });
});
