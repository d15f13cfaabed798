import type { MllpFrameEvent, MllpFramingError } from './mllp-frame.decoder';
import { encodeMllpFrame, MllpFrameDecoder } from './mllp-frame.decoder';

const SB = 0x0b;
const EB = 0x1c;
const CR = 0x0d;

const msg = (id: string): Buffer => Buffer.from(`MSH|^~\\&|A|B|||||ADT^A01|${id}|P|2.5\rPID|1||X${id}\r`, 'latin1');
const payloads = (events: readonly MllpFrameEvent[]): string[] =>
  events.flatMap((e) => (e.kind === 'frame' ? [e.payload.toString('latin1')] : []));
const errors = (events: readonly MllpFrameEvent[]): MllpFramingError[] => events.filter((e): e is MllpFramingError => e.kind === 'error');

function feed(decoder: MllpFrameDecoder, chunks: readonly Uint8Array[]): MllpFrameEvent[] {
  return chunks.flatMap((c) => decoder.push(c));
}

/** Mulberry32: small deterministic PRNG so a failing seed can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('encodeMllpFrame', () => {
  it('wraps content in SB … EB CR', () => {
    expect([...encodeMllpFrame(Buffer.from('AB'))]).toEqual([SB, 0x41, 0x42, EB, CR]);
  });

  it('refuses content containing framing bytes', () => {
    expect(() => encodeMllpFrame(Buffer.from([0x41, EB]))).toThrow(RangeError);
    expect(() => encodeMllpFrame(Buffer.from([SB]))).toThrow(RangeError);
  });
});

describe('MllpFrameDecoder', () => {
  const decoder = (maxFrameBytes = 10_000): MllpFrameDecoder => new MllpFrameDecoder({ maxFrameBytes });

  it('decodes one frame in one chunk', () => {
    const events = decoder().push(encodeMllpFrame(msg('1')));
    expect(events).toEqual([{ kind: 'frame', payload: msg('1') }]);
  });

  it('decodes a frame fed byte by byte', () => {
    const d = decoder();
    const bytes = encodeMllpFrame(msg('1'));
    const events = feed(d, [...bytes].map((b) => Uint8Array.of(b)));
    expect(payloads(events)).toEqual([msg('1').toString('latin1')]);
    expect(errors(events)).toEqual([]);
    expect(d.bufferedBytes).toBe(0);
  });

  it('emits the frame at EB and consumes a CR arriving in the next chunk', () => {
    const d = decoder();
    const bytes = encodeMllpFrame(msg('1'));
    const first = d.push(bytes.subarray(0, bytes.length - 1)); // up to and including EB
    expect(payloads(first)).toEqual([msg('1').toString('latin1')]);
    expect(d.push(Uint8Array.of(CR))).toEqual([]);
    expect(d.push(encodeMllpFrame(msg('2')))).toEqual([{ kind: 'frame', payload: msg('2') }]);
  });

  it('decodes several frames in one chunk', () => {
    const chunk = Buffer.concat([encodeMllpFrame(msg('1')), encodeMllpFrame(msg('2')), encodeMllpFrame(msg('3'))]);
    const events = decoder().push(chunk);
    expect(payloads(events)).toEqual(['1', '2', '3'].map((id) => msg(id).toString('latin1')));
    expect(errors(events)).toEqual([]);
  });

  it('reports garbage before a start block with its byte count, then decodes the frame', () => {
    const d = decoder();
    const events = feed(d, [Buffer.from('GET / HTTP/1.1\r\n'), Buffer.from('xx'), encodeMllpFrame(msg('1'))]);
    expect(events).toEqual([
      expect.objectContaining({ kind: 'error', code: 'GARBAGE_OUTSIDE_FRAME', byteCount: 18 }),
      { kind: 'frame', payload: msg('1') },
    ]);
  });

  it('reports garbage still pending at end()', () => {
    const d = decoder();
    expect(d.push(Buffer.from('\n\n\n'))).toEqual([]);
    expect(d.end()).toEqual([expect.objectContaining({ code: 'GARBAGE_OUTSIDE_FRAME', byteCount: 3 })]);
    expect(d.end()).toEqual([]);
  });

  it('reports a garbage-only stream every maxFrameBytes bytes instead of counting forever silently', () => {
    const d = decoder(100);
    const events = d.push(Buffer.alloc(250, 0x41));
    expect(errors(events).map((e) => e.byteCount)).toEqual([250]);
    expect(d.push(Buffer.alloc(99, 0x41))).toEqual([]);
    expect(errors(d.push(Buffer.alloc(1, 0x41))).map((e) => e.byteCount)).toEqual([100]);
  });

  it('reports a frame without end block when a new start block arrives, then decodes the new frame', () => {
    const d = decoder();
    const truncated = Buffer.concat([Uint8Array.of(SB), msg('1').subarray(0, 20)]);
    const events = feed(d, [truncated, encodeMllpFrame(msg('2'))]);
    expect(events).toEqual([
      { kind: 'error', code: 'TRUNCATED_FRAME', byteCount: 20, message: expect.any(String), head: msg('1').subarray(0, 20) },
      { kind: 'frame', payload: msg('2') },
    ]);
  });

  it('reports an oversized frame once, discards it to its end block, and continues normally', () => {
    const d = new MllpFrameDecoder({ maxFrameBytes: 64, headBytes: 16 });
    const big = Buffer.concat([Buffer.from('MSH|^~\\&|A|B|||||ADT^A01|BIG1|P|2.5\r'), Buffer.alloc(500, 0x41)]);
    const framed = encodeMllpFrame(big);
    const chunks: Buffer[] = [];
    for (let i = 0; i < framed.length; i += 7) chunks.push(framed.subarray(i, i + 7));
    const events = feed(d, [...chunks, encodeMllpFrame(msg('2'))]);
    const errs = errors(events);
    expect(errs).toHaveLength(1);
    expect(errs[0]).toMatchObject({ code: 'FRAME_TOO_LARGE', head: big.subarray(0, 16) });
    expect(errs[0].byteCount).toBeGreaterThan(64);
    expect(errs[0].message).toContain('64');
    expect(payloads(events)).toEqual([msg('2').toString('latin1')]);
    expect(d.bufferedBytes).toBe(0);
  });

  it('never buffers more than maxFrameBytes', () => {
    const d = decoder(1000);
    d.push(Uint8Array.of(SB));
    for (let i = 0; i < 100; i++) {
      d.push(Buffer.alloc(97, 0x41));
      expect(d.bufferedBytes).toBeLessThanOrEqual(1000);
    }
    expect(d.bufferedBytes).toBe(0); // discarding the oversized frame
  });

  it('accepts a frame of exactly maxFrameBytes', () => {
    const content = Buffer.alloc(50, 0x41);
    expect(payloads(decoder(50).push(encodeMllpFrame(content)))).toEqual([content.toString('latin1')]);
  });

  it('an SB inside an oversized frame starts a new frame without a second error', () => {
    const d = decoder(10);
    const events = feed(d, [Buffer.concat([Uint8Array.of(SB), Buffer.alloc(20, 0x41)]), encodeMllpFrame(Buffer.from('OK'))]);
    expect(errors(events).map((e) => e.code)).toEqual(['FRAME_TOO_LARGE']);
    expect(payloads(events)).toEqual(['OK']);
  });

  it('EB not followed by CR: accepts the frame, reports it, and treats the next byte as outside a frame', () => {
    const d = decoder();
    const noCr = Buffer.concat([Uint8Array.of(SB), msg('1'), Uint8Array.of(EB)]);
    const events = feed(d, [noCr, encodeMllpFrame(msg('2')), Buffer.concat([Uint8Array.of(SB), Buffer.from('X'), Uint8Array.of(EB)]), Buffer.from('zz')]);
    expect(events.map((e) => (e.kind === 'frame' ? e.payload.toString('latin1') : e.code))).toEqual([
      msg('1').toString('latin1'),
      'MISSING_CR_AFTER_END_BLOCK',
      msg('2').toString('latin1'),
      'X',
      'MISSING_CR_AFTER_END_BLOCK',
    ]);
    expect(d.end()).toEqual([expect.objectContaining({ code: 'GARBAGE_OUTSIDE_FRAME', byteCount: 2 })]);
  });

  it('reports a frame left open when the connection ends', () => {
    const d = decoder();
    d.push(Buffer.concat([Uint8Array.of(SB), Buffer.from('MSH|^~')]));
    expect(d.end()).toEqual([expect.objectContaining({ code: 'INCOMPLETE_FRAME_AT_END', byteCount: 6, head: Buffer.from('MSH|^~') })]);
    expect(d.push(encodeMllpFrame(Buffer.from('N')))).toEqual([{ kind: 'frame', payload: Buffer.from('N') }]);
  });

  it('does not keep a reference to the caller buffer', () => {
    const d = decoder();
    const chunk = Buffer.concat([Uint8Array.of(SB), Buffer.from('ABC')]);
    d.push(chunk);
    chunk.fill(0x5a);
    expect(payloads(d.push(Uint8Array.of(EB, CR)))).toEqual(['ABC']);
  });

  it('rejects invalid options', () => {
    expect(() => new MllpFrameDecoder({ maxFrameBytes: 0 })).toThrow(RangeError);
    expect(() => new MllpFrameDecoder({ maxFrameBytes: 1.5 })).toThrow(RangeError);
    expect(() => new MllpFrameDecoder({ maxFrameBytes: 10, headBytes: -1 })).toThrow(RangeError);
  });

  it('property: a stream of N frames cut at random points always yields the same N frames', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const random = prng(seed);
      const count = 1 + Math.floor(random() * 12);
      const frames = Array.from({ length: count }, (_, k) => {
        const body = Buffer.alloc(Math.floor(random() * 300));
        for (let b = 0; b < body.length; b++) {
          let v = Math.floor(random() * 256);
          if (v === SB || v === EB) v = 0x41;
          body[b] = v;
        }
        return Buffer.concat([msg(`${seed}-${k}`), body]);
      });
      // Half of the seeds also put garbage (anything but SB) between frames, e.g. stray LFs.
      let garbageBytes = 0;
      const parts = frames.flatMap((f) => {
        const junk = seed % 2 === 0 && random() < 0.5 ? Buffer.alloc(1 + Math.floor(random() * 5), 0x0a) : Buffer.alloc(0);
        garbageBytes += junk.length;
        return [junk, encodeMllpFrame(f)];
      });
      const stream = Buffer.concat(parts);
      const chunks: Buffer[] = [];
      let at = 0;
      while (at < stream.length) {
        // Mix of 1-byte, small and large cuts so that splits land between EB and CR too.
        const size = random() < 0.3 ? 1 : 1 + Math.floor(random() * 200);
        chunks.push(stream.subarray(at, at + size));
        at += size;
      }
      const d = new MllpFrameDecoder({ maxFrameBytes: 1024 });
      const events = [...feed(d, chunks), ...d.end()];
      const errs = errors(events);
      const outcome = {
        seed,
        frames: events.flatMap((e) => (e.kind === 'frame' ? [e.payload.toString('hex')] : [])),
        errorCodes: [...new Set(errs.map((e) => e.code))],
        garbageBytes: errs.reduce((sum, e) => sum + e.byteCount, 0),
      };
      expect(outcome).toEqual({
        seed,
        frames: frames.map((f) => f.toString('hex')),
        errorCodes: garbageBytes > 0 ? ['GARBAGE_OUTSIDE_FRAME'] : [],
        garbageBytes,
      });
    }
  });

  it('property: every EB-CR split position is handled', () => {
    const stream = Buffer.concat([encodeMllpFrame(msg('1')), encodeMllpFrame(msg('2'))]);
    for (let cut = 0; cut <= stream.length; cut++) {
      const d = decoder();
      const events = [...d.push(stream.subarray(0, cut)), ...d.push(stream.subarray(cut)), ...d.end()];
      expect(events).toEqual([
        { kind: 'frame', payload: msg('1') },
        { kind: 'frame', payload: msg('2') },
      ]);
    }
  });
});
