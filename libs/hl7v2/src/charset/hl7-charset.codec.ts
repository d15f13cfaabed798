import * as iconv from 'iconv-lite';

/*
 * Character sets, HL7 v2.x Chapter 2 §2.5.5 / MSH-18 (HL7 table 0211 "Alternate character sets").
 *
 * MSH-18 names the character set of the whole message; when it is empty the receiver uses the
 * character set agreed for the interface (the feed's configured default). Only the first
 * repetition is used: further repetitions (and MSH-20) describe ISO 2022 code extension
 * switching, which we do not support (see \C..\ / \M..\ in unescapeHl7).
 *
 * MSH-18 is read from the raw bytes: everything up to MSH-18 is ASCII-compatible in every
 * charset of table 0211 except UTF-16/32, which are detected from a BOM or from "MSH" in
 * UTF-16 before anything else. Multi-byte charsets such as GB 18030 may contain trail bytes
 * equal to "|" (0x7C) if MSH-3..MSH-17 carried non-ASCII text, so the charset read from the bytes
 * is re-read from a lenient decoding whenever MSH contains non-ASCII bytes.
 */

/** Maps a table 0211 value (normalized: upper case, single spaces) to an iconv-lite codec. */
const TABLE_0211: Readonly<Record<string, string>> = {
  ASCII: 'ascii',
  'ISO IR6': 'ascii',
  '8859/1': 'iso-8859-1',
  '8859/2': 'iso-8859-2',
  '8859/3': 'iso-8859-3',
  '8859/4': 'iso-8859-4',
  '8859/5': 'iso-8859-5',
  '8859/6': 'iso-8859-6',
  '8859/7': 'iso-8859-7',
  '8859/8': 'iso-8859-8',
  '8859/9': 'iso-8859-9',
  '8859/15': 'iso-8859-15',
  'ISO IR100': 'iso-8859-1',
  'UNICODE UTF-8': 'utf-8',
  'GB 18030-2000': 'gb18030',
  'BIG-5': 'big5',
  'KS X 1001': 'euc-kr',
  UNICODE: 'utf-16',
  'UNICODE UTF-16': 'utf-16',
  'UNICODE UTF-32': 'utf-32',
};

/**
 * Spellings seen in the field that are not table 0211 values but name a charset unambiguously.
 * Accepting them beats rejecting a hospital's whole feed; the returned `charset` stays the value
 * the sender wrote so the ACK echoes it.
 */
const ALIASES: Readonly<Record<string, string>> = {
  'UTF-8': 'utf-8',
  UTF8: 'utf-8',
  GB18030: 'gb18030',
  'GB 18030': 'gb18030',
  'GB18030-2000': 'gb18030',
  'GB18030-2005': 'gb18030',
  'GB 18030-2005': 'gb18030',
  'ISO-8859-1': 'iso-8859-1',
  'ISO-8859-2': 'iso-8859-2',
  'ISO-8859-5': 'iso-8859-5',
  'ISO-8859-7': 'iso-8859-7',
  'ISO-8859-9': 'iso-8859-9',
  'ISO-8859-15': 'iso-8859-15',
  'US-ASCII': 'ascii',
  'UTF-16': 'utf-16',
};

export type Hl7CharsetErrorCode = 'UNKNOWN_CHARSET' | 'MALFORMED_BYTES' | 'CHARSET_MISMATCH';

/**
 * The message bytes cannot be turned into text. Safe to log and to return in ERR-8: it names
 * MSH-18 and the charset value, never message content. For an ACK, use ERR-2 `MSH^1^18` and
 * table 0357 code 103 (table value not found) for UNKNOWN_CHARSET, 102 (data type error)
 * otherwise.
 */
export class Hl7CharsetError extends Error {
  override readonly name = 'Hl7CharsetError';
  readonly field = 'MSH-18';

  constructor(
    readonly code: Hl7CharsetErrorCode,
    /** The charset value concerned (as declared in MSH-18, or the feed default). */
    readonly charset: string,
    /** Whether the value came from MSH-18 or from the feed's configured default. */
    readonly source: 'MSH-18' | 'default',
    message: string,
  ) {
    super(message);
  }
}

export interface DecodedHl7Text {
  readonly text: string;
  /** The HL7 charset value used: MSH-18 as sent, or the default when MSH-18 was empty. Pass it to encodeHl7Text for the ACK. */
  readonly charset: string;
  /** true when MSH-18 was empty and the default was used. */
  readonly usedDefault: boolean;
}

export interface DecodeHl7Options {
  /** 'error' (default): invalid byte sequences raise MALFORMED_BYTES; 'replace': they become U+FFFD. */
  readonly onMalformed?: 'error' | 'replace';
}

/** Whether a table 0211 value (or known alias) is supported. */
export function isSupportedHl7Charset(charset: string): boolean {
  return codecFor(charset) !== undefined;
}

/**
 * Decodes one message's bytes using MSH-18 (first repetition), or `defaultCharset` when MSH-18 is
 * empty. Throws Hl7CharsetError for an unknown charset or bytes that are invalid in it.
 */
export function decodeHl7Bytes(bytes: Uint8Array, defaultCharset: string, options: DecodeHl7Options = {}): DecodedHl7Text {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const wide = detectWideEncoding(buffer);
  if (wide !== undefined) return decodeWide(buffer, wide, defaultCharset, options);

  const header = asciiHeader(buffer);
  let declared = readMsh18(header);
  if (/[^ -~\t]/.test(header)) {
    // Non-ASCII bytes in MSH: a multi-byte trail byte may equal "|" and shift the byte-level
    // read. Decode leniently with the best guess and read MSH-18 again from the text.
    const guess = codecFor(declared) ?? codecFor(defaultCharset) ?? 'latin1';
    const confirmed = readMsh18(iconv.decode(buffer, guess, { stripBOM: true }));
    if (confirmed !== declared && codecFor(confirmed) !== undefined) declared = confirmed;
  }
  return decodeWith(buffer, declared, defaultCharset, options);
}

/** Encodes text (typically an ACK) in the given HL7 charset (table 0211 value or alias; '' → UTF-8). */
export function encodeHl7Text(text: string, charset: string): Buffer {
  const trimmed = charset.trim();
  if (trimmed === '') return Buffer.from(text, 'utf8');
  const codec = codecFor(trimmed);
  if (codec === undefined) {
    throw new Hl7CharsetError('UNKNOWN_CHARSET', trimmed, 'MSH-18', `Character set "${trimmed}" is not supported for encoding.`);
  }
  return iconv.encode(text, codec, { addBOM: false });
}

function normalize(charset: string): string {
  return charset.trim().replace(/\s+/g, ' ').toUpperCase();
}

function codecFor(charset: string): string | undefined {
  const key = normalize(charset);
  return TABLE_0211[key] ?? ALIASES[key];
}

function decodeWith(buffer: Buffer, declared: string, defaultCharset: string, options: DecodeHl7Options): DecodedHl7Text {
  const usedDefault = declared === '';
  const charset = usedDefault ? defaultCharset.trim() : declared;
  const source = usedDefault ? 'default' : 'MSH-18';
  const codec = codecFor(charset);
  if (codec === undefined) {
    throw new Hl7CharsetError(
      'UNKNOWN_CHARSET',
      charset,
      source,
      usedDefault
        ? `MSH-18 is empty and the feed's default character set "${charset}" is not supported.`
        : `MSH-18 declares character set "${charset}", which is not in HL7 table 0211 or not supported; use e.g. "UNICODE UTF-8", "8859/1" or "GB 18030-2000".`,
    );
  }
  const text = decode(buffer, codec, charset, source, options);
  return { text, charset, usedDefault };
}

function decode(buffer: Buffer, codec: string, charset: string, source: 'MSH-18' | 'default', options: DecodeHl7Options): string {
  const text = iconv.decode(buffer, codec, { stripBOM: true });
  if (options.onMalformed !== 'replace' && text.includes('\uFFFD')) {
    const legitimate = countOccurrences(buffer, iconv.encode('\uFFFD', codec, { addBOM: false }));
    const found = countChar(text, '\uFFFD');
    if (found > legitimate) {
      throw new Hl7CharsetError(
        'MALFORMED_BYTES',
        charset,
        source,
        `The message contains ${found - legitimate} byte sequence(s) that are not valid in character set "${charset}" (${source === 'MSH-18' ? 'declared in MSH-18' : 'feed default, MSH-18 empty'}).`,
      );
    }
  }
  return text;
}

/** The first segment, read byte-for-byte (latin1 keeps every byte as one char, so indexes match). */
function asciiHeader(buffer: Buffer): string {
  let start = 0;
  if (buffer[0] === 0xef && buffer[1] === 0xbb && buffer[2] === 0xbf) start = 3; // UTF-8 BOM
  while (start < buffer.length && (buffer[start] === 0x0d || buffer[start] === 0x0a)) start++;
  let end = start;
  while (end < buffer.length && buffer[end] !== 0x0d && buffer[end] !== 0x0a) end++;
  return buffer.toString('latin1', start, end);
}

/** MSH-18, first repetition, trimmed; '' when absent or when the text does not start with MSH. */
function readMsh18(text: string): string {
  const header = text.replace(/^[\uFEFF\r\n]+/, '');
  if (!header.startsWith('MSH') || header.length < 8) return '';
  const segment = header.split(/[\r\n]/, 1)[0];
  const fields = segment.split(segment[3]);
  // fields[0] = "MSH", fields[1] = MSH-2, so MSH-n is fields[n - 1].
  const msh18 = fields[17] ?? '';
  const repetition = fields[1][1];
  return (repetition === undefined ? msh18 : msh18.split(repetition)[0]).trim();
}

type Wide = 'utf-16le' | 'utf-16be';

function detectWideEncoding(b: Buffer): Wide | undefined {
  if (b[0] === 0xff && b[1] === 0xfe) return 'utf-16le';
  if (b[0] === 0xfe && b[1] === 0xff) return 'utf-16be';
  // "MS" in UTF-16 without BOM
  if (b[0] === 0x4d && b[1] === 0x00 && b[2] === 0x53 && b[3] === 0x00) return 'utf-16le';
  if (b[0] === 0x00 && b[1] === 0x4d && b[2] === 0x00 && b[3] === 0x53) return 'utf-16be';
  return undefined;
}

/** UTF-16 messages (table 0211 UNICODE / UNICODE UTF-16). Not usable over MLLP (see mllp-frame.decoder). */
function decodeWide(buffer: Buffer, wide: Wide, defaultCharset: string, options: DecodeHl7Options): DecodedHl7Text {
  const declared = readMsh18(iconv.decode(buffer, wide, { stripBOM: true }));
  const charset = declared === '' ? defaultCharset.trim() : declared;
  if (codecFor(charset) !== 'utf-16') {
    throw new Hl7CharsetError(
      'CHARSET_MISMATCH',
      charset,
      declared === '' ? 'default' : 'MSH-18',
      `The message bytes are UTF-16 but ${declared === '' ? "the feed's default" : 'MSH-18'} names character set "${charset}".`,
    );
  }
  return { text: decode(buffer, wide, charset, declared === '' ? 'default' : 'MSH-18', options), charset, usedDefault: declared === '' };
}

function countChar(text: string, ch: string): number {
  let count = 0;
  for (let i = text.indexOf(ch); i >= 0; i = text.indexOf(ch, i + 1)) count++;
  return count;
}

function countOccurrences(haystack: Buffer, needle: Buffer): number {
  let count = 0;
  for (let i = haystack.indexOf(needle); i >= 0; i = haystack.indexOf(needle, i + needle.length)) count++;
  return count;
}
