import { formatDtm } from '../ack/ack.builder';
import { DEFAULT_ENCODING_CHARACTERS, escapeHl7 } from '../encoding/hl7-escape.codec';
import type { Hl7EncodingCharacters } from '../message';

/*
 * Minimal HL7 v2 message builder for tests, fixtures and the demo feed generator. Values are
 * plain text and are escaped (Chapter 2 §2.7) with the message's encoding characters, so any
 * string — including "|", "^", "&", "~", "\" and line breaks — survives parseHl7 unchanged.
 *
 * Field value shapes:
 *   'text'                                   one value
 *   ['MRN1', '', '', ['CITY', '1.2', 'ISO']]  components; an inner array is sub-components
 *   repeat('A', ['B', 'C'])                  repetitions
 *   undefined / null                         empty field
 */

export type Hl7ComponentValue = string | readonly string[];
export type Hl7RepetitionValue = string | readonly Hl7ComponentValue[];
export interface Hl7Repeated {
  readonly repeat: readonly Hl7RepetitionValue[];
}
export type Hl7FieldValue = Hl7RepetitionValue | Hl7Repeated | null | undefined;

/** Repetitions of one field (joined with the repetition separator). */
export function repeat(...repetitions: readonly Hl7RepetitionValue[]): Hl7Repeated {
  return { repeat: repetitions };
}

export interface Hl7MshInput {
  readonly sendingApplication: string;
  readonly sendingFacility: string;
  readonly receivingApplication?: string;
  readonly receivingFacility?: string;
  /** MSH-7: a Date (written in UTC with +0000) or an HL7 DTM string. */
  readonly dateTime: Date | string;
  readonly messageCode: string;
  readonly triggerEvent: string;
  readonly messageStructure?: string;
  readonly controlId: string;
  /** MSH-11, default 'P'. */
  readonly processingId?: string;
  /** MSH-12, default '2.5.1'. */
  readonly version?: string;
  readonly acceptAckType?: string;
  readonly applicationAckType?: string;
  /** MSH-17 */
  readonly countryCode?: string;
  /** MSH-18 */
  readonly characterSet?: string;
}

const SEGMENT_ID = /^[A-Z][A-Z0-9]{2}$/;

export class Hl7MessageBuilder {
  private readonly segments: string[] = [];

  constructor(private readonly encoding: Hl7EncodingCharacters = DEFAULT_ENCODING_CHARACTERS) {}

  /** Writes MSH; must be called first, once. */
  msh(input: Hl7MshInput): this {
    if (this.segments.length > 0) throw new Error('MSH must be the first and only header segment');
    const e = this.encoding;
    const encodingChars = `${e.component}${e.repetition}${e.escape}${e.subComponent}${e.truncation ?? ''}`;
    const messageType: Hl7ComponentValue[] = [input.messageCode, input.triggerEvent];
    if (input.messageStructure !== undefined) messageType.push(input.messageStructure);
    const fields: Hl7FieldValue[] = [
      input.sendingApplication,
      input.sendingFacility,
      input.receivingApplication,
      input.receivingFacility,
      typeof input.dateTime === 'string' ? input.dateTime : formatDtm(input.dateTime),
      undefined,
      messageType,
      input.controlId,
      input.processingId ?? 'P',
      input.version ?? '2.5.1',
      undefined,
      undefined,
      input.acceptAckType,
      input.applicationAckType,
      input.countryCode,
      input.characterSet,
    ];
    // MSH-1 is the separator itself and MSH-2 is written literally (§2.5.4).
    this.segments.push(trimTrailing([`MSH${e.field}${encodingChars}`, ...fields.map((f) => this.field(f))], e.field));
    return this;
  }

  /** Appends a segment; `fields[0]` is field 1. */
  segment(name: string, fields: readonly Hl7FieldValue[]): this {
    if (this.segments.length === 0) throw new Error('Call msh() before adding segments');
    if (!SEGMENT_ID.test(name) || name === 'MSH') throw new Error(`Invalid segment id "${name}"`);
    this.segments.push(trimTrailing([name, ...fields.map((f) => this.field(f))], this.encoding.field));
    return this;
  }

  /** The message text, segments terminated by CR (§2.5.1). */
  toString(): string {
    if (this.segments.length === 0) throw new Error('Call msh() first');
    return this.segments.join('\r') + '\r';
  }

  private field(value: Hl7FieldValue): string {
    if (value === undefined || value === null) return '';
    if (isRepeated(value)) return value.repeat.map((r) => this.repetition(r)).join(this.encoding.repetition);
    return this.repetition(value);
  }

  private repetition(value: Hl7RepetitionValue): string {
    if (typeof value === 'string') return escapeHl7(value, this.encoding);
    return trimTrailing(
      value.map((c) => (typeof c === 'string' ? escapeHl7(c, this.encoding) : trimTrailing(c.map((s) => escapeHl7(s, this.encoding)), this.encoding.subComponent))),
      this.encoding.component,
    );
  }
}

function isRepeated(value: Hl7RepetitionValue | Hl7Repeated): value is Hl7Repeated {
  return typeof value === 'object' && 'repeat' in value;
}

function trimTrailing(parts: readonly string[], separator: string): string {
  let end = parts.length;
  while (end > 1 && parts[end - 1] === '') end--;
  return parts.slice(0, end).join(separator);
}
