import type { Socket } from 'node:net';
import { encodeMllpFrame, MllpFrameDecoder } from '@tessera/hl7v2';
import type { MllpFramingError } from '@tessera/hl7v2';

export interface MllpConnectionOptions {
  readonly maxFrameBytes: number;
  readonly maxInFlight: number;
  readonly idleTimeoutMs: number;
  /** Processes one complete frame; resolves with the ACK bytes to send, or undefined for none. */
  readonly onFrame: (payload: Buffer, peer: string) => Promise<Buffer | undefined>;
  /** A framing problem (oversized, truncated frame…): resolves with a negative ACK to send, if any. */
  readonly onFramingError: (error: MllpFramingError, peer: string) => Promise<Buffer | undefined>;
  readonly onProblem: (what: string, detail: Record<string, unknown>) => void;
}

/**
 * One MLLP connection (HL7 v2 MLLP Release 2 transport). Frames are processed concurrently up to
 * `maxInFlight`, but ACKs are written in the order the messages arrived. When `maxInFlight`
 * messages are pending, or the peer does not read its ACKs, reading pauses (TCP backpressure)
 * instead of buffering without bound.
 */
export class MllpConnection {
  private readonly decoder: MllpFrameDecoder;
  private readonly peer: string;
  private inFlight = 0;
  private pausedForWork = false;
  private pausedForWrite = false;
  private tail: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly socket: Socket,
    private readonly options: MllpConnectionOptions,
  ) {
    this.decoder = new MllpFrameDecoder({ maxFrameBytes: options.maxFrameBytes });
    this.peer = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 60_000);
    socket.setTimeout(options.idleTimeoutMs, () => {
      if (this.inFlight === 0) socket.end();
    });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => {
      for (const event of this.decoder.end())
        if (event.kind === 'error') this.enqueue(this.options.onFramingError(event, this.peer));
      void this.tail.then(() => socket.end());
    });
    socket.on('close', () => {
      this.closed = true;
    });
    socket.on('error', (error: Error) =>
      options.onProblem('socket error', { peer: this.peer, error: error.message }),
    );
    socket.on('drain', () => {
      this.pausedForWrite = false;
      this.updateFlow();
    });
  }

  /** Resolves when every ACK accepted so far has been written (graceful shutdown). */
  settled(): Promise<void> {
    return this.tail;
  }

  private onData(chunk: Buffer): void {
    for (const event of this.decoder.push(chunk)) {
      if (event.kind === 'frame') {
        this.enqueue(this.options.onFrame(event.payload, this.peer));
      } else if (event.code === 'GARBAGE_OUTSIDE_FRAME' || event.code === 'MISSING_CR_AFTER_END_BLOCK') {
        this.options.onProblem(event.message, { peer: this.peer, code: event.code, bytes: event.byteCount });
      } else {
        this.options.onProblem(event.message, { peer: this.peer, code: event.code, bytes: event.byteCount });
        this.enqueue(this.options.onFramingError(event, this.peer));
      }
    }
  }

  private enqueue(work: Promise<Buffer | undefined>): void {
    this.inFlight++;
    this.updateFlow();
    const settledWork = work.catch((error: unknown) => {
      this.options.onProblem('message processing failed', {
        peer: this.peer,
        error: (error as Error).message,
      });
      return undefined;
    });
    this.tail = this.tail.then(async () => {
      const ack = await settledWork;
      this.inFlight--;
      if (ack !== undefined && !this.closed) {
        if (!this.socket.write(encodeMllpFrame(ack))) this.pausedForWrite = true;
      }
      this.updateFlow();
    });
  }

  private updateFlow(): void {
    if (this.inFlight >= this.options.maxInFlight) this.pausedForWork = true;
    else if (this.inFlight <= this.options.maxInFlight / 2) this.pausedForWork = false;
    if (this.pausedForWork || this.pausedForWrite) this.socket.pause();
    else if (!this.closed) this.socket.resume();
  }
}
