import { progressOf } from './rematch-progress';

describe('progressOf', () => {
  const start = new Date('2026-01-01T00:00:00Z');
  it('gives the share done and a linear ETA from the rate so far', () => {
    expect(progressOf(250, 1000, start, new Date('2026-01-01T00:00:10Z'))).toEqual({ processed: 250, total: 1000, percent: 25, etaSeconds: 30 });
    expect(progressOf(1, 3, start, new Date('2026-01-01T00:00:01Z'))).toEqual({ processed: 1, total: 3, percent: 33.3, etaSeconds: 2 });
  });
  it('has no ETA before the first record or once done; an empty scope is 100 %', () => {
    expect(progressOf(0, 10, start, start).etaSeconds).toBeNull();
    expect(progressOf(10, 10, start, new Date('2026-01-01T00:01:00Z'))).toMatchObject({ percent: 100, etaSeconds: null });
    expect(progressOf(0, 0, start, start)).toMatchObject({ percent: 100, etaSeconds: null });
  });
});
