import { spawn } from 'node:child_process';
import net from 'node:net';

/** Helpers every benchmark uses (libs/testing is test-only and not in the build). */

/** An integer command-line option within [min, max]; `1_000_000` style separators allowed. */
export function intArg(
  value: string | undefined,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  const n = Number(value.replaceAll('_', ''));
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new Error(`--${name} must be an integer from ${min} to ${max} (got "${value}")`);
  }
  return n;
}

/** A TCP port free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** What an open-loop run of FHIR searches measured (latency from each request's due time to its full body). */
export interface SearchRunResult {
  readonly label: string;
  readonly sent: number;
  readonly errors: number;
  /** Sorted ascending, in ms. */
  readonly latencies: number[];
  /** Mean entries per successful searchset Bundle. */
  readonly meanItems: number;
}

/**
 * Sends `rate` searches per second for `durationMs`, open loop (each request at its due time whatever
 * the previous ones do, so queueing shows in the latency), and waits for every answer.
 */
export async function runOpenLoopSearches(
  label: string,
  rate: number,
  durationMs: number,
  request: (n: number) => { readonly url: string; readonly headers: Record<string, string> },
): Promise<SearchRunResult> {
  const total = Math.floor((rate * durationMs) / 1000);
  const latencies: number[] = [];
  let errors = 0;
  let items = 0;
  const start = performance.now() + 50;
  const inFlight: Promise<void>[] = [];
  for (let n = 0; n < total; n += 1) {
    const due = start + (n * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const { url, headers } = request(n);
    inFlight.push(
      fetch(url, { headers, signal: AbortSignal.timeout(30_000) })
        .then(async (response) => {
          const body = (await response.json()) as { entry?: unknown[] };
          latencies.push(performance.now() - due);
          if (response.status !== 200) errors += 1;
          else items += body.entry?.length ?? 0;
        })
        .catch(() => {
          errors += 1;
        }),
    );
  }
  await Promise.all(inFlight);
  return {
    label,
    sent: total,
    errors,
    latencies: latencies.sort((a, b) => a - b),
    meanItems: items / Math.max(1, total - errors),
  };
}

/** A service process a benchmark started (the compiled app or a bench server). */
export interface BenchProcess {
  readonly url: string;
  readonly pid?: number;
  /** SIGTERM, SIGKILL after 40 s; resolves when it has exited. */
  stop(): Promise<void>;
}

/**
 * Starts `node <args>` in `cwd` with `env` on top of this process's environment (HTTP_PORT = `port`,
 * LOG_LEVEL warn) and waits up to 120 s for its `/health`; the last 4 kB of stderr explain a failure.
 */
export async function startBenchProcess(
  label: string,
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  port: number,
  cwd: string,
): Promise<BenchProcess> {
  const child = spawn('node', [...args], {
    cwd,
    env: { ...process.env, ...env, HTTP_PORT: String(port), LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (exited) throw new Error(`${label} exited before it was healthy:\n${stderr}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${label} was not healthy within 120 s:\n${stderr}`);
    }
    const ok = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2_000) }).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  return {
    url,
    ...(child.pid === undefined ? {} : { pid: child.pid }),
    stop: async () => {
      if (exited) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 40_000);
      await exit;
      clearTimeout(timer);
    },
  };
}
