import { parseRequestContext } from './request-context';
import { checkSearchParams, parsePatientRef } from './search-hygiene';

describe('parseRequestContext', () => {
  it('accepts a known purpose the client is registered for, with an on-behalf-of user', () => {
    expect(
      parseRequestContext({ 'x-tessera-purpose-of-use': 'TREAT', 'x-tessera-on-behalf-of': 'dr-7' }, [
        'TREAT',
      ]),
    ).toEqual({
      ok: true,
      context: { purposeOfUse: 'TREAT', onBehalfOf: 'dr-7' },
    });
  });

  it.each([
    [{}, null, 400, 'required'],
    [{ 'x-tessera-purpose-of-use': 'FUN' }, null, 400, 'code-invalid'],
    [{ 'x-tessera-purpose-of-use': 'HRESCH' }, ['TREAT'], 403, 'forbidden'],
    [
      { 'x-tessera-purpose-of-use': 'TREAT', 'x-tessera-break-glass-reason': 'because' },
      null,
      400,
      'business-rule',
    ],
    [{ 'x-tessera-purpose-of-use': 'ETREAT', 'x-tessera-break-glass-reason': 'abc' }, null, 400, 'invalid'],
    [
      { 'x-tessera-purpose-of-use': 'ETREAT', 'x-tessera-break-glass-reason': 'bad\r\nreason' },
      null,
      400,
      'invalid',
    ],
    [{ 'x-tessera-purpose-of-use': ['TREAT', 'ETREAT'] }, null, 400, 'invalid'],
  ] as const)('%j (allowed %j) → %i %s', (headers, allowed, status, code) => {
    const result = parseRequestContext(headers, allowed);
    expect(result).toMatchObject({ ok: false, status, issue: { code } });
  });

  it('break-the-glass: ETREAT with a 5-500 character reason', () => {
    expect(
      parseRequestContext(
        { 'x-tessera-purpose-of-use': 'ETREAT', 'x-tessera-break-glass-reason': ' unconscious in ED ' },
        ['ETREAT'],
      ),
    ).toEqual({
      ok: true,
      context: { purposeOfUse: 'ETREAT', breakGlassReason: 'unconscious in ED' },
    });
  });
});

describe('checkSearchParams', () => {
  const accepted = new Map([
    ['patient', 'reference'],
    ['date', 'date'],
    ['_count', 'number'],
    ['family', 'string'],
    ['type', 'token'],
  ] as const);

  it('passes well-formed parameters', () => {
    expect(
      checkSearchParams(
        new URLSearchParams(
          'patient=urn:oid:1.2|A-1&date=ge2026-01-01T10:00:00+01:00&_count=10&family=O%27Brien&type=http://loinc.org|11506-3',
        ),
        accepted,
      ),
    ).toEqual([]);
  });

  it.each([
    ['patient', "' OR 1=1 --"],
    ['patient', '<script>alert(1)</script>'],
    ['type', "x'; DROP TABLE items; --"],
    ['date', '2026-13-45T99'],
    ['date', 'yesterday'],
    ['_count', '-1'],
    ['family', 'a\u0000b'],
    ['family', 'x'.repeat(600)],
  ])('%s=%j → 400 issue naming the parameter, not echoing the value', (name, value) => {
    const issues = checkSearchParams(new URLSearchParams([[name, value]]), accepted);
    expect(issues).toHaveLength(1);
    expect(issues[0]?.expression).toBe(name);
    expect(issues[0]?.diagnostics).not.toContain(value.slice(0, 8));
  });

  it('unknown parameters are refused (strict handling)', () => {
    expect(checkSearchParams(new URLSearchParams('_include=*'), accepted)[0]).toMatchObject({
      code: 'not-supported',
    });
  });

  it('patient references: enterprise id or system|value, never path tricks', () => {
    expect(parsePatientRef('Patient/abc-1')).toEqual({ kind: 'enterprise', enterpriseId: 'abc-1' });
    expect(parsePatientRef('urn:oid:1.2|MRN-1')).toEqual({
      kind: 'source',
      system: 'urn:oid:1.2',
      value: 'MRN-1',
    });
    expect(parsePatientRef('../../etc/passwd')).toBeNull();
    expect(parsePatientRef('a|b|c')).toBeNull();
  });
});
