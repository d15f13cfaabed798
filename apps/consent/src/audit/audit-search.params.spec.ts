import { parseAuditSearch, parseDate } from './audit-search.params';

const parse = (qs: string) => parseAuditSearch(new URLSearchParams(qs));

describe('parseAuditSearch', () => {
  it('reads patient, a date range, types as codes or codings, outcome and paging', () => {
    const result = parse(
      'patient=Patient/E42&date=ge2026-01-01&date=le2026-01-31T12:00:00Z&type=rest,http://dicom.nema.org/resources/ontology/DCM|110113&outcome=0&_count=10&_offset=20',
    );
    expect(result).toEqual({
      ok: true,
      query: {
        patient: 'E42',
        dates: [
          { op: '>=', instant: '2026-01-01T00:00:00.000Z' },
          { op: '<', instant: '2026-01-31T12:00:01.000Z' },
        ],
        types: ['rest', 'security-alert'],
        subtypes: [],
        outcomes: ['0'],
        count: 10,
        offset: 20,
      },
    });
  });

  it('defaults to 50 per page from the first, with no filter', () => {
    expect(parse('')).toEqual({
      ok: true,
      query: { patient: null, dates: [], types: [], subtypes: [], outcomes: [], count: 50, offset: 0 },
    });
  });

  it('names each bad parameter without echoing its value', () => {
    const result = parse('patient=a%20b&date=yesterday&type=nope&_count=9999&foo=1&patient=E1');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues.map((i) => i.parameter)).toEqual([
      'patient',
      'date',
      'type',
      '_count',
      'foo',
      'patient',
    ]);
    expect(JSON.stringify(result.issues)).not.toContain('yesterday');
  });
});

describe('parseDate', () => {
  it('turns FHIR prefixes and precisions into half-open bounds', () => {
    expect(parseDate('2026-03')).toEqual([
      { op: '>=', instant: '2026-03-01T00:00:00.000Z' },
      { op: '<', instant: '2026-04-01T00:00:00.000Z' },
    ]);
    expect(parseDate('lt2026-03-05T10:00+01:00')).toEqual([{ op: '<', instant: '2026-03-05T09:00:00.000Z' }]);
    expect(parseDate('gt2026-03-05T10:00:00.250Z')).toEqual([
      { op: '>=', instant: '2026-03-05T10:00:00.251Z' },
    ]);
    expect(parseDate('2026-02-30')).toBeNull();
  });
});
