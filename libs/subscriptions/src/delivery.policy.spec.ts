import type { BreakerState } from './delivery.policy';
import {
  breakerAllows,
  breakerOnFailure,
  breakerOnProbe,
  breakerOnSuccess,
  initialBreaker,
  retryDelayMs,
} from './delivery.policy';

describe('retryDelayMs', () => {
  const options = { baseMs: 1000, maxMs: 60_000 };

  it('draws from [0, base·2^(attempt−1)) using the injected random source', () => {
    expect(retryDelayMs(1, { ...options, random: () => 0.5 })).toBe(500);
    expect(retryDelayMs(2, { ...options, random: () => 0.5 })).toBe(1000);
    expect(retryDelayMs(4, { ...options, random: () => 0.5 })).toBe(4000);
    expect(retryDelayMs(3, { ...options, random: () => 0 })).toBe(0);
  });

  it('caps the ceiling at maxMs, even for huge attempt numbers', () => {
    expect(retryDelayMs(7, { ...options, random: () => 0.999 })).toBe(59_940);
    expect(retryDelayMs(5000, { ...options, random: () => 0.5 })).toBe(30_000);
  });

  it('treats attempts below 1 as the first, and a random source out of [0,1] as its nearest bound', () => {
    expect(retryDelayMs(0, { ...options, random: () => 1 })).toBe(1000);
    expect(retryDelayMs(1, { ...options, random: () => 7 })).toBe(1000);
    expect(retryDelayMs(1, { ...options, random: () => -1 })).toBe(0);
    expect(retryDelayMs(1, { ...options, random: () => Number.NaN })).toBe(0);
  });

  it('uses Math.random when no source is given, staying within the ceiling', () => {
    for (let i = 0; i < 50; i++) {
      const d = retryDelayMs(3, options);
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThan(4000);
    }
  });
});

describe('circuit breaker', () => {
  const opts = { failureThreshold: 3, maxCoolDownMs: 8000 };

  it('starts closed and delivers', () => {
    const s = initialBreaker(1000);
    expect(s).toMatchObject({ state: 'closed', consecutiveFailures: 0, coolDownMs: 1000 });
    expect(breakerAllows(s, 0)).toBe('deliver');
  });

  it('stays closed below the threshold and opens for one cool-down at it', () => {
    let s: BreakerState = initialBreaker(1000);
    s = breakerOnFailure(s, 10, opts);
    s = breakerOnFailure(s, 20, opts);
    expect(s).toMatchObject({ state: 'closed', consecutiveFailures: 2 });
    s = breakerOnFailure(s, 30, opts);
    expect(s).toMatchObject({ state: 'open', consecutiveFailures: 3, openUntil: 1030 });
    expect(breakerAllows(s, 1029)).toBe('wait');
    expect(breakerAllows(s, 1030)).toBe('probe');
  });

  it('a success resets the failure count of a closed breaker', () => {
    let s: BreakerState = initialBreaker(1000);
    s = breakerOnFailure(breakerOnFailure(s, 0, opts), 0, opts);
    s = breakerOnSuccess(s);
    s = breakerOnFailure(s, 0, opts);
    expect(s).toMatchObject({ state: 'closed', consecutiveFailures: 1 });
  });

  it('lets one probe through; others wait while it is in flight', () => {
    let s: BreakerState = initialBreaker(1000);
    for (let i = 0; i < 3; i++) s = breakerOnFailure(s, 0, opts);
    s = breakerOnProbe(s, 1000);
    expect(s.state).toBe('half-open');
    expect(breakerAllows(s, 1500)).toBe('wait');
  });

  it('closes on a successful probe and restores the base cool-down', () => {
    let s: BreakerState = initialBreaker(1000);
    for (let i = 0; i < 3; i++) s = breakerOnFailure(s, 0, opts);
    s = breakerOnFailure(breakerOnProbe(s, 1000), 1100, opts); // probe failed: cool-down 2000
    s = breakerOnSuccess(breakerOnProbe(s, 3100));
    expect(s).toMatchObject({ state: 'closed', consecutiveFailures: 0, coolDownMs: 1000 });
    expect(breakerAllows(s, 3200)).toBe('deliver');
  });

  it('doubles the cool-down per failed probe up to maxCoolDownMs', () => {
    let s: BreakerState = initialBreaker(1000);
    for (let i = 0; i < 3; i++) s = breakerOnFailure(s, 0, opts);
    const coolDowns: number[] = [];
    let now = 1000;
    for (let i = 0; i < 5; i++) {
      s = breakerOnFailure(breakerOnProbe(s, now), now, opts);
      coolDowns.push(s.coolDownMs);
      expect(s).toMatchObject({ state: 'open', openUntil: now + s.coolDownMs });
      now = s.openUntil!;
    }
    expect(coolDowns).toEqual([2000, 4000, 8000, 8000, 8000]);
  });

  it('a late failure while open is counted but does not extend the window', () => {
    let s: BreakerState = initialBreaker(1000);
    for (let i = 0; i < 3; i++) s = breakerOnFailure(s, 0, opts);
    const late = breakerOnFailure(s, 500, opts);
    expect(late).toMatchObject({ state: 'open', consecutiveFailures: 4, openUntil: 1000 });
  });

  it('allows another probe when a probe outcome was never reported within its lease', () => {
    let s: BreakerState = initialBreaker(1000);
    for (let i = 0; i < 3; i++) s = breakerOnFailure(s, 0, opts);
    s = breakerOnProbe(s, 1000);
    expect(breakerAllows(s, 1999)).toBe('wait');
    expect(breakerAllows(s, 2000)).toBe('probe');
  });
});
