import { performance } from 'node:perf_hooks';
import { connect, readAck } from '@tessera/platform-mllp-client';
import type { MllpClient } from '@tessera/platform-mllp-client';
import { percentile as percentileOf } from '../../tools/report/text-report';

/*
 * MLLP load generator for the gateway benchmark. N connections, each pipelining messages (ACKs come
 * back in order per connection, MLLP R2 §2.2 applied per connection).
 *
 *  - 'max':  as fast as ACKs allow; each connection keeps at most `window` messages unacknowledged.
 *  - 'rate': a fixed offered rate spread evenly over the connections; message i of a connection is
 *            due at start + i / (rate / connections). Latency is measured from the time a message was
 *            DUE, not from when it could be written, so a gateway that falls behind is charged for the
 *            queueing it causes (no coordinated omission). In flight per connection is capped at
 *            `maxInFlight`; messages that could not be sent on time because of the cap still count
 *            from their due time.
 *
 * Both stop starting messages at `durationMs` or after `maxMessages`, whichever comes first, then
 * wait for outstanding ACKs (each bounded by `timeoutMs`).
 */

export type LoadMode = 'max' | 'rate';

export interface LoadMessage {
  readonly text: string;
  /** HL7 table 0211 charset to encode it in (its MSH-18). */
  readonly charset: string;
}

export interface LoadOptions {
  readonly host: string;
  readonly port: number;
  readonly mode: LoadMode;
  readonly connections: number;
  readonly durationMs: number;
  readonly maxMessages: number;
  /** 'max': messages in flight per connection. */
  readonly window: number;
  /** 'rate': offered messages per second, all connections together. */
  readonly rate: number;
  /** 'rate': cap of messages in flight per connection. Default 1000. */
  readonly maxInFlight?: number;
  readonly timeoutMs: number;
  /** The n-th message overall (n from 0), unique per call (e.g. its own MSH-10). */
  messageFor(n: number): LoadMessage;
  /** Called about every 500 ms while the load runs (e.g. to sample the gateway's RSS). */
  onTick?(): void;
  /** Called with the n-th message's ACK code and the wall-clock time (ms) the ACK arrived. */
  onAck?(n: number, code: string, atMs: number): void;
}

export interface LatencyStats {
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

export interface LoadResult {
  readonly mode: LoadMode;
  readonly connections: number;
  /** 'rate' only. */
  readonly offeredRate?: number;
  readonly sent: number;
  /** Messages that got an ACK (any code). */
  readonly acked: number;
  /** Sent messages without an ACK: timeout or connection failure. */
  readonly failed: number;
  /** From the first message to the last ACK. */
  readonly elapsedMs: number;
  /** ACKs per second over elapsedMs. */
  readonly throughput: number;
  readonly latency: LatencyStats | undefined;
  /** MSA-1 → count ('?' for an ACK without MSA). */
  readonly ackCodes: Readonly<Record<string, number>>;
  /** Failure reason → count. */
  readonly failures: Readonly<Record<string, number>>;
}

/** Nearest-rank percentile of an ascending array (shared with the demo feed summary). */
export { percentileOf };

export function latencyStats(samples: readonly number[]): LatencyStats | undefined {
  if (samples.length === 0) return undefined;
  const sorted = Float64Array.from(samples).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    p50: percentileOf(sorted, 50),
    p95: percentileOf(sorted, 95),
    p99: percentileOf(sorted, 99),
    max: sorted[sorted.length - 1],
    mean: sum / sorted.length,
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Shared {
  next: number;
  readonly deadline: number;
  readonly latencies: number[];
  readonly ackCodes: Record<string, number>;
  readonly failures: Record<string, number>;
  sent: number;
  acked: number;
  failed: number;
  lastAck: number;
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  if (options.connections < 1 || options.durationMs <= 0 || options.maxMessages < 1) {
    throw new RangeError('connections, durationMs and maxMessages must be positive');
  }
  const clients = await Promise.all(
    Array.from({ length: options.connections }, () => connect({ host: options.host, port: options.port })),
  );
  const start = performance.now();
  const shared: Shared = {
    next: 0,
    deadline: start + options.durationMs,
    latencies: [],
    ackCodes: {},
    failures: {},
    sent: 0,
    acked: 0,
    failed: 0,
    lastAck: start,
  };
  const ticker = options.onTick !== undefined ? setInterval(options.onTick, 500) : undefined;
  try {
    await Promise.all(
      clients.map((client, index) =>
        options.mode === 'max'
          ? maxLoop(client, options, shared)
          : rateLoop(client, index, options, shared, start),
      ),
    );
  } finally {
    if (ticker !== undefined) clearInterval(ticker);
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  }
  const elapsedMs = Math.max(1, shared.lastAck - start);
  return {
    mode: options.mode,
    connections: options.connections,
    ...(options.mode === 'rate' ? { offeredRate: options.rate } : {}),
    sent: shared.sent,
    acked: shared.acked,
    failed: shared.failed,
    elapsedMs,
    throughput: (shared.acked * 1000) / elapsedMs,
    latency: latencyStats(shared.latencies),
    ackCodes: shared.ackCodes,
    failures: shared.failures,
  };
}

/** Claims the next message number, or undefined when the budget or the time is used up. */
function claim(options: LoadOptions, shared: Shared): number | undefined {
  if (shared.next >= options.maxMessages || performance.now() >= shared.deadline) return undefined;
  return shared.next++;
}

function send(
  client: MllpClient,
  options: LoadOptions,
  shared: Shared,
  n: number,
  dueAt: number,
): Promise<void> {
  const message = options.messageFor(n);
  shared.sent++;
  return client.send(message.text, { charset: message.charset, timeoutMs: options.timeoutMs }).then(
    (ack) => {
      const now = performance.now();
      shared.acked++;
      shared.lastAck = Math.max(shared.lastAck, now);
      shared.latencies.push(now - dueAt);
      let code = '?';
      try {
        code = readAck(ack.text).code || '?';
      } catch {
        code = '?';
      }
      shared.ackCodes[code] = (shared.ackCodes[code] ?? 0) + 1;
      options.onAck?.(n, code, Date.now());
    },
    (error: Error) => {
      shared.failed++;
      shared.lastAck = Math.max(shared.lastAck, performance.now());
      const reason = error.name === 'MllpTimeoutError' ? 'timeout' : error.message.slice(0, 120);
      shared.failures[reason] = (shared.failures[reason] ?? 0) + 1;
    },
  );
}

async function maxLoop(client: MllpClient, options: LoadOptions, shared: Shared): Promise<void> {
  const window = Math.max(1, options.window);
  const inFlight = new Set<Promise<void>>();
  for (;;) {
    if (!client.isOpen) break;
    const n = claim(options, shared);
    if (n === undefined) break;
    const p: Promise<void> = send(client, options, shared, n, performance.now()).finally(() =>
      inFlight.delete(p),
    );
    inFlight.add(p);
    if (inFlight.size >= window) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
}

async function rateLoop(
  client: MllpClient,
  index: number,
  options: LoadOptions,
  shared: Shared,
  start: number,
): Promise<void> {
  const perConnection = options.rate / options.connections;
  const intervalMs = 1000 / perConnection;
  // Stagger the connections so that their messages interleave instead of arriving in bursts.
  const offset = (index / options.connections) * intervalMs;
  const cap = options.maxInFlight ?? 1000;
  const inFlight = new Set<Promise<void>>();
  let i = 0;
  for (;;) {
    if (!client.isOpen) break;
    const dueAt = start + offset + i * intervalMs;
    const wait = dueAt - performance.now();
    if (wait > 1) await sleep(Math.min(wait, 50));
    if (performance.now() < dueAt - 1) continue;
    if (inFlight.size >= cap) {
      await Promise.race(inFlight);
      continue;
    }
    const n = claim(options, shared);
    if (n === undefined) break;
    const p: Promise<void> = send(client, options, shared, n, dueAt).finally(() => inFlight.delete(p));
    inFlight.add(p);
    i++;
  }
  await Promise.all(inFlight);
}
