import { linkDecisionSupersedes } from './link-order';
import type { OrderedLinkDecision } from './link-order';

const d = (decidedAt: string, eventId: string): OrderedLinkDecision => ({ decidedAt, eventId });

describe('linkDecisionSupersedes (newest decision per source record wins)', () => {
  it('accepts the first decision and keeps the newer one whatever the arrival order', () => {
    expect(linkDecisionSupersedes(d('2024-05-01T00:00:00Z', 'a'), undefined)).toBe(true);
    expect(linkDecisionSupersedes(d('2024-05-01T00:00:01Z', 'a'), d('2024-05-01T00:00:00Z', 'z'))).toBe(true);
    expect(linkDecisionSupersedes(d('2024-05-01T00:00:00Z', 'z'), d('2024-05-01T00:00:01Z', 'a'))).toBe(
      false,
    );
  });

  it('compares instants, not strings, and breaks ties on the event id', () => {
    expect(linkDecisionSupersedes(d('2024-05-01T08:30:00+08:00', 'b'), d('2024-05-01T01:00:00Z', 'a'))).toBe(
      false,
    );
    expect(
      linkDecisionSupersedes(d('2024-05-01T00:00:00.000Z', 'evt-2'), d('2024-05-01T00:00:00Z', 'evt-1')),
    ).toBe(true);
    expect(
      linkDecisionSupersedes(d('2024-05-01T00:00:00Z', 'evt-1'), d('2024-05-01T00:00:00Z', 'evt-1')),
    ).toBe(false);
  });
});
