import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { ensureMavenJar } from './maven-jar.helper';

/*
 * HAPI HL7v2 2.6.0 (tools/peers/hapi-receiver) as an independent receiving peer for Tessera's
 * outbound HL7 v2: a HAPI SimpleServer that parses every message with HAPI's own parser and
 * validation (default rules plus MSH-10, PID-3.1 and PV1-2 required for ADT), answers AA, or AE with
 * HAPI's error when the message does not parse, and reports one JSON line per message. It can be
 * told to answer AR, or to drop the connection unanswered, for its first messages, so that a
 * sender's retry path meets a real receiver. The jar is built with Maven on first use.
 *
 * HAPI handles the messages of one connection on worker threads, so their ACKs may come back out of
 * order: send one message at a time per connection (the strict exchange of MLLP R2 §2.2).
 */

const PROJECT = path.resolve(__dirname, 'hapi-receiver');

export interface HapiReceiverOptions {
  /** Port to listen on (all interfaces, as HAPI's SimpleServer binds); absent or 0: a free port. */
  readonly port?: number;
  /** Answer AR (ERR-3 207) to the first N messages that parse. */
  readonly arFirst?: number;
  /** Close the connection without answering the first N messages that parse, after the AR ones. */
  readonly dropFirst?: number;
  /** How long to wait for the listener once the JVM starts, in ms. Default 60 s. */
  readonly startTimeoutMs?: number;
}

/** One JSON line of the receiver: a message as HAPI read it and how it was answered. */
export interface HapiReceivedMessage {
  /** Order of arrival, from 0, across connections. */
  readonly index: number;
  /** MSH-10 (read from the raw text when HAPI could not parse the message). */
  readonly controlId: string;
  /** MSH-9 as HAPI parsed it, e.g. "ADT^A04^ADT_A01"; absent when parsing failed. */
  readonly messageType?: string;
  /** PID-3.1 of the first repetition, unescaped by HAPI. */
  readonly pid3?: string;
  /** PV1-2 patient class. */
  readonly pv12?: string;
  /** HAPI's parse or validation error ("HL7Exception: ..."); absent when the message parsed. */
  readonly parseError?: string;
  /** What was answered; "none" when the connection was dropped instead. */
  readonly answer: 'AA' | 'AE' | 'AR' | 'none';
}

export interface HapiReceiver {
  readonly port: number;
  /** The messages reported so far, in order of arrival. */
  readonly received: readonly HapiReceivedMessage[];
  /** Resolves with the messages once at least `count` are reported; rejects after `timeoutMs` (default 30 s). */
  waitForMessages(count: number, timeoutMs?: number): Promise<readonly HapiReceivedMessage[]>;
  /** Stops the JVM (SIGTERM, SIGKILL after 10 s) and resolves once it has exited. */
  stop(): Promise<void>;
}

/** Builds target/hapi-receiver.jar (mvn package) unless it is already newer than its sources. */
export function ensureHapiReceiver(): Promise<string> {
  return ensureMavenJar(PROJECT, 'hapi-receiver.jar');
}

/** Starts the HAPI receiver and resolves once it listens. */
export async function startHapiReceiver(options: HapiReceiverOptions = {}): Promise<HapiReceiver> {
  const jar = await ensureHapiReceiver();
  const port = options.port !== undefined && options.port !== 0 ? options.port : await freePort();
  const args = ['-jar', jar, String(port)];
  if (options.arFirst !== undefined) args.push('--ar-first', String(options.arFirst));
  if (options.dropFirst !== undefined) args.push('--drop-first', String(options.dropFirst));
  // cwd: HAPI writes nothing there any more, but a JVM should not start inside the repository.
  const child = spawn('java', args, { cwd: os.tmpdir(), stdio: ['ignore', 'pipe', 'pipe'] });

  const received: HapiReceivedMessage[] = [];
  const stderrTail: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  createInterface({ input: child.stderr }).on('line', (line) => {
    stderrTail.push(line);
    if (stderrTail.length > 40) stderrTail.shift();
  });

  let onListening!: () => void;
  const listening = new Promise<void>((resolve) => (onListening = resolve));
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (!line.startsWith('{')) return;
    const parsed = JSON.parse(line) as HapiReceivedMessage | { readonly event: 'listening' };
    if ('event' in parsed) onListening();
    else received.push(parsed);
  });

  const timeoutMs = options.startTimeoutMs ?? 60_000;
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    listening.then(() => 'listening' as const),
    exited.then(() => 'exited' as const),
    new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs))),
  ]);
  clearTimeout(timer);
  if (outcome !== 'listening') {
    await stopChild(child, exited);
    throw new Error(
      `hapi-receiver did not start listening on port ${port} (${outcome}):\n${stderrTail.join('\n')}`,
    );
  }

  return {
    port,
    received,
    async waitForMessages(count, waitMs = 30_000) {
      for (const deadline = Date.now() + waitMs; received.length < count;) {
        if (Date.now() > deadline) {
          throw new Error(
            `hapi-receiver reported ${received.length} of ${count} messages within ${waitMs} ms.`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return [...received];
    },
    stop: () => stopChild(child, exited),
  };
}

async function stopChild(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(kill);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
