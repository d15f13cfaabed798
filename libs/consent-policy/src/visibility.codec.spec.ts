import {
  decodeVisibility,
  encodeVisibility,
  parseVisibilityHeader,
  type VisibilityHeader,
} from './visibility.codec';

const v: VisibilityHeader = {
  enterpriseId: 'E1',
  ownInstitution: 'st-aurelia',
  others: 'all',
  deniedLabels: ['SUD', 'PSY', 'PSY'],
};

describe('visibility codec', () => {
  it('round-trips (labels de-duplicated and sorted) and is base64url', () => {
    const h = encodeVisibility(v);
    expect(h).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeVisibility(h)).toEqual({ ...v, deniedLabels: ['PSY', 'SUD'] });
    expect(
      decodeVisibility(encodeVisibility({ ...v, enterpriseId: null, others: 'none', deniedLabels: [] })),
    ).toEqual({
      enterpriseId: null,
      ownInstitution: 'st-aurelia',
      others: 'none',
      deniedLabels: [],
    });
  });

  const b64 = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['garbage', '!!!not-base64$$'],
    ['base64 of non-JSON', Buffer.from('hello').toString('base64url')],
    ['tampered others', b64({ ...v, others: 'some' })],
    ['extra field', b64({ ...v, admin: true })],
    ['missing field', b64({ enterpriseId: 'E1', others: 'all', deniedLabels: [] })],
    ['SQL in a label', b64({ ...v, deniedLabels: ["PSY') OR 1=1 --"] })],
    ['array', b64([v])],
    ['too long', 'A'.repeat(9000)],
  ])('rejects %s', (_what, header) => {
    expect(decodeVisibility(header)).toBeUndefined();
    expect(parseVisibilityHeader(header).error).toEqual(expect.any(String));
  });

  it('rejects a repeated header and says where a bad value is without echoing it', () => {
    expect(parseVisibilityHeader([encodeVisibility(v), encodeVisibility(v)]).error).toMatch(/once/);
    expect(parseVisibilityHeader(b64({ ...v, others: 'E-SECRET' })).error).toBe(
      'X-Tessera-Visibility is invalid at others',
    );
  });
});
