import { linkConfidence, supersedes } from './patient-link.policy';
import type { LinkDecision } from './patient-link.policy';

function decision(decidedAt: string, eventId: string, enterpriseId: string | null = 'E1'): LinkDecision {
  return { enterpriseId, state: 'MATCH', origin: 'AUTO', decidedAt, eventId };
}

describe('supersedes (newest decision per source record wins)', () => {
  it('accepts the first decision', () => {
    expect(supersedes(decision('2024-05-01T00:00:00Z', 'a'), undefined)).toBe(true);
  });

  it('keeps the newer decision whatever the arrival order', () => {
    const older = decision('2024-05-01T00:00:00Z', 'z', 'E1');
    const newer = decision('2024-05-01T00:00:01Z', 'a', 'E2');
    expect(supersedes(newer, older)).toBe(true);
    expect(supersedes(older, newer)).toBe(false);
  });

  it('compares instants, not strings (offsets)', () => {
    const utc = decision('2024-05-01T01:00:00Z', 'a');
    const plus8 = decision('2024-05-01T08:30:00+08:00', 'b'); // 00:30Z: older
    expect(supersedes(plus8, utc)).toBe(false);
    expect(supersedes(utc, plus8)).toBe(true);
  });

  it('breaks ties on the event id so every replica converges', () => {
    const x = decision('2024-05-01T00:00:00Z', 'evt-1');
    const y = decision('2024-05-01T00:00:00.000Z', 'evt-2');
    expect(supersedes(y, x)).toBe(true);
    expect(supersedes(x, y)).toBe(false);
    expect(supersedes(x, x)).toBe(false);
  });

  it('folds any permutation of decisions to the same winner', () => {
    const all = [
      decision('2024-05-01T00:00:02Z', 'c', 'E3'),
      decision('2024-05-01T00:00:00Z', 'a', 'E1'),
      decision('2024-05-01T00:00:01Z', 'b', 'E2'),
    ];
    const fold = (order: readonly LinkDecision[]) =>
      order.reduce<LinkDecision | undefined>((cur, next) => (supersedes(next, cur) ? next : cur), undefined);
    const permutations = [
      [0, 1, 2],
      [0, 2, 1],
      [1, 0, 2],
      [1, 2, 0],
      [2, 0, 1],
      [2, 1, 0],
    ].map((p) => p.map((i) => all[i]));
    for (const order of permutations) expect(fold(order)?.enterpriseId).toBe('E3');
  });
});

describe('linkConfidence', () => {
  it('maps state and origin to auto / manual / probable', () => {
    expect(linkConfidence({ enterpriseId: 'E', state: 'MATCH', origin: 'AUTO' })).toBe('auto');
    expect(linkConfidence({ enterpriseId: 'E', state: 'MATCH', origin: 'MANUAL' })).toBe('manual');
    expect(linkConfidence({ enterpriseId: 'E', state: 'POSSIBLE_MATCH', origin: 'AUTO' })).toBe('probable');
    expect(linkConfidence({ enterpriseId: 'E', state: 'NO_MATCH', origin: 'MANUAL' })).toBeNull();
    expect(linkConfidence({ enterpriseId: null, state: 'MATCH', origin: 'AUTO' })).toBeNull();
  });
});
