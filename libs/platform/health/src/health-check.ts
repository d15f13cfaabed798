/**
 * Readiness checks. Each check answers within its timeout; `/health` is 200 only when all pass.
 * The answer names each dependency and its latency, never connection strings or credentials.
 */
export interface HealthCheck {
  readonly name: string;
  check(): Promise<void>;
}

export interface CheckResult {
  readonly status: 'up' | 'down';
  readonly latencyMs: number;
  readonly error?: string;
}

export interface HealthReport {
  readonly status: 'ok' | 'unavailable';
  readonly service: string;
  readonly uptimeSeconds: number;
  readonly checks: Readonly<Record<string, CheckResult>>;
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export async function runHealthChecks(
  service: string,
  checks: readonly HealthCheck[],
  timeoutMs = 2_000,
  startedAt = Date.now(),
): Promise<HealthReport> {
  const results = await Promise.all(
    checks.map(async (c): Promise<[string, CheckResult]> => {
      const began = performance.now();
      try {
        await withTimeout(c.check(), timeoutMs, c.name);
        return [c.name, { status: 'up', latencyMs: Math.round(performance.now() - began) }];
      } catch (error) {
        return [
          c.name,
          { status: 'down', latencyMs: Math.round(performance.now() - began), error: (error as Error).message },
        ];
      }
    }),
  );
  const checksByName = Object.fromEntries(results);
  return {
    status: results.every(([, r]) => r.status === 'up') ? 'ok' : 'unavailable',
    service,
    uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
    checks: checksByName,
  };
}
