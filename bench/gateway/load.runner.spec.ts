import net from 'node:net';
import { encodeMllpFrame, MllpFrameDecoder } from '@tessera/hl7v2';
import { formatReport, parseBenchArgs, processMemory } from './gateway.bench';
import { latencyStats, percentileOf, runLoad } from './load.runner';
import type { LoadMessage } from './load.runner';

/*
 * The receiving side is a test double: a loopback MLLP server that answers each frame with
 * MSA|AA|<MSH-10> (or never, when told to stay silent). The load generator under test is real.
 */

interface Stub {
  readonly port: number;
  received: number;
  readonly connections: Set<net.Socket>;
  close(): Promise<void>;
}

async function startStub(silent = false): Promise<Stub> {
  const connections = new Set<net.Socket>();
  const stub = { port: 0, received: 0, connections, close: async () => undefined } as Stub;
  const server = net.createServer((socket) => {
    connections.add(socket);
    socket.on('close', () => connections.delete(socket));
    const decoder = new MllpFrameDecoder({ maxFrameBytes: 1 << 20 });
    socket.on('data', (chunk: Buffer) => {
      for (const event of decoder.push(chunk)) {
        if (event.kind !== 'frame') continue;
        stub.received++;
        if (silent) continue;
        const controlId = event.payload.toString('latin1').split('\r')[0].split('|')[9];
        socket.write(
          encodeMllpFrame(
            Buffer.from(`MSH|^~\\&|T|H|A|F|20250101000000||ACK^A01^ACK|X|P|2.5.1\rMSA|AA|${controlId}\r`),
          ),
        );
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  Object.assign(stub, {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of connections) s.destroy();
        server.close(() => r());
      }),
  });
  return stub;
}

const messageFor = (n: number): LoadMessage => ({
  text: `MSH|^~\\&|APP|STAURELIA|TESSERA|HIE|20250101000000||ADT^A04^ADT_A01|M${n}|P|2.5.1\rPID|1||${n}^^^STA^MR\r`,
  charset: 'UNICODE UTF-8',
});

describe('runLoad', () => {
  let stub: Stub;
  afterEach(async () => stub?.close());

  it('max mode sends exactly the message budget over N connections and counts ACK codes and latency', async () => {
    stub = await startStub();
    const result = await runLoad({
      host: '127.0.0.1',
      port: stub.port,
      mode: 'max',
      connections: 4,
      durationMs: 30_000,
      maxMessages: 500,
      window: 8,
      rate: 1,
      timeoutMs: 5_000,
      messageFor,
    });
    expect({ sent: result.sent, acked: result.acked, failed: result.failed, codes: result.ackCodes }).toEqual(
      { sent: 500, acked: 500, failed: 0, codes: { AA: 500 } },
    );
    expect(stub.received).toBe(500);
    expect(result.latency!.p50).toBeGreaterThan(0);
    expect(result.latency!.p50).toBeLessThanOrEqual(result.latency!.p95);
    expect(result.latency!.p99).toBeLessThanOrEqual(result.latency!.max);
    expect(result.throughput).toBeGreaterThan(0);
  });

  it('max mode stops starting messages at the duration', async () => {
    stub = await startStub();
    const t0 = Date.now();
    const result = await runLoad({
      host: '127.0.0.1',
      port: stub.port,
      mode: 'max',
      connections: 2,
      durationMs: 300,
      maxMessages: 1_000_000,
      window: 4,
      rate: 1,
      timeoutMs: 5_000,
      messageFor,
    });
    expect(Date.now() - t0).toBeLessThan(3_000);
    expect(result.sent).toBeGreaterThan(10);
    expect(result.sent).toBeLessThan(1_000_000);
    expect(result.acked).toBe(result.sent);
  });

  it('rate mode offers about the requested rate, spread over the connections', async () => {
    stub = await startStub();
    const ticks: number[] = [];
    const result = await runLoad({
      host: '127.0.0.1',
      port: stub.port,
      mode: 'rate',
      connections: 3,
      durationMs: 1_500,
      maxMessages: 100_000,
      window: 1,
      rate: 200,
      timeoutMs: 5_000,
      messageFor,
      onTick: () => ticks.push(Date.now()),
    });
    // 200/s for 1.5 s = 300 messages, give or take timer granularity.
    expect(result.sent).toBeGreaterThanOrEqual(270);
    expect(result.sent).toBeLessThanOrEqual(305);
    expect(result.acked).toBe(result.sent);
    expect(result.offeredRate).toBe(200);
    expect(result.throughput).toBeGreaterThan(150);
    expect(result.throughput).toBeLessThan(250);
    expect(ticks.length).toBeGreaterThanOrEqual(2);
  });

  it('counts messages without an ACK as timeouts and still ends', async () => {
    stub = await startStub(true);
    const result = await runLoad({
      host: '127.0.0.1',
      port: stub.port,
      mode: 'max',
      connections: 1,
      durationMs: 5_000,
      maxMessages: 3,
      window: 3,
      rate: 1,
      timeoutMs: 200,
      messageFor,
    });
    expect({
      sent: result.sent,
      acked: result.acked,
      failed: result.failed,
      failures: result.failures,
    }).toEqual({ sent: 3, acked: 0, failed: 3, failures: { timeout: 3 } });
    expect(result.latency).toBeUndefined();
  });
});

describe('latency statistics', () => {
  it('uses nearest-rank percentiles', () => {
    const samples = Array.from({ length: 1000 }, (_, i) => 1000 - i);
    expect(latencyStats(samples)).toEqual({ p50: 500, p95: 950, p99: 990, max: 1000, mean: 500.5 });
    expect(percentileOf([], 50)).toBeNaN();
    expect(latencyStats([])).toBeUndefined();
  });
});

describe('gateway bench options and report', () => {
  it('only targets loopback and bounds count and time', () => {
    expect(parseBenchArgs([])).toMatchObject({
      host: '127.0.0.1',
      port: 2575,
      connections: 8,
      rate: 1000,
      durationS: 20,
      modes: ['max', 'rate'],
    });
    expect(parseBenchArgs(['--host', '::1', '--mode', 'rate']).modes).toEqual(['rate']);
    expect(() => parseBenchArgs(['--host', '10.0.0.5'])).toThrow(/loopback/);
    expect(() => parseBenchArgs(['--host', 'example.org'])).toThrow(/loopback/);
    expect(() => parseBenchArgs(['--duration', '3600'])).toThrow(
      /--duration must be an integer from 1 to 300/,
    );
    expect(() => parseBenchArgs(['--messages', '5000000'])).toThrow(/--messages/);
  });

  it('reads this process RSS from /proc', () => {
    const m = processMemory(process.pid)!;
    expect(m.rssMiB).toBeGreaterThan(10);
    expect(m.peakMiB).toBeGreaterThanOrEqual(m.rssMiB);
    expect(processMemory(2 ** 22 + 1)).toBeUndefined();
  });

  it('prints one row per mode with throughput, percentiles, ACK codes and RSS', () => {
    const text = formatReport([
      {
        label: 'A max (window 16)',
        result: {
          mode: 'max',
          connections: 8,
          sent: 10,
          acked: 9,
          failed: 1,
          elapsedMs: 1000,
          throughput: 9,
          latency: { p50: 1.24, p95: 2, p99: 3, max: 4, mean: 1.5 },
          ackCodes: { AA: 8, CA: 1 },
          failures: { timeout: 1 },
        },
        rssAfterMiB: 200.04,
        rssPeakMiB: 250,
      },
    ]);
    expect(text).toMatch(
      /A max \(window 16\)\s+-\s+10\s+9\s+1\s+9\.0\s+1\.2\s+2\.0\s+3\.0\s+4\.0\s+AA=8 CA=1\s+200\.0 \/ 250\.0/,
    );
    expect(text).toContain('A max (window 16) failures: 1× timeout');
  });
});
