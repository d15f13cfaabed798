/**
 * HL7 v2 batch protocol (Chapter 2 §2.10.3): an optional file header/trailer (FHS/FTS) around one
 * or more batches (BHS/BTS) of messages, each message starting with MSH. This splits the bytes of
 * such a file into the bytes of its messages, without decoding: segment terminators (CR, LF) and
 * the segment ids are ASCII in every supported character set, and each message keeps its own
 * MSH-18. UTF-16 files are not supported (their bytes are not ASCII-compatible).
 */
export interface Hl7BatchSplit {
  /** The messages' bytes, in file order, each with CR segment terminators. */
  readonly messages: readonly Buffer[];
  readonly hasFileHeader: boolean;
  readonly batchCount: number;
  /** Sum of BTS-1 (batch message count) where the sender gave it; undefined when none did. */
  readonly declaredMessageCount: number | undefined;
  /** Problems with the envelope (never message content), e.g. a BTS-1 that disagrees. */
  readonly warnings: readonly string[];
}

const CR = 0x0d;
const LF = 0x0a;

function segmentsOf(bytes: Buffer): Buffer[] {
  const segments: Buffer[] = [];
  let start = 0;
  for (let i = 0; i <= bytes.length; i++) {
    if (i === bytes.length || bytes[i] === CR || bytes[i] === LF) {
      if (i > start) segments.push(bytes.subarray(start, i));
      start = i + 1;
    }
  }
  return segments;
}

function idOf(segment: Buffer): string {
  return segment.subarray(0, 3).toString('latin1');
}

export function splitHl7Batch(bytes: Buffer): Hl7BatchSplit {
  const warnings: string[] = [];
  const messages: Buffer[] = [];
  let current: Buffer[] | undefined;
  let hasFileHeader = false;
  let batchCount = 0;
  let declared: number | undefined;
  let inBatch = 0;
  const flush = () => {
    if (current !== undefined) messages.push(Buffer.concat(current.flatMap((s) => [s, Buffer.from([CR])])));
    current = undefined;
  };
  for (const segment of segmentsOf(
    bytes.subarray(bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0),
  )) {
    const id = idOf(segment);
    switch (id) {
      case 'FHS':
        flush();
        hasFileHeader = true;
        break;
      case 'BHS':
        flush();
        batchCount++;
        inBatch = 0;
        break;
      case 'BTS': {
        flush();
        const separator = segment.length > 3 ? String.fromCharCode(segment[3] ?? 0x7c) : '|';
        const count = segment.toString('latin1').split(separator)[1]?.trim() ?? '';
        if (count !== '') {
          const n = Number(count);
          if (!Number.isInteger(n) || n < 0)
            warnings.push(`BTS-1 (batch message count) "${count}" is not a number`);
          else {
            declared = (declared ?? 0) + n;
            if (n !== inBatch)
              warnings.push(`BTS-1 says ${n} messages, batch ${batchCount} holds ${inBatch}`);
          }
        }
        break;
      }
      case 'FTS':
        flush();
        break;
      case 'MSH':
        flush();
        current = [segment];
        inBatch++;
        break;
      default:
        if (current === undefined) warnings.push(`A ${id} segment outside any message was ignored`);
        else current.push(segment);
    }
  }
  flush();
  return { messages, hasFileHeader, batchCount, declaredMessageCount: declared, warnings };
}
