import { alertIdOf, isRegisteredThenQueried, shouldOpenAlert, windowEndingAt } from './watch.policy';

const at = new Date('2026-03-02T12:00:00Z');
const minutes = 24 * 60;
const hoursBefore = (h: number) => new Date(at.getTime() - h * 3_600_000);

describe('isRegisteredThenQueried', () => {
  it('counts a person registered before the query and held by someone else, however long before', () => {
    expect(isRegisteredThenQueried(hoursBefore(2), ['AURELIA'], 'RIVERSIDE', at)).toBe(true);
    expect(isRegisteredThenQueried(at, ['AURELIA'], 'RIVERSIDE', at)).toBe(true);
    expect(isRegisteredThenQueried(hoursBefore(25), ['AURELIA'], 'RIVERSIDE', at)).toBe(true);
    expect(isRegisteredThenQueried(hoursBefore(24 * 90), ['AURELIA'], 'RIVERSIDE', at)).toBe(true);
  });

  it('not a person only the querying institution held, nor one registered after the query', () => {
    expect(isRegisteredThenQueried(hoursBefore(2), ['RIVERSIDE'], 'RIVERSIDE', at)).toBe(false);
    expect(isRegisteredThenQueried(hoursBefore(2), [], 'RIVERSIDE', at)).toBe(false);
    expect(isRegisteredThenQueried(new Date(at.getTime() + 1), ['AURELIA'], 'RIVERSIDE', at)).toBe(false);
  });
});

describe('shouldOpenAlert', () => {
  it('opens when the count exceeds the threshold (not when it equals it)', () => {
    expect(shouldOpenAlert(10, 10, null, at, minutes)).toBe(false);
    expect(shouldOpenAlert(11, 10, null, at, minutes)).toBe(true);
  });

  it('once per institution per window', () => {
    expect(shouldOpenAlert(30, 10, hoursBefore(3), at, minutes)).toBe(false);
    expect(shouldOpenAlert(30, 10, hoursBefore(24), at, minutes)).toBe(true);
    expect(windowEndingAt(at, minutes).start).toEqual(hoursBefore(24));
  });
});

describe('alertIdOf', () => {
  it('is a UUID fixed by the institution and the event that tipped the count', () => {
    const id = alertIdOf('RIVERSIDE', 'evt-1');
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(alertIdOf('RIVERSIDE', 'evt-1')).toBe(id);
    expect(alertIdOf('RIVERSIDE', 'evt-2')).not.toBe(id);
    expect(alertIdOf('AURELIA', 'evt-1')).not.toBe(id);
  });
});
