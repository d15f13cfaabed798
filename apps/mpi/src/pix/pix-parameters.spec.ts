import { ENTERPRISE_ID_SYSTEM } from '../pdq/golden-record.projection';
import { parseToken, pixParameters } from './pix-parameters';
import type { PixMember } from './pix-parameters';

const members: PixMember[] = [
  { system: 'urn:oid:1.1', localId: 'A1', state: 'MATCH', retired: false },
  { system: 'urn:oid:2.2', localId: 'B1', state: 'MATCH', retired: false },
  { system: 'urn:oid:2.2', localId: 'B0', state: 'NO_MATCH', retired: true },
  { system: 'urn:oid:3.3', localId: 'C1', state: 'POSSIBLE_MATCH', retired: false },
];

describe('pixParameters', () => {
  it('returns the other MATCH-linked identifiers and the enterprise id, not the source itself or retired records', () => {
    expect(pixParameters('E1', members, { system: 'urn:oid:1.1', value: 'A1' }, [])).toEqual({
      resourceType: 'Parameters',
      parameter: [
        { name: 'targetIdentifier', valueIdentifier: { system: 'urn:oid:2.2', value: 'B1' } },
        { name: 'targetIdentifier', valueIdentifier: { system: ENTERPRISE_ID_SYSTEM, value: 'E1' } },
      ],
    });
  });

  it('keeps only the requested target systems', () => {
    const p = pixParameters('E1', members, { system: 'urn:oid:1.1', value: 'A1' }, [ENTERPRISE_ID_SYSTEM]);
    expect(p.parameter).toEqual([{ name: 'targetIdentifier', valueIdentifier: { system: ENTERPRISE_ID_SYSTEM, value: 'E1' } }]);
  });

  it('parses system|value tokens and rejects a missing part', () => {
    expect(parseToken('urn:oid:1.1|A|1')).toEqual({ system: 'urn:oid:1.1', value: 'A|1' });
    expect(parseToken('A1')).toBeUndefined();
    expect(parseToken('|A1')).toBeUndefined();
    expect(parseToken('urn:oid:1.1|')).toBeUndefined();
  });
});
