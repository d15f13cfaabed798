import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../../..');

export interface RunningService {
  readonly url: string;
  readonly process: ChildProcess;
  output(): string;
  /** Sends SIGTERM and resolves with the exit code (or signal name). */
  terminate(timeoutMs?: number): Promise<number | string>;
}

/**
 * Starts a compiled service (dist/, produced by `npm test`'s build step) as its own process, the
 * way `npm start` and the Dockerfile run it, and waits until /health answers 200.
 */
export async function startServiceProcess(
  name: string,
  port: number,
  env: Readonly<Record<string, string>> = {},
  timeoutMs = 60_000,
): Promise<RunningService> {
  const main = path.join(ROOT, `dist/apps/${name}/src/main.js`);
  if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` (npm test does) first`);
  const child = spawn('node', ['--import', `./dist/apps/${name}/src/instrumentation.js`, main], {
    cwd: ROOT,
    env: { ...process.env, HTTP_PORT: String(port), LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  let exit: number | string | undefined;
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => {
      exit = code ?? signal ?? 'unknown';
      resolve(exit);
    }),
  );
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exit !== undefined) throw new Error(`${name} exited (${exit}) before it was healthy:\n${output}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${name} was not healthy within ${timeoutMs} ms:\n${output}`);
    }
    const healthy = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2_000) }).then(
      (r) => r.status === 200,
      () => false,
    );
    if (healthy) break;
    await new Promise((r) => setTimeout(r, 300));
  }
  return {
    url,
    process: child,
    output: () => output,
    terminate: async (terminateTimeoutMs = 40_000) => {
      if (exit !== undefined) return exit;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), terminateTimeoutMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** A TCP port free on 127.0.0.1 right now (tests never depend on fixed ports). */
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

/**
 * The lifecycle every service must honour: boots against real Postgres/Redis/Kafka, reports each
 * dependency on /health, serves Prometheus /metrics, exits 0 after a graceful drain on SIGTERM.
 */
export async function expectServiceLifecycle(name: string): Promise<void> {
  const service = await startServiceProcess(name, await freePort());
  try {
    const health = await fetch(`${service.url}/health`);
    expect(health.status).toBe(200);
    const report = (await health.json()) as { service: string; checks: Record<string, { status: string }> };
    expect(report.service).toBe(name);
    expect(Object.keys(report.checks).sort()).toEqual(expect.arrayContaining(['kafka', 'postgres', 'redis']));
    for (const check of Object.values(report.checks)) expect(check.status).toBe('up');

    const metrics = await fetch(`${service.url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toContain('text/plain');
    expect(await metrics.text()).toContain(`process_cpu_user_seconds_total{service="${name}"}`);
  } finally {
    const code = await service.terminate();
    expect({ code, log: code === 0 ? '' : service.output() }).toEqual({ code: 0, log: '' });
    expect(service.output()).toContain('shutdown complete');
  }
}
