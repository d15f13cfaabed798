import net from 'node:net';
import tls from 'node:tls';
import { decodeHl7Bytes, encodeHl7Text, encodeMllpFrame, MllpFrameDecoder } from '@tessera/hl7v2';

/*
 * A small promise-based MLLP client (HL7 "Transport Specification: MLLP, Release 2") for outbound
 * HL7 v2 notifications, the demo feed, the gateway benchmark and tests. One instance = one TCP (or
 * TLS) connection.
 *
 * Pipelining: MLLP R2 §2.2 describes a strict send-one / wait-for-ACK exchange, and a receiver that
 * processes a connection's messages in order answers them in the same order. The client lets a caller
 * keep several messages in flight on one connection and matches ACKs to messages by order (first
 * ACK = oldest unanswered message). Callers that need the strict exchange keep one in flight.
 *
 * Timeouts: a message whose ACK does not arrive within `timeoutMs` is rejected with
 * MllpTimeoutError, but it keeps its place in the queue, so when its late ACK does arrive it is
 * discarded instead of being matched to the next message. A caller that wants the sender
 * behaviour of MLLP R2 §2.3 (on timeout, drop the connection and resend) calls destroy().
 */

export interface MllpConnectOptions {
  readonly host: string;
  readonly port: number;
  /** true, or node:tls options (CA, client certificate, servername …) for MLLP over TLS. */
  readonly tls?: boolean | tls.ConnectionOptions;
  /**
   * Source address to connect from, e.g. `127.0.0.2`: the gateway authenticates an institution's
   * own plain port by source address (feed.allowedAddresses), and all of 127.0.0.0/8 is loopback.
   */
  readonly localAddress?: string;
  /** Default 10 s. */
  readonly connectTimeoutMs?: number;
  /** Largest ACK accepted, in bytes. Default 1 MiB. */
  readonly maxAckBytes?: number;
}

export interface MllpSendOptions {
  /**
   * HL7 table 0211 charset (MSH-18 value) used to encode a string message and as the default for
   * decoding the ACK when the ACK's own MSH-18 is empty. Default 'UNICODE UTF-8'.
   */
  readonly charset?: string;
  /** ACK timeout for this message. Default 30 s. */
  readonly timeoutMs?: number;
}

export interface MllpAckResult {
  /** ACK text, decoded by its MSH-18 (or the send charset); invalid bytes become U+FFFD. */
  readonly text: string;
  /** The ACK's bytes as received (MLLP framing removed). */
  readonly bytes: Buffer;
  /** From the first byte written to the ACK's end block, in milliseconds. */
  readonly latencyMs: number;
}

export class MllpTimeoutError extends Error {
  override readonly name = 'MllpTimeoutError';
}

export class MllpConnectionError extends Error {
  override readonly name = 'MllpConnectionError';
}

interface Pending {
  readonly sentAt: bigint;
  readonly charset: string;
  /** Settled: resolved, rejected or timed out (a timed-out entry still awaits its late ACK). */
  settled: boolean;
  timer: NodeJS.Timeout | undefined;
  readonly ack: Promise<MllpAckResult>;
  resolve(result: MllpAckResult): void;
  reject(error: Error): void;
}

const DEFAULT_CHARSET = 'UNICODE UTF-8';

export class MllpClient {
  private readonly pending: Pending[] = [];
  private readonly decoder: MllpFrameDecoder;
  private closedError: Error | undefined;
  private readonly closed: Promise<void>;

  private constructor(
    private readonly socket: net.Socket,
    maxAckBytes: number,
  ) {
    this.decoder = new MllpFrameDecoder({ maxFrameBytes: maxAckBytes });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.closed = new Promise((resolve) => {
      socket.once('close', () => {
        this.failAll(
          this.closedError ?? new MllpConnectionError('The MLLP connection was closed by the peer.'),
        );
        resolve();
      });
    });
    socket.on('error', (error: Error) => {
      this.closedError ??= new MllpConnectionError(`MLLP connection error: ${error.message}`);
    });
  }

  /** Opens a connection; resolves once it is established (and, for TLS, the handshake is done). */
  static connect(options: MllpConnectOptions): Promise<MllpClient> {
    const timeoutMs = options.connectTimeoutMs ?? 10_000;
    const maxAckBytes = options.maxAckBytes ?? 1024 * 1024;
    return new Promise((resolve, reject) => {
      const tlsOptions = options.tls === true ? {} : options.tls === false ? undefined : options.tls;
      const from = options.localAddress === undefined ? {} : { localAddress: options.localAddress };
      const socket =
        tlsOptions !== undefined
          ? tls.connect({ ...tlsOptions, ...from, host: options.host, port: options.port })
          : net.connect({ ...from, host: options.host, port: options.port });
      const readyEvent = tlsOptions !== undefined ? 'secureConnect' : 'connect';
      const timer = setTimeout(() => {
        socket.destroy();
        reject(
          new MllpConnectionError(
            `Could not connect to ${options.host}:${options.port} within ${timeoutMs} ms.`,
          ),
        );
      }, timeoutMs);
      const onError = (error: Error): void => {
        clearTimeout(timer);
        reject(
          new MllpConnectionError(`Could not connect to ${options.host}:${options.port}: ${error.message}`),
        );
      };
      socket.once('error', onError);
      socket.once(readyEvent, () => {
        clearTimeout(timer);
        socket.off('error', onError);
        socket.setNoDelay(true);
        resolve(new MllpClient(socket, maxAckBytes));
      });
    });
  }

  /** Messages written whose ACK has not arrived yet (including timed-out ones still awaited). */
  get inFlight(): number {
    return this.pending.length;
  }

  /** Whether the connection is still usable. */
  get isOpen(): boolean {
    return this.closedError === undefined && !this.socket.destroyed;
  }

  /**
   * Frames and writes one message, resolving with its ACK. A string is encoded with `charset`
   * (segments must already be CR-terminated); bytes are sent as they are.
   */
  send(message: string | Uint8Array, options: MllpSendOptions = {}): Promise<MllpAckResult> {
    if (!this.isOpen) {
      return Promise.reject(this.closedError ?? new MllpConnectionError('The MLLP connection is closed.'));
    }
    const charset = options.charset ?? DEFAULT_CHARSET;
    let frame: Buffer;
    try {
      frame = encodeMllpFrame(typeof message === 'string' ? encodeHl7Text(message, charset) : message);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    const timeoutMs = options.timeoutMs ?? 30_000;
    let resolve!: (result: MllpAckResult) => void;
    let reject!: (error: Error) => void;
    const ack = new Promise<MllpAckResult>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const entry: Pending = {
      sentAt: process.hrtime.bigint(),
      charset,
      settled: false,
      timer: undefined,
      ack,
      resolve,
      reject,
    };
    entry.timer = setTimeout(() => {
      entry.settled = true;
      reject(new MllpTimeoutError(`No ACK within ${timeoutMs} ms.`));
    }, timeoutMs);
    this.pending.push(entry);
    this.socket.write(frame);
    return ack;
  }

  /** Waits until every message in flight is settled (ACKed, failed or timed out), then closes the connection. */
  async close(): Promise<void> {
    await Promise.allSettled(this.pending.map((p) => p.ack));
    this.socket.end();
    // A peer that never closes its side must not hold us: give it a moment, then drop the socket.
    const timer = setTimeout(() => this.socket.destroy(), 2_000);
    await this.closed;
    clearTimeout(timer);
  }

  /** Closes the connection now; pending messages are rejected. */
  destroy(): void {
    this.closedError ??= new MllpConnectionError('The MLLP connection was closed by the client.');
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    for (const event of this.decoder.push(chunk)) {
      if (event.kind === 'error') {
        // MISSING_CR_AFTER_END_BLOCK leaves the frame valid; anything else means the stream is no
        // longer in step with our messages, so matching further ACKs by order would be wrong.
        if (event.code === 'MISSING_CR_AFTER_END_BLOCK') continue;
        this.closedError = new MllpConnectionError(
          `Unusable MLLP response stream (${event.code}): ${event.message}`,
        );
        this.socket.destroy();
        return;
      }
      const entry = this.pending.shift();
      if (entry === undefined) {
        this.closedError = new MllpConnectionError(
          'Received an MLLP frame while no message was awaiting an ACK.',
        );
        this.socket.destroy();
        return;
      }
      if (entry.timer !== undefined) clearTimeout(entry.timer);
      if (entry.settled) continue; // late ACK of a timed-out message: discarded, order kept
      entry.settled = true;
      const latencyMs = Number(process.hrtime.bigint() - entry.sentAt) / 1e6;
      const text = decodeHl7Bytes(event.payload, entry.charset, { onMalformed: 'replace' }).text;
      entry.resolve({ text, bytes: event.payload, latencyMs });
    }
  }

  private failAll(error: Error): void {
    for (const entry of this.pending.splice(0)) {
      if (entry.timer !== undefined) clearTimeout(entry.timer);
      if (!entry.settled) {
        entry.settled = true;
        entry.reject(error);
      }
    }
  }
}

/** Opens an MLLP connection (see MllpClient). */
export function connect(options: MllpConnectOptions): Promise<MllpClient> {
  return MllpClient.connect(options);
}
