import { Registry } from 'prom-client';
import { EventValidationError } from '@tessera/contracts';
import type { PublishInput } from '@tessera/platform-kafka';
import { AuditUnavailableError, AuditWriter } from './audit-writer';
import type { AuditRecordData, AuditRecordInput, AuditSink, AuditWriterOptions } from './audit-writer';

/** A sink whose sends the test completes by hand. */
class ManualSink implements AuditSink {
  readonly sends: Array<{
    inputs: ReadonlyArray<PublishInput<AuditRecordData>>;
    resolve: () => void;
    reject: (error: Error) => void;
  }> = [];

  publishBatch(_definition: unknown, inputs: ReadonlyArray<PublishInput<AuditRecordData>>): Promise<unknown> {
    return new Promise<void>((resolve, reject) => this.sends.push({ inputs, resolve, reject }));
  }
}

const logger = { warn: jest.fn(), error: jest.fn() };

function rec(
  n: number,
  patients: string[] = [`E${n}`],
  clientId: string | null = 'client-a',
): AuditRecordInput {
  return {
    type: 'rest',
    subtype: 'search-type',
    action: 'E',
    outcome: '0',
    agent: { clientId, institutionId: 'hosp-a' },
    purposeOfUse: 'TREAT',
    patients,
    entities: [{ type: 'DocumentReference', query: `patient=E${n}` }],
  };
}

function writer(
  sink: AuditSink,
  options: Partial<AuditWriterOptions> = {},
  registry = new Registry(),
): AuditWriter {
  return new AuditWriter(sink, { source: '/tessera/test', observer: 'test', ...options }, logger, registry);
}

/** Lets queued microtasks and a linger timer of `ms` run. */
async function tick(ms = 0): Promise<void> {
  await jest.advanceTimersByTimeAsync(ms);
}

/** Records whether a promise has settled, without unhandled rejections. */
function track(promise: Promise<void>): { state: 'pending' | 'ok' | Error } {
  const t: { state: 'pending' | 'ok' | Error } = { state: 'pending' };
  promise.then(
    () => (t.state = 'ok'),
    (error: Error) => (t.state = error),
  );
  return t;
}

beforeEach(() => {
  jest.useFakeTimers();
  logger.warn.mockClear();
  logger.error.mockClear();
});
afterEach(() => jest.useRealTimers());

describe('AuditWriter group commit', () => {
  it('sends concurrent records as one produce after the linger, and answers each caller only on acknowledgement', async () => {
    const sink = new ManualSink();
    const w = writer(sink, { lingerMs: 2 });
    const calls = [1, 2, 3].map((n) => track(w.record(rec(n))));
    await tick(1);
    expect(sink.sends).toHaveLength(0); // still lingering
    await tick(1);
    expect(sink.sends).toHaveLength(1);
    expect(sink.sends[0]?.inputs).toHaveLength(3);
    expect(calls.map((c) => c.state)).toEqual(['pending', 'pending', 'pending']);
    sink.sends[0]?.resolve();
    await tick();
    expect(calls.map((c) => c.state)).toEqual(['ok', 'ok', 'ok']);
  });

  it('adaptive by default: an idle writer sends at once (records of one turn together), no timer', async () => {
    const sink = new ManualSink();
    const w = writer(sink);
    const first = [1, 2].map((n) => track(w.record(rec(n))));
    expect(sink.sends).toHaveLength(0); // the rest of this turn may add records
    const t0 = Date.now();
    await tick(); // no time passes: only what is due now (the setImmediate) runs
    expect(Date.now()).toBe(t0);
    expect(sink.sends).toHaveLength(1);
    expect(sink.sends[0]?.inputs.map((i) => i.key)).toEqual(['E1', 'E2']);
    // While that produce is in flight, records only queue; its acknowledgement sends them as one group.
    const second = [3, 4, 5].map((n) => track(w.record(rec(n))));
    await tick(100);
    expect(sink.sends).toHaveLength(1);
    sink.sends[0]?.resolve();
    await tick();
    expect(first.map((c) => c.state)).toEqual(['ok', 'ok']);
    expect(sink.sends).toHaveLength(2);
    expect(sink.sends[1]?.inputs.map((i) => i.key)).toEqual(['E3', 'E4', 'E5']);
    expect(second.map((c) => c.state)).toEqual(['pending', 'pending', 'pending']);
    sink.sends[1]?.resolve();
    await tick();
    expect(second.map((c) => c.state)).toEqual(['ok', 'ok', 'ok']);
    // Idle again: the next record goes out at once.
    void w.record(rec(6));
    await tick();
    expect(sink.sends).toHaveLength(3);
    sink.sends[2]?.resolve();
  });

  it('keys each record by its first patient, else its client id, else the observer; fills the defaults', async () => {
    const sink = new ManualSink();
    const w = writer(sink);
    void w.record(rec(1, ['E1', 'E9']));
    void w.record(rec(2, [], 'client-b'));
    void w.record(rec(3, [], null));
    await tick(2);
    const inputs = sink.sends[0]?.inputs ?? [];
    expect(inputs.map((i) => i.key)).toEqual(['E1', 'client-b', 'test']);
    expect(new Set(inputs.map((i) => i.id)).size).toBe(3);
    expect(inputs[0]?.source).toBe('/tessera/test');
    expect(inputs[0]?.data.observer).toBe('test');
    expect(inputs[0]?.data.agent.roles).toEqual([]);
    expect(inputs[0]?.data.breakGlass).toBe(false);
    expect(Date.parse(inputs[0]?.data.recordedAt ?? '')).not.toBeNaN();
    sink.sends[0]?.resolve();
  });

  it('sends a full batch at once without waiting for the linger, the rest in the next produce', async () => {
    const sink = new ManualSink();
    const w = writer(sink, { lingerMs: 2, maxBatch: 500 });
    const calls = Array.from({ length: 501 }, (_, n) => track(w.record(rec(n))));
    await tick(); // no timer advance
    expect(sink.sends).toHaveLength(1);
    expect(sink.sends[0]?.inputs).toHaveLength(500);
    sink.sends[0]?.resolve();
    await tick();
    // The 501st waited during the round trip: it goes out right after, as its own group.
    expect(sink.sends).toHaveLength(2);
    expect(sink.sends[1]?.inputs).toHaveLength(1);
    expect(calls.filter((c) => c.state === 'ok')).toHaveLength(500);
    sink.sends[1]?.resolve();
    await tick();
    expect(calls.every((c) => c.state === 'ok')).toBe(true);
  });

  it('keeps one produce in flight: records arriving meanwhile form the next group', async () => {
    const sink = new ManualSink();
    const w = writer(sink, { lingerMs: 2 });
    void w.record(rec(1));
    await tick(2);
    expect(sink.sends).toHaveLength(1);
    const later = [2, 3, 4, 5].map((n) => track(w.record(rec(n))));
    await tick(10);
    expect(sink.sends).toHaveLength(1); // waits for the first acknowledgement
    sink.sends[0]?.resolve();
    await tick();
    expect(sink.sends).toHaveLength(2);
    expect(sink.sends[1]?.inputs.map((i) => i.key)).toEqual(['E2', 'E3', 'E4', 'E5']);
    sink.sends[1]?.resolve();
    await tick();
    expect(later.map((c) => c.state)).toEqual(['ok', 'ok', 'ok', 'ok']);
  });

  it('rejects every caller of a failed produce with AuditUnavailableError (fail closed), and recovers for the next', async () => {
    const sink = new ManualSink();
    const w = writer(sink);
    const calls = [1, 2].map((n) => track(w.record(rec(n))));
    await tick(2);
    sink.sends[0]?.reject(new Error('broker down'));
    await tick();
    for (const c of calls) {
      expect(c.state).toBeInstanceOf(AuditUnavailableError);
      expect((c.state as AuditUnavailableError).reason).toBe('kafka');
    }
    const next = track(w.record(rec(3)));
    await tick(2);
    sink.sends[1]?.resolve();
    await tick();
    expect(next.state).toBe('ok');
  });

  it('rejects a caller whose record is not acknowledged in time, and does not send it if still queued', async () => {
    const sink = new ManualSink();
    const w = writer(sink, { timeoutMs: 100 });
    const first = track(w.record(rec(1)));
    await tick(2);
    const second = track(w.record(rec(2))); // queued behind the in-flight produce
    await tick(100);
    expect(first.state).toBeInstanceOf(AuditUnavailableError);
    expect((second.state as AuditUnavailableError).reason).toBe('timeout');
    sink.sends[0]?.resolve();
    await tick(10);
    expect(sink.sends).toHaveLength(1); // the timed-out queued record was withdrawn
    expect(first.state).toBeInstanceOf(AuditUnavailableError); // a late ack does not flip the answer
  });

  it('rejects an invalid payload alone, before anything is sent', async () => {
    const sink = new ManualSink();
    const w = writer(sink);
    const bad = track(w.record({ ...rec(1), action: 'X' as 'R' }));
    const good = track(w.record(rec(2)));
    await tick(2);
    expect(bad.state).toBeInstanceOf(EventValidationError);
    expect(sink.sends[0]?.inputs).toHaveLength(1);
    sink.sends[0]?.resolve();
    await tick();
    expect(good.state).toBe('ok');
  });

  it('retries a detached record with the same event id, then logs it as lost without patient ids', async () => {
    const sink = new ManualSink();
    const w = writer(sink, { detachedAttempts: 3, detachedBackoffMs: 50 });
    w.recordDetached({ ...rec(1, ['E-SECRET']), type: 'security-alert', subtype: 'token', outcome: '8' });
    await tick(2);
    sink.sends[0]?.reject(new Error('down'));
    await tick(50 + 2);
    expect(sink.sends).toHaveLength(2);
    expect(sink.sends[1]?.inputs[0]?.id).toBe(sink.sends[0]?.inputs[0]?.id);
    sink.sends[1]?.reject(new Error('down'));
    await tick(100 + 2);
    sink.sends[2]?.reject(new Error('down'));
    await tick();
    expect(sink.sends).toHaveLength(3);
    expect(logger.error).toHaveBeenLastCalledWith(
      expect.objectContaining({ attempts: 3, type: 'security-alert' }),
      'audit: detached record lost after retries',
    );
    expect(JSON.stringify(logger.error.mock.calls)).not.toContain('E-SECRET');
  });

  it('drain sends what is queued and waits for detached retries; a closed writer rejects', async () => {
    const sink = new ManualSink();
    const w = writer(sink, { lingerMs: 50 });
    w.recordDetached(rec(1));
    const waiting = track(w.record(rec(2)));
    const closing = w.close();
    await tick();
    expect(sink.sends).toHaveLength(1); // flushed without waiting for the linger
    sink.sends[0]?.resolve();
    await closing;
    expect(waiting.state).toBe('ok');
    await expect(w.record(rec(3))).rejects.toMatchObject({ reason: 'closed' });
  });

  it('observes batch sizes and latencies', async () => {
    const sink = new ManualSink();
    const registry = new Registry();
    const w = writer(sink, {}, registry);
    const calls = [1, 2, 3].map((n) => w.record(rec(n)));
    await tick(2);
    sink.sends[0]?.resolve();
    await Promise.all(calls);
    const metrics = await registry.getMetricsAsJSON();
    const batch = metrics.find((m) => m.name === 'audit_group_commit_records');
    const count = batch?.values.find(
      (v) => (v as { metricName?: string }).metricName === 'audit_group_commit_records_sum',
    );
    expect(count?.value).toBe(3);
    const latency = metrics.find((m) => m.name === 'audit_record_latency_seconds');
    expect(
      latency?.values.find(
        (v) =>
          (v as { metricName?: string }).metricName === 'audit_record_latency_seconds_count' &&
          v.labels['outcome'] === 'ok',
      )?.value,
    ).toBe(3);
  });
});
