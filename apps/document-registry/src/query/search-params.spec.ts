import { dateRange, parseDate, parsePatient, parseSearch, SEARCH_SPECS } from './search-params';
import type { ParseResult, SearchQuery } from './search-params';

function ok(result: ParseResult): SearchQuery {
  if (!result.ok) throw new Error(`expected ok, got ${JSON.stringify(result.issues)}`);
  return result.query;
}

function issues(result: ParseResult): readonly string[] {
  if (result.ok) throw new Error('expected issues');
  return result.issues.map((i) => i.parameter);
}

const docs = (qs: string) => parseSearch(new URLSearchParams(qs), SEARCH_SPECS.DocumentReference);

describe('parsePatient', () => {
  it('reads an enterprise id, with or without Patient/', () => {
    expect(parsePatient('E-123')).toEqual({ kind: 'enterprise', enterpriseId: 'E-123' });
    expect(parsePatient('Patient/E-123')).toEqual({ kind: 'enterprise', enterpriseId: 'E-123' });
  });

  it('reads system|value of a source identifier (split at the last bar)', () => {
    expect(parsePatient('urn:oid:1.2.3|MRN-1')).toEqual({
      kind: 'source',
      system: 'urn:oid:1.2.3',
      value: 'MRN-1',
    });
  });

  it('rejects an empty system or value, and ids outside the FHIR id datatype', () => {
    expect(parsePatient('|MRN-1')).toBeNull();
    expect(parsePatient('urn:x|')).toBeNull();
    expect(parsePatient('a b')).toBeNull();
    expect(parsePatient('x'.repeat(65))).toBeNull();
  });
});

describe('dates', () => {
  it('expands each precision to its range', () => {
    expect(dateRange('2024')).toEqual({
      start: new Date('2024-01-01T00:00:00Z'),
      end: new Date('2025-01-01T00:00:00Z'),
    });
    expect(dateRange('2024-12')).toEqual({
      start: new Date('2024-12-01T00:00:00Z'),
      end: new Date('2025-01-01T00:00:00Z'),
    });
    expect(dateRange('2024-02-29')).toEqual({
      start: new Date('2024-02-29T00:00:00Z'),
      end: new Date('2024-03-01T00:00:00Z'),
    });
    expect(dateRange('2024-05-01T08:00:00+08:00')).toEqual({
      start: new Date('2024-05-01T00:00:00Z'),
      end: new Date('2024-05-01T00:00:01Z'),
    });
  });

  it('rejects impossible dates and times without a zone', () => {
    expect(dateRange('2023-02-29')).toBeNull();
    expect(dateRange('2024-13')).toBeNull();
    expect(dateRange('2024-05-01T08:00')).toBeNull();
    expect(dateRange('yesterday')).toBeNull();
  });

  it('maps prefixes to half-open bounds', () => {
    expect(parseDate('2024-05')).toEqual([
      { op: '>=', instant: '2024-05-01T00:00:00.000Z' },
      { op: '<', instant: '2024-06-01T00:00:00.000Z' },
    ]);
    expect(parseDate('ge2024-05')).toEqual([{ op: '>=', instant: '2024-05-01T00:00:00.000Z' }]);
    expect(parseDate('gt2024-05')).toEqual([{ op: '>=', instant: '2024-06-01T00:00:00.000Z' }]);
    expect(parseDate('le2024-05')).toEqual([{ op: '<', instant: '2024-06-01T00:00:00.000Z' }]);
    expect(parseDate('lt2024-05')).toEqual([{ op: '<', instant: '2024-05-01T00:00:00.000Z' }]);
    expect(parseDate('ne2024-05')).toBeNull();
  });

  it('accepts an offset whose + arrived as a space', () => {
    expect(parseDate('ge2024-05-01T08:00:00 08:00')).toEqual([
      { op: '>=', instant: '2024-05-01T00:00:00.000Z' },
    ]);
  });
});

describe('parseSearch', () => {
  it('applies defaults', () => {
    expect(ok(docs('patient=E1'))).toEqual({
      patient: { kind: 'enterprise', enterpriseId: 'E1' },
      tokens: {},
      dates: [],
      count: 50,
      offset: 0,
      sort: '-date',
      includeProbable: false,
    });
  });

  it('reads tokens, repeated dates, paging and sorting', () => {
    const q = ok(
      docs(
        'patient=urn:oid:1|M1&type=http://loinc.org|11488-4,CN&status=current,superseded&date=ge2024-01-01&date=lt2025&_count=10&_offset=20&_sort=date&_includeProbable=true',
      ),
    );
    expect(q.tokens).toEqual({ type: ['http://loinc.org|11488-4', 'CN'], status: ['current', 'superseded'] });
    expect(q.dates).toHaveLength(2);
    expect([q.count, q.offset, q.sort, q.includeProbable]).toEqual([10, 20, 'date', true]);
  });

  it('names each bad parameter', () => {
    expect(issues(docs('type=CN'))).toEqual(['patient']);
    expect(issues(docs('patient=E1&status=final'))).toEqual(['status']);
    expect(issues(docs('patient=E1&date=2024-99'))).toEqual(['date']);
    expect(issues(docs('patient=E1&_count=0'))).toEqual(['_count']);
    expect(issues(docs('patient=E1&_count=201'))).toEqual(['_count']);
    expect(issues(docs('patient=E1&_sort=title'))).toEqual(['_sort']);
    expect(issues(docs('patient=E1&code=x'))).toEqual(['code']);
    expect(issues(docs('patient=E1&patient=E2'))).toEqual(['patient']);
    expect(issues(docs('patient=E1&type=http://x|'))).toEqual(['type']);
    expect(issues(docs('patient=|x&_offset=-1'))).toEqual(['patient', '_offset']);
  });

  it('ignores _format', () => {
    expect(ok(docs('patient=E1&_format=json')).count).toBe(50);
  });

  it('intersects a repeated token parameter (AND of ORs)', () => {
    expect(ok(docs('patient=E1&type=A,B&type=B,C')).tokens).toEqual({ type: ['B'] });
  });

  it('checks status against each resource value set', () => {
    const enc = (qs: string) => parseSearch(new URLSearchParams(qs), SEARCH_SPECS.Encounter);
    expect(ok(enc('patient=E1&status=cancelled&class=IMP')).tokens).toEqual({
      status: ['cancelled'],
      class: ['IMP'],
    });
    expect(issues(enc('patient=E1&status=current'))).toEqual(['status']);
  });
});
