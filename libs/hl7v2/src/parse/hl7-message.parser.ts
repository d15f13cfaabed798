import { unescapeHl7 } from '../encoding/hl7-escape.codec';
import type { Hl7EncodingCharacters, Hl7FieldRepetition, Hl7Header, Hl7Message, Hl7Segment } from '../message';
import { Hl7ParseError } from './hl7-parse.error';

/*
 * Why our own tokenizer rather than node-hl7-client's `Message` (3.2.0), which the interface in
 * message.ts was first meant to wrap: splitting on the five delimiters is the easy part of HL7 v2,
 * and node-hl7-client gets the hard parts wrong for an exchange that must not alter data:
 *  - its unescape leaves \.br\ and the other formatted-text escapes (§2.7.6) untouched and has no
 *    \P\ (v2.7 truncation character);
 *  - it splits MSH-2 like any other field (so "^~\&" becomes repetitions/components) and knows
 *    nothing of the v2.7 truncation character in MSH-2;
 *  - it trims every segment and the whole message (trailing spaces are data) and detects
 *    segments with a regex that assumes "|" as field separator;
 *  - every node is an EventEmitter, which is heavy for a gateway parsing every message.
 * The tokenizer below is ~150 lines, allocation-light (fields are split lazily on first access)
 * and is cross-checked against node-hl7-client for ordinary messages in hl7-message.parser.spec.ts.
 */

const SEGMENT_ID = /^[A-Z][A-Z0-9]{2}$/;
const BATCH_SEGMENTS: ReadonlySet<string> = new Set(['BHS', 'BTS', 'FHS', 'FTS']);

/**
 * Parses one HL7 v2.x message (v2.1 – v2.8 share this syntax, Chapter 2 §2.5–2.7).
 * - Segment terminators CR, LF or CRLF are all accepted (§2.5.1 mandates CR; LF comes from files
 *   and Unix tools). If the text contains any CR, CR/CRLF terminate segments and a lone LF stays
 *   inside the value. Blank lines are ignored.
 * - Delimiters come from MSH-1 / MSH-2 (§2.5.4), including a v2.7 truncation character as fifth
 *   character of MSH-2 (§2.5.5.6).
 * - Values are unescaped per §2.7 (see unescapeHl7). MSH-1 and MSH-2 are returned literally.
 * - The HL7 null `""` is returned as the two characters `""` (it means "delete this value",
 *   which differs from empty).
 * Throws Hl7ParseError (never echoing message content) when the text is not a message.
 */
export function parseHl7(text: string): Hl7Message {
  const body = text.replace(/^\uFEFF/, '');
  // §2.5.1: the terminator is CR. When the text has CRs, a lone LF is data (senders embed LFs in
  // report text, e.g. OBX-5 of type TX) and is kept in the value; only LF-only text (files,
  // Unix tools) is split on LF.
  const lines = body
    .split(body.includes('\r') ? /\r\n|\r/ : /\n/)
    .filter((line) => line.trim() !== '');
  const first = lines[0];
  if (first === undefined) {
    throw new Hl7ParseError('EMPTY_MESSAGE', { segmentIndex: 1 }, 'The message is empty: expected an MSH segment.');
  }
  const headerLine = first.trimStart();
  const encoding = readEncodingCharacters(headerLine);
  const segments: Hl7Segment[] = [new ParsedSegment('MSH', splitMshFields(headerLine, encoding), encoding)];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    const name = line.slice(0, 3);
    const segmentIndex = i + 1;
    if (!SEGMENT_ID.test(name) || (line.length > 3 && line[3] !== encoding.field)) {
      throw new Hl7ParseError(
        'INVALID_SEGMENT_ID',
        { segmentIndex },
        `Segment ${segmentIndex} does not start with a 3-character segment id followed by the field separator "${encoding.field}" (HL7 v2 Chapter 2 §2.5.1).`,
      );
    }
    if (name === 'MSH') {
      throw new Hl7ParseError(
        'UNEXPECTED_MSH',
        { segmentIndex, segmentName: name },
        `Segment ${segmentIndex} is a second MSH: send one message per MLLP frame.`,
      );
    }
    if (BATCH_SEGMENTS.has(name)) {
      throw new Hl7ParseError(
        'BATCH_NOT_SUPPORTED',
        { segmentIndex, segmentName: name },
        `Segment ${segmentIndex} (${name}) is a batch/file segment: HL7 batches are not accepted, send one message per MLLP frame.`,
      );
    }
    segments.push(new ParsedSegment(name, line.length > 3 ? line.slice(4).split(encoding.field) : [], encoding));
  }
  return new ParsedMessage(encoding, segments);
}

/** MSH-1 and MSH-2 (Chapter 2 §2.5.4, v2.7 §2.5.5.6 for the truncation character). */
function readEncodingCharacters(line: string): Hl7EncodingCharacters {
  const id = line.slice(0, 3);
  if (id !== 'MSH') {
    if (BATCH_SEGMENTS.has(id)) {
      throw new Hl7ParseError(
        'BATCH_NOT_SUPPORTED',
        { segmentIndex: 1, segmentName: id },
        `The message starts with ${id}: HL7 batches are not accepted, send one message per MLLP frame.`,
      );
    }
    throw new Hl7ParseError('MISSING_MSH', { segmentIndex: 1 }, 'The message does not start with an MSH segment.');
  }
  const field = line[3];
  if (field === undefined || !isDelimiterCandidate(field)) {
    throw new Hl7ParseError(
      'INVALID_FIELD_SEPARATOR',
      { segmentIndex: 1, segmentName: 'MSH', field: 1 },
      'MSH-1 (field separator) is missing or is a letter, digit or whitespace.',
    );
  }
  const end = line.indexOf(field, 4);
  const chars = line.slice(4, end < 0 ? undefined : end);
  const distinct = new Set([field, ...chars]);
  if (chars.length < 4 || chars.length > 5 || distinct.size !== chars.length + 1 || ![...chars].every(isDelimiterCandidate)) {
    throw new Hl7ParseError(
      'INVALID_ENCODING_CHARACTERS',
      { segmentIndex: 1, segmentName: 'MSH', field: 2 },
      'MSH-2 (encoding characters) must be 4 distinct non-alphanumeric characters (component, repetition, escape, sub-component), optionally followed by the v2.7 truncation character.',
    );
  }
  const [component, repetition, escape, subComponent, truncation] = [...chars] as [string, string, string, string, string?];
  return truncation === undefined
    ? { field, component, repetition, escape, subComponent }
    : { field, component, repetition, escape, subComponent, truncation };
}

function isDelimiterCandidate(ch: string): boolean {
  return !/^[A-Za-z0-9\s]$/.test(ch) && ch.charCodeAt(0) >= 0x20 && ch !== '\u007f';
}

/** MSH is special: MSH-1 is the separator itself and MSH-2 is not split (§2.5.4). */
function splitMshFields(line: string, encoding: Hl7EncodingCharacters): string[] {
  const rest = line.slice(4).split(encoding.field);
  // rest[0] is MSH-2, rest[1] MSH-3, …
  return [encoding.field, ...rest];
}

class ParsedMessage implements Hl7Message {
  readonly header: Hl7Header;

  constructor(
    readonly encoding: Hl7EncodingCharacters,
    readonly segments: readonly Hl7Segment[],
  ) {
    this.header = extractHeader(segments[0]);
  }

  all(name: string): readonly Hl7Segment[] {
    return this.segments.filter((s) => s.name === name);
  }

  first(name: string): Hl7Segment | undefined {
    return this.segments.find((s) => s.name === name);
  }
}

class ParsedSegment implements Hl7Segment {
  /** Split repetitions per field, filled on first access. */
  private cache: (readonly Hl7FieldRepetition[] | undefined)[] | undefined;

  constructor(
    readonly name: string,
    /** Raw (escaped) field texts; index 0 holds field 1. */
    private readonly rawFields: readonly string[],
    private readonly encoding: Hl7EncodingCharacters,
  ) {}

  get fieldCount(): number {
    return this.rawFields.length;
  }

  repetitions(field: number): readonly Hl7FieldRepetition[] {
    if (!Number.isInteger(field) || field < 1 || field > this.rawFields.length) return [];
    const cached = this.cache?.[field];
    if (cached !== undefined) return cached;
    const raw = this.rawFields[field - 1];
    let reps: readonly Hl7FieldRepetition[];
    if (raw === '') reps = [];
    else if (this.name === 'MSH' && field <= 2) reps = [new LiteralRepetition(raw)];
    else reps = raw.split(this.encoding.repetition).map((r) => new ParsedRepetition(r, this.encoding));
    (this.cache ??= [])[field] = reps;
    return reps;
  }

  value(field: number, component = 1, subComponent = 1): string {
    return this.repetitions(field)[0]?.component(component, subComponent) ?? '';
  }
}

class ParsedRepetition implements Hl7FieldRepetition {
  private readonly components: readonly (readonly string[])[];

  constructor(raw: string, private readonly encoding: Hl7EncodingCharacters) {
    this.components = raw === '' ? [] : raw.split(encoding.component).map((c) => c.split(encoding.subComponent).map((s) => unescapeHl7(s, encoding)));
  }

  get componentCount(): number {
    return this.components.length;
  }

  component(component: number, subComponent = 1): string {
    return this.components[component - 1]?.[subComponent - 1] ?? '';
  }

  subComponents(component: number): readonly string[] {
    return this.components[component - 1] ?? [];
  }

  get text(): string {
    return this.components.map((subs) => subs.join(this.encoding.subComponent)).join(this.encoding.component);
  }
}

/** MSH-1 / MSH-2: a single literal value, no delimiters or escapes apply. */
class LiteralRepetition implements Hl7FieldRepetition {
  readonly componentCount = 1;

  constructor(readonly text: string) {}

  component(component: number, subComponent = 1): string {
    return component === 1 && subComponent === 1 ? this.text : '';
  }

  subComponents(component: number): readonly string[] {
    return component === 1 ? [this.text] : [];
  }
}

function extractHeader(msh: Hl7Segment): Hl7Header {
  return {
    sendingApplication: msh.value(3),
    sendingFacility: msh.value(4),
    receivingApplication: msh.value(5),
    receivingFacility: msh.value(6),
    dateTime: msh.value(7),
    messageCode: msh.value(9, 1),
    triggerEvent: msh.value(9, 2),
    messageStructure: msh.value(9, 3),
    controlId: msh.value(10),
    processingId: msh.value(11),
    version: msh.value(12),
    acceptAckType: msh.value(15),
    applicationAckType: msh.value(16),
    characterSet: msh.value(18).trim(),
  };
}
