import { runHealthChecks } from './health-check';

describe('runHealthChecks', () => {
  it('is ok when every check passes', async () => {
    const report = await runHealthChecks('svc', [{ name: 'a', check: async () => undefined }]);
    expect(report.status).toBe('ok');
    expect(report.checks['a']?.status).toBe('up');
  });

  it('is unavailable and names the failing dependency, also on timeout', async () => {
    const report = await runHealthChecks(
      'svc',
      [
        { name: 'postgres', check: async () => undefined },
        { name: 'kafka', check: () => new Promise<void>(() => undefined) },
        { name: 'redis', check: async () => Promise.reject(new Error('ECONNREFUSED')) },
      ],
      50,
    );
    expect(report.status).toBe('unavailable');
    expect(report.checks['postgres']?.status).toBe('up');
    expect(report.checks['kafka']).toMatchObject({ status: 'down', error: 'kafka did not answer within 50 ms' });
    expect(report.checks['redis']).toMatchObject({ status: 'down', error: 'ECONNREFUSED' });
  });
});
