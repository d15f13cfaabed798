import {
  decodeCursor,
  encodeCursor,
  filterFromJson,
  filterKey,
  filterSql,
  filterToJson,
  parseReplayFilter,
  parseSearchQuery,
} from './ledger-filter';

describe('parseSearchQuery', () => {
  it('parses every filter field, repeated and comma-separated states, and the page', () => {
    const parsed = parseSearchQuery({
      facility: 'STAURELIA',
      institution: 'st-aurelia',
      type: 'ADT^A01',
      controlId: 'MSG-1',
      state: ['failed,mapped', 'failed'],
      from: '2024-05-01',
      to: '2024-05-02T08:00:00+08:00',
      limit: '20',
    });
    expect(parsed).toEqual({
      ok: true,
      value: {
        filter: {
          facility: 'STAURELIA',
          institution: 'st-aurelia',
          type: 'ADT^A01',
          controlId: 'MSG-1',
          states: ['failed', 'mapped'],
          from: new Date('2024-05-01T00:00:00Z'),
          to: new Date('2024-05-02T00:00:00Z'),
        },
        page: { limit: 20 },
      },
    });
  });

  it('defaults to 50 per page and names each bad parameter', () => {
    expect(parseSearchQuery({})).toEqual({ ok: true, value: { filter: {}, page: { limit: 50 } } });
    const bad = parseSearchQuery({
      limit: '501',
      state: 'lost',
      to: 'soon',
      type: 'A^B^C',
      sort: 'asc',
      cursor: 'nope',
    });
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    expect(bad.issues.map((i) => i.expression).sort()).toEqual(['limit', 'sort', 'state', 'to', 'type']);
  });

  it('rejects an inverted range and a cursor it did not issue', () => {
    const inverted = parseSearchQuery({ from: '2024-05-02', to: '2024-05-01' });
    expect(inverted).toEqual({ ok: false, issues: [expect.objectContaining({ expression: 'to' })] });
    const cursor = parseSearchQuery({ cursor: 'bm90LWEtY3Vyc29y' });
    expect(cursor).toEqual({ ok: false, issues: [expect.objectContaining({ expression: 'cursor' })] });
  });
});

describe('cursor', () => {
  it('round-trips received_at with microseconds and the id', () => {
    const cursor = { receivedAt: '2024-05-01T08:30:00.123456Z', id: '3d1f01c3-6778-4fea-b5aa-d7c31a1799ce' };
    expect(decodeCursor(encodeCursor(cursor))).toEqual(cursor);
    expect(decodeCursor(Buffer.from('2024-05-01|x').toString('base64url'))).toBeUndefined();
  });
});

describe('parseReplayFilter', () => {
  it('defaults to every replayable state and refuses states never accepted', () => {
    expect(parseReplayFilter({ institution: 'st-aurelia' })).toEqual({
      ok: true,
      value: { institution: 'st-aurelia', states: ['published', 'mapped', 'failed'] },
    });
    expect(parseReplayFilter({ state: 'rejected' })).toEqual({
      ok: false,
      issues: [expect.objectContaining({ expression: 'state' })],
    });
    expect(parseReplayFilter({ limit: 5 })).toEqual({
      ok: false,
      issues: [expect.objectContaining({ expression: 'limit' })],
    });
  });
});

describe('filter keys and SQL', () => {
  it('gives equal filters equal keys and survives its JSON form', () => {
    const a = parseReplayFilter({ state: 'mapped,failed', type: 'ADT' });
    const b = parseReplayFilter({ type: 'ADT', state: ['failed', 'mapped'] });
    if (!a.ok || !b.ok) throw new Error('expected valid filters');
    expect(filterKey(a.value)).toBe(filterKey(b.value));
    expect(filterFromJson(filterToJson(a.value))).toEqual(a.value);
  });

  it('numbers parameters from `first` and matches a bare message code as a prefix', () => {
    const { conditions, params } = filterSql(
      { type: 'ORU', states: ['failed'], from: new Date('2024-01-01T00:00:00Z') },
      2,
    );
    expect(conditions).toEqual(['message_type LIKE $2', 'state = ANY($3::text[])', 'received_at >= $4']);
    expect(params).toEqual(['ORU^%', ['failed'], new Date('2024-01-01T00:00:00Z')]);
    expect(filterSql({ type: 'ORU^R01' }).conditions).toEqual(['message_type = $1']);
  });
});
