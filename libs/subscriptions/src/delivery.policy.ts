/**
 * Delivery pacing for one subscriber endpoint: retry backoff and a circuit breaker, as pure
 * functions over plain state (the notify service persists the state; the clock and the random
 * source are arguments).
 */

/**
 * Exponential backoff with full jitter: a uniformly random delay in [0, min(maxMs, baseMs·2^(attempt−1))).
 * Full jitter spreads the retries of many notifications that failed together (an endpoint that was
 * down) instead of sending them back in synchronised waves. `attempt` counts from 1 (the first retry).
 */
export function retryDelayMs(
  attempt: number,
  options: { readonly baseMs: number; readonly maxMs: number; readonly random?: () => number },
): number {
  const n = Math.max(1, Math.floor(attempt));
  // 2^(n-1) overflows to Infinity long before it matters; min() caps it either way.
  const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** (n - 1));
  const r = (options.random ?? Math.random)();
  const unit = Number.isFinite(r) ? Math.min(Math.max(r, 0), 1) : 0;
  return Math.floor(ceiling * unit);
}

/**
 * Circuit breaker state. closed: deliver. open: wait until `openUntil`, then one probe. half-open: a
 * probe is in flight (its lease ends at `openUntil`); its success closes the breaker, its failure
 * re-opens it with the cool-down doubled (up to maxCoolDownMs).
 */
export interface BreakerState {
  readonly state: 'closed' | 'open' | 'half-open';
  readonly consecutiveFailures: number;
  readonly openUntil?: number;
  readonly coolDownMs: number;
  /** The cool-down a closed breaker starts from again (set by initialBreaker). */
  readonly baseCoolDownMs?: number;
}

export function initialBreaker(coolDownMs: number): BreakerState {
  return { state: 'closed', consecutiveFailures: 0, coolDownMs, baseCoolDownMs: coolDownMs };
}

/** Any success closes the breaker and resets the cool-down to its base. */
export function breakerOnSuccess(s: BreakerState): BreakerState {
  const base = s.baseCoolDownMs ?? s.coolDownMs;
  return { state: 'closed', consecutiveFailures: 0, coolDownMs: base, baseCoolDownMs: base };
}

export function breakerOnFailure(
  s: BreakerState,
  nowMs: number,
  options: { readonly failureThreshold: number; readonly maxCoolDownMs: number },
): BreakerState {
  const failures = s.consecutiveFailures + 1;
  switch (s.state) {
    case 'closed':
      if (failures < options.failureThreshold) return { ...s, consecutiveFailures: failures };
      return { ...s, state: 'open', consecutiveFailures: failures, openUntil: nowMs + s.coolDownMs };
    case 'half-open': {
      // The probe failed: the endpoint is still down, so wait twice as long before the next one.
      const coolDownMs = Math.min(options.maxCoolDownMs, s.coolDownMs * 2);
      return {
        ...s,
        state: 'open',
        consecutiveFailures: failures,
        coolDownMs,
        openUntil: nowMs + coolDownMs,
      };
    }
    case 'open':
      // A delivery that started before the breaker opened failed late: count it, keep the window.
      return { ...s, consecutiveFailures: failures };
  }
}

export function breakerAllows(s: BreakerState, nowMs: number): 'deliver' | 'probe' | 'wait' {
  switch (s.state) {
    case 'closed':
      return 'deliver';
    case 'open':
    case 'half-open':
      // half-open past its lease: the probe's outcome was never reported (a crash); allow another.
      return s.openUntil === undefined || nowMs >= s.openUntil ? 'probe' : 'wait';
  }
}

/**
 * Record that a probe was sent (after breakerAllows said 'probe'), so concurrent deliveries wait for
 * its outcome. The probe holds a lease of one cool-down: unreported by then, another probe may go.
 */
export function breakerOnProbe(s: BreakerState, nowMs: number): BreakerState {
  return { ...s, state: 'half-open', openUntil: nowMs + s.coolDownMs };
}
