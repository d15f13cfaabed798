import { matchGrade } from './match-grade';

const thresholds = { autoLink: 12, review: 4 };

describe('matchGrade', () => {
  it('grades MATCH certain, the upper review band probable, the lower possible, NO_MATCH not at all', () => {
    expect(matchGrade(20, 'MATCH', thresholds)?.grade).toBe('certain');
    expect(matchGrade(9, 'POSSIBLE_MATCH', thresholds)?.grade).toBe('probable');
    expect(matchGrade(5, 'POSSIBLE_MATCH', thresholds)?.grade).toBe('possible');
    expect(matchGrade(-3, 'NO_MATCH', thresholds)).toBeNull();
  });

  it('maps the weight monotonically into 0..1 (0.5 at weight 0)', () => {
    expect(matchGrade(0, 'POSSIBLE_MATCH', thresholds)?.score).toBe(0.5);
    expect(matchGrade(1, 'POSSIBLE_MATCH', thresholds)?.score).toBeCloseTo(2 / 3, 4);
    const high = matchGrade(30, 'MATCH', thresholds)?.score ?? 0;
    expect(high).toBeGreaterThan(0.999);
    expect(high).toBeLessThanOrEqual(1);
  });
});
