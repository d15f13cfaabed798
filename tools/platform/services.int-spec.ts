import { spawnSync } from 'node:child_process';
import { expectServiceLifecycle, workspacePath } from '@tessera/testing';

// Each app, black-box as `npm start` runs it (compiled, own process), on a free port.
const services = ['interop-gateway', 'mpi', 'consent', 'document-registry', 'exchange'] as const;

describe('service apps', () => {
  it.each(services)(
    '%s boots, is healthy against real Postgres/Redis/Kafka, serves /metrics, and drains on SIGTERM',
    async (name) => {
      await expectServiceLifecycle(name);
    },
  );
});

describe('service configuration', () => {
  it('refuses to start with a malformed setting, naming the variable and what it expects', () => {
    const result = spawnSync('node', [workspacePath('dist/apps/mpi/src/main.js')], {
      env: { ...process.env, HTTP_PORT: 'not-a-port', KAFKA_BROKERS: '', LOG_LEVEL: 'loud' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(result.status).toBe(78);
    expect(result.stderr).toContain('mpi: cannot start.');
    expect(result.stderr).toContain('HTTP_PORT: is malformed');
    expect(result.stderr).toContain('a TCP port number');
    expect(result.stderr).toContain('LOG_LEVEL: is malformed');
    expect(result.stderr).not.toContain('not-a-port');
    expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });
});
