import { attributesFromHeaders, defineEvent } from '@tessera/contracts';
import { z } from 'zod';
import { buildEventAttributes, buildRecordHeaders, decodeHeaders, truncateErrorMessage } from './record-headers.util';

const Thing = defineEvent('org.tessera.test.thing', 2, 'test.thing', z.object({ n: z.number() }));

describe('decodeHeaders', () => {
  it('decodes Buffer and string values, takes the last of repeated headers and skips undefined', () => {
    expect(
      decodeHeaders({
        ce_id: Buffer.from('abc'),
        ce_type: 'plain',
        repeated: [Buffer.from('first'), Buffer.from('second')],
        missing: undefined,
      }),
    ).toEqual({ ce_id: 'abc', ce_type: 'plain', repeated: 'second' });
  });

  it('returns an empty object without headers', () => {
    expect(decodeHeaders(undefined)).toEqual({});
  });
});

describe('buildEventAttributes / buildRecordHeaders', () => {
  it('builds CloudEvents 1.0 attributes that survive the binary-mode round trip', () => {
    const attributes = buildEventAttributes(Thing, {
      source: '/tessera/test',
      subject: 'Patient/1',
      id: 'id-1',
      time: new Date(Date.UTC(2024, 4, 6)),
    });
    expect(attributes).toEqual({
      id: 'id-1',
      specversion: '1.0',
      type: 'org.tessera.test.thing',
      source: '/tessera/test',
      time: '2024-05-06T00:00:00.000Z',
      subject: 'Patient/1',
      schemaversion: 2,
      datacontenttype: 'application/json',
    });
    const headers = buildRecordHeaders(attributes, { traceparent: '00-abc-def-01' });
    expect(headers.traceparent).toBe('00-abc-def-01');
    expect(headers.ce_schemaversion).toBe('2');
    expect(attributesFromHeaders(headers)).toEqual(attributes);
  });

  it('generates a UUID id and the current time when omitted', () => {
    const attributes = buildEventAttributes(Thing, { source: '/s' });
    expect(attributes.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(Math.abs(Date.parse(attributes.time) - Date.now())).toBeLessThan(5000);
    expect(attributes).not.toHaveProperty('subject');
  });
});

describe('truncateErrorMessage', () => {
  it('collapses whitespace and keeps short messages', () => {
    expect(truncateErrorMessage('a\n\tb  c ')).toBe('a b c');
  });

  it('cuts long messages to the limit with an ellipsis', () => {
    const out = truncateErrorMessage('y'.repeat(100), 10);
    expect(out).toHaveLength(10);
    expect(out.endsWith('…')).toBe(true);
  });
});
