/*
 * MLLP framing, HL7 "Transport Specification: MLLP, Release 2" (HL7 v2.x Implementation Guide,
 * Appendix C / MLLP R2 §2.1): a block is
 *
 *     <SB> content <EB><CR>        SB = 0x0B, EB = 0x1C, CR = 0x0D
 *
 * and the content "must not contain" SB or EB (MLLP R2 §2.1; that is why multi-byte encodings
 * that can produce those byte values, such as UTF-16/UTF-32, are not supported over MLLP).
 *
 * Decisions where the standard is silent or senders misbehave:
 *  - Because EB can never occur inside content, a frame is complete at EB. It is emitted at once,
 *    without waiting for the CR: a sender that omits the CR and waits for its ACK must not hang.
 *  - The byte after EB must be CR. If it is, it is consumed silently. If it is not, a
 *    MISSING_CR_AFTER_END_BLOCK event is reported (the frame stays valid) and that byte is
 *    processed as the first byte outside a frame (an SB starts the next frame, anything else is
 *    garbage).
 *  - Bytes outside a frame (before an SB) are discarded and reported as one
 *    GARBAGE_OUTSIDE_FRAME event per contiguous run (emitted when the next SB arrives, at end(),
 *    or every `maxFrameBytes` bytes for a peer that only sends garbage).
 *  - An SB inside a frame means the previous frame lost its EB: that frame is reported as
 *    TRUNCATED_FRAME (never delivered: it may be cut anywhere) and a new frame starts.
 *  - A frame whose content exceeds `maxFrameBytes` is reported once as FRAME_TOO_LARGE, the bytes
 *    buffered so far are released, and the rest is discarded until its EB (or a new SB); the
 *    connection then continues normally. Memory per decoder is therefore bounded by
 *    maxFrameBytes (+ one chunk being scanned).
 *  - Errors carry the first `headBytes` of the offending content so that the caller can still
 *    read MSH-10 and send a negative ACK (buildAckForUnparseable); never log `head`, it may hold PHI.
 */

const SB = 0x0b;
const EB = 0x1c;
const CR = 0x0d;

export type MllpFramingErrorCode =
  | 'GARBAGE_OUTSIDE_FRAME'
  | 'TRUNCATED_FRAME'
  | 'FRAME_TOO_LARGE'
  | 'MISSING_CR_AFTER_END_BLOCK'
  | 'INCOMPLETE_FRAME_AT_END';

export interface MllpFrame {
  readonly kind: 'frame';
  /** The content between SB and EB (the HL7 message bytes, still in the sender's charset). */
  readonly payload: Buffer;
}

export interface MllpFramingError {
  readonly kind: 'error';
  readonly code: MllpFramingErrorCode;
  /**
   * GARBAGE_OUTSIDE_FRAME: bytes discarded; TRUNCATED_FRAME / INCOMPLETE_FRAME_AT_END: content bytes
   * of the abandoned frame; FRAME_TOO_LARGE: content bytes seen when the limit was exceeded;
   * MISSING_CR_AFTER_END_BLOCK: 0.
   */
  readonly byteCount: number;
  /** Operator-readable, no content. */
  readonly message: string;
  /** First bytes of the abandoned frame's content (TRUNCATED_FRAME, FRAME_TOO_LARGE, INCOMPLETE_FRAME_AT_END). May contain PHI. */
  readonly head?: Buffer;
}

export type MllpFrameEvent = MllpFrame | MllpFramingError;

export interface MllpFrameDecoderOptions {
  /** Largest accepted content size in bytes (SB/EB/CR not counted). */
  readonly maxFrameBytes: number;
  /** How many leading content bytes to keep in error events. Default 1024. */
  readonly headBytes?: number;
}

type State = 'outside' | 'in-frame' | 'discarding' | 'after-end';

/** Streaming MLLP decoder: feed it every chunk read from one connection, in order. Pure, no I/O. */
export class MllpFrameDecoder {
  private readonly maxFrameBytes: number;
  private readonly headBytes: number;
  private state: State = 'outside';
  private parts: Buffer[] = [];
  private size = 0;
  private garbage = 0;

  constructor(options: MllpFrameDecoderOptions) {
    if (!Number.isInteger(options.maxFrameBytes) || options.maxFrameBytes < 1) {
      throw new RangeError('maxFrameBytes must be a positive integer');
    }
    const headBytes = options.headBytes ?? 1024;
    if (!Number.isInteger(headBytes) || headBytes < 0) throw new RangeError('headBytes must be a non-negative integer');
    this.maxFrameBytes = options.maxFrameBytes;
    this.headBytes = Math.min(headBytes, options.maxFrameBytes);
  }

  /** Content bytes currently held for an incomplete frame (never more than maxFrameBytes). */
  get bufferedBytes(): number {
    return this.size;
  }

  /** Feeds one chunk; returns the frames completed and the framing problems found, in stream order. */
  push(chunk: Uint8Array): MllpFrameEvent[] {
    const events: MllpFrameEvent[] = [];
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      switch (this.state) {
        case 'after-end': {
          this.state = 'outside';
          if (chunk[i] === CR) {
            i++;
          } else {
            events.push(this.error('MISSING_CR_AFTER_END_BLOCK', 0, 'End block 0x1C was not followed by 0x0D; frame accepted.'));
          }
          break;
        }
        case 'outside': {
          const sb = chunk.indexOf(SB, i);
          const stop = sb < 0 ? n : sb;
          this.addGarbage(stop - i, events);
          if (sb < 0) {
            i = n;
          } else {
            this.flushGarbage(events);
            this.startFrame();
            i = sb + 1;
          }
          break;
        }
        case 'in-frame':
        case 'discarding': {
          // Native scans: the next EB, then any SB before it.
          const eb = chunk.indexOf(EB, i);
          const window = eb < 0 ? n : eb;
          const sbOffset = chunk.subarray(i, window).indexOf(SB);
          const j = sbOffset < 0 ? window : i + sbOffset;
          if (this.state === 'in-frame') this.append(chunk, i, j, events);
          if (j === n) {
            i = n;
            break;
          }
          if (chunk[j] === EB) {
            if (this.state === 'in-frame') events.push({ kind: 'frame', payload: this.takeContent() });
            this.state = 'after-end';
          } else {
            if (this.state === 'in-frame') {
              events.push(
                this.error(
                  'TRUNCATED_FRAME',
                  this.size,
                  'Start block 0x0B inside a frame: the previous frame had no end block and was discarded.',
                  this.head([]),
                ),
              );
            }
            this.startFrame();
          }
          i = j + 1;
          break;
        }
      }
    }
    return events;
  }

  /** Call when the connection closes: reports what was left incomplete and resets the decoder. */
  end(): MllpFrameEvent[] {
    const events: MllpFrameEvent[] = [];
    this.flushGarbage(events);
    if (this.state === 'in-frame') {
      events.push(
        this.error('INCOMPLETE_FRAME_AT_END', this.size, 'The connection ended inside a frame (no end block).', this.head([])),
      );
    } else if (this.state === 'after-end') {
      events.push(this.error('MISSING_CR_AFTER_END_BLOCK', 0, 'End block 0x1C was not followed by 0x0D; frame accepted.'));
    }
    this.state = 'outside';
    this.parts = [];
    this.size = 0;
    return events;
  }

  private startFrame(): void {
    this.state = 'in-frame';
    this.parts = [];
    this.size = 0;
  }

  private append(chunk: Uint8Array, from: number, to: number, events: MllpFrameEvent[]): void {
    const length = to - from;
    if (length === 0) return;
    const slice = chunk.subarray(from, to);
    if (this.size + length > this.maxFrameBytes) {
      events.push(
        this.error(
          'FRAME_TOO_LARGE',
          this.size + length,
          `Frame content exceeds the limit of ${this.maxFrameBytes} bytes; discarding it up to its end block.`,
          this.head([slice]),
        ),
      );
      this.parts = [];
      this.size = 0;
      this.state = 'discarding';
      return;
    }
    // Copy: never pin the caller's (possibly much larger) socket buffer.
    this.parts.push(Buffer.from(slice));
    this.size += length;
  }

  private takeContent(): Buffer {
    const content = Buffer.concat(this.parts, this.size);
    this.parts = [];
    this.size = 0;
    return content;
  }

  private head(extra: readonly Uint8Array[]): Buffer {
    const all = [...this.parts, ...extra];
    const total = all.reduce((sum, b) => sum + b.length, 0);
    return Buffer.concat(all, Math.min(this.headBytes, total));
  }

  private addGarbage(count: number, events: MllpFrameEvent[]): void {
    this.garbage += count;
    if (this.garbage >= this.maxFrameBytes) this.flushGarbage(events);
  }

  private flushGarbage(events: MllpFrameEvent[]): void {
    if (this.garbage === 0) return;
    events.push(this.error('GARBAGE_OUTSIDE_FRAME', this.garbage, `${this.garbage} byte(s) outside an MLLP frame were discarded.`));
    this.garbage = 0;
  }

  private error(code: MllpFramingErrorCode, byteCount: number, message: string, head?: Buffer): MllpFramingError {
    return head === undefined ? { kind: 'error', code, byteCount, message } : { kind: 'error', code, byteCount, message, head };
  }
}

/**
 * Wraps content in an MLLP block (SB content EB CR). Throws RangeError when the content contains
 * SB or EB, which would corrupt framing (MLLP R2 §2.1) — e.g. UTF-16 text.
 */
export function encodeMllpFrame(content: Uint8Array): Buffer {
  if (content.includes(SB) || content.includes(EB)) {
    throw new RangeError('MLLP content must not contain the framing bytes 0x0B or 0x1C');
  }
  const out = Buffer.allocUnsafe(content.length + 3);
  out[0] = SB;
  out.set(content, 1);
  out[content.length + 1] = EB;
  out[content.length + 2] = CR;
  return out;
}
