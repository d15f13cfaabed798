import { Hl7CharsetError } from '../charset/hl7-charset.codec';
import { DEFAULT_ENCODING_CHARACTERS, escapeHl7 } from '../encoding/hl7-escape.codec';
import type { Hl7Header, Hl7Message, Hl7Segment } from '../message';
import type { Hl7ParseError } from '../parse/hl7-parse.error';
import type { AckCode } from './ack-mode.policy';
import type { Hl7ErrorCode } from './hl7-error-code.const';
import { HL7_ERROR_CODE_TEXT, Hl7ErrorCodes } from './hl7-error-code.const';

/*
 * General acknowledgment ACK^<event>^ACK, HL7 v2.x Chapter 2 §2.9 and §2.14 (MSH, MSA, ERR).
 *
 *   MSH|^~\&|<Tessera app>|<Tessera facility>|<orig MSH-3>|<orig MSH-4>|<now>||ACK^<MSH-9.2>^ACK|<new id>|<orig MSH-11>|<orig MSH-12>||||||<orig MSH-18>
 *   MSA|<code>|<orig MSH-10>
 *   ERR|...
 *
 * - The ACK is always written with the default encoding characters |^~\& (declared in its own
 *   MSH-2, so any receiver can read it) and CR segment terminators; encode it with
 *   encodeHl7Text(ack, <charset of the original>) so MSH-18 and the bytes agree.
 * - MSH-9.3 (message structure) exists from v2.3.1; v2.1–2.3 ACKs carry ACK^<event> only.
 * - ERR, v2.5+: ERR-2 error location (ERL: segment^sequence^field^repetition^component^
 *   sub-component), ERR-3 HL7 error code (CWE, table 0357), ERR-4 severity (table 0516 E/W/I),
 *   ERR-7 diagnostic information, ERR-8 user message.
 * - ERR, v2.1–2.4: ERR-1 error code and location (ELD: segment^sequence^field^code&text&HL70357)
 *   is the only field those versions define. We fill ERR-1 and also ERR-2..8: Chapter 2 §2.10.1
 *   (rules for receiving) tells receivers to ignore fields they do not expect, and readers
 *   updated to v2.5 find the richer form. MSA-3 (text message) carries the first error's user
 *   message for these versions (it is deprecated from v2.5 on, so left empty there).
 * - Texts placed in ERR-7/ERR-8/MSA-3 must not contain patient data (docs/conventions.md §12); the
 *   builder escapes them but cannot check them.
 */

/** Where an error is: ERL data type (v2.5 ERR-2). All positions 1-based. */
export interface Hl7ErrorPointer {
  readonly segment: string;
  /** Occurrence of the segment in the message (1 = first PID). Default 1. */
  readonly sequence?: number;
  readonly field?: number;
  readonly fieldRepetition?: number;
  readonly component?: number;
  readonly subComponent?: number;
}

export interface Hl7AckError {
  /** HL7 table 0357 code. */
  readonly code: Hl7ErrorCode;
  /** Table 0516: E error (default), W warning, I information. */
  readonly severity?: 'E' | 'W' | 'I';
  readonly location?: Hl7ErrorPointer;
  /** ERR-8: readable, for the sending site's interface team. No PHI. */
  readonly userMessage?: string;
  /** ERR-7: technical detail. No PHI. */
  readonly diagnostic?: string;
}

/** The parts of the original message an ACK needs; from Hl7Message.header or recovered fragments. */
export type Hl7AckSubject = Partial<
  Pick<Hl7Header, 'sendingApplication' | 'sendingFacility' | 'triggerEvent' | 'controlId' | 'processingId' | 'version' | 'characterSet'>
>;

export interface BuildAckOptions {
  readonly code: AckCode;
  /** MSH-10 of the ACK itself. */
  readonly controlId: string;
  /** MSH-7 of the ACK (written in UTC, YYYYMMDDHHMMSS+0000). */
  readonly now: Date;
  /** Tessera's MSH-3 / MSH-4. */
  readonly sendingApplication: string;
  readonly sendingFacility: string;
  readonly errors?: readonly Hl7AckError[];
  /** Overrides MSA-3 (text message). Default: first error's user message for v2.1–2.4, else empty. */
  readonly textMessage?: string;
}

const ENC = DEFAULT_ENCODING_CHARACTERS;
const esc = (value: string): string => escapeHl7(value, ENC);

/** Builds the ACK text (CR-separated segments, trailing CR) for a parsed message or header fragments. */
export function buildAck(original: Hl7Message | Hl7AckSubject, options: BuildAckOptions): string {
  const subject = isMessage(original) ? original.header : original;
  const msh = isMessage(original) ? original.first('MSH') : undefined;
  const version = (subject.version ?? '').trim();
  const legacy = isLegacyErrVersion(version);
  const trigger = subject.triggerEvent ?? '';

  const mshFields = [
    `MSH${ENC.field}${ENC.component}${ENC.repetition}${ENC.escape}${ENC.subComponent}`,
    esc(options.sendingApplication),
    esc(options.sendingFacility),
    msh ? echoField(msh, 3) : esc(subject.sendingApplication ?? ''),
    msh ? echoField(msh, 4) : esc(subject.sendingFacility ?? ''),
    formatDtm(options.now),
    '',
    hasMessageStructure(version) ? `ACK^${esc(trigger)}^ACK` : `ACK^${esc(trigger)}`,
    esc(options.controlId),
    msh ? echoField(msh, 11) : esc(subject.processingId ?? ''),
    msh ? echoField(msh, 12) : esc(version),
    '',
    '',
    '',
    '',
    '',
    esc(subject.characterSet ?? ''),
  ];
  const errors = options.errors ?? [];
  const text = options.textMessage ?? (legacy ? (errors[0]?.userMessage ?? '') : '');
  const segments = [
    joinFields(mshFields),
    joinFields(['MSA', options.code, esc(subject.controlId ?? ''), esc(text)]),
    ...errors.map((e) => errSegment(e, legacy)),
  ];
  return segments.join('\r') + '\r';
}

export interface BuildAckForUnparseableOptions extends Omit<BuildAckOptions, 'code'> {
  /** Default 'AR' (original mode). Use 'CR' when the sender is known to use enhanced mode. */
  readonly code?: AckCode;
  /** MSH-12 when the original's cannot be read. Default '2.5.1'. */
  readonly fallbackVersion?: string;
}

/**
 * Negative ACK for a message whose MSH could not be parsed: recovers what it can from the raw
 * text (MSH-3, -4, -9.2, -10, -11, -12, -18) so the sender can correlate the ACK (MSA-2 = MSH-10
 * when readable), and defaults the rest.
 */
export function buildAckForUnparseable(raw: string | Hl7AckSubject, options: BuildAckForUnparseableOptions): string {
  const recovered = typeof raw === 'string' ? recoverHeaderFragments(raw) : raw;
  const { code = 'AR', fallbackVersion = '2.5.1', ...rest } = options;
  return buildAck(
    {
      ...recovered,
      version: recovered.version !== undefined && recovered.version !== '' ? recovered.version : fallbackVersion,
      processingId: recovered.processingId !== undefined && recovered.processingId !== '' ? recovered.processingId : 'P',
    },
    { ...rest, code },
  );
}

/**
 * Best-effort header fields from raw text whose MSH may be broken. Reads the first line that
 * starts with MSH, using its 4th character as field separator and MSH-2's first character (or ^)
 * as component separator. Values are taken verbatim (not unescaped).
 */
export function recoverHeaderFragments(raw: string): Hl7AckSubject {
  const line = raw
    .replace(/^\uFEFF/, '')
    .split(/\r\n|\r|\n/)
    .map((l) => l.trimStart())
    .find((l) => l.startsWith('MSH'));
  if (line === undefined || line.length < 4) return {};
  const sep = line[3];
  if (sep === undefined || /[A-Za-z0-9\s]/.test(sep)) return {};
  const fields = line.split(sep);
  const component = fields[1]?.[0] !== undefined && !/[A-Za-z0-9\s]/.test(fields[1][0]) ? fields[1][0] : '^';
  const at = (n: number): string => (fields[n - 1] ?? '').split(component)[0].trim();
  const nineTwo = (fields[8] ?? '').split(component)[1] ?? '';
  const repetition = fields[1]?.[1];
  const msh18 = at(18);
  return {
    sendingApplication: at(3),
    sendingFacility: at(4),
    triggerEvent: nineTwo.trim(),
    controlId: at(10),
    processingId: at(11),
    version: at(12),
    characterSet: repetition !== undefined && repetition !== component ? msh18.split(repetition)[0].trim() : msh18,
  };
}

/** Maps a parse or charset failure to an ACK error (no PHI: their messages never contain content). */
export function ackErrorFor(error: Hl7ParseError | Hl7CharsetError): Hl7AckError {
  if (error instanceof Hl7CharsetError) {
    return {
      code: error.code === 'UNKNOWN_CHARSET' ? Hl7ErrorCodes.TableValueNotFound : Hl7ErrorCodes.DataTypeError,
      severity: 'E',
      location: { segment: 'MSH', sequence: 1, field: 18 },
      userMessage: error.message,
    };
  }
  const parseError = error;
  const { segmentName, segmentIndex, field } = parseError.location;
  const syntax = parseError.code === 'INVALID_FIELD_SEPARATOR' || parseError.code === 'INVALID_ENCODING_CHARACTERS';
  return {
    code: syntax ? Hl7ErrorCodes.DataTypeError : Hl7ErrorCodes.SegmentSequenceError,
    severity: 'E',
    ...(segmentName !== undefined ? { location: field !== undefined ? { segment: segmentName, sequence: 1, field } : { segment: segmentName } } : {}),
    userMessage: parseError.message,
    diagnostic: `${parseError.code} at segment ${segmentIndex}`,
  };
}

function errSegment(error: Hl7AckError, legacy: boolean): string {
  const text = HL7_ERROR_CODE_TEXT[error.code];
  const loc = error.location;
  const erl = loc
    ? trimComponents([
        esc(loc.segment),
        String(loc.sequence ?? 1),
        num(loc.field),
        num(loc.field !== undefined ? (loc.fieldRepetition ?? 1) : undefined),
        num(loc.component),
        num(loc.subComponent),
      ])
    : '';
  const eld = legacy
    ? [esc(loc?.segment ?? ''), loc ? String(loc.sequence ?? 1) : '', num(loc?.field), `${error.code}&${esc(text)}&HL70357`].join('^')
    : '';
  return joinFields([
    'ERR',
    eld,
    erl,
    `${error.code}^${esc(text)}^HL70357`,
    error.severity ?? 'E',
    '',
    '',
    esc(error.diagnostic ?? ''),
    esc(error.userMessage ?? ''),
  ]);
}

function isMessage(value: Hl7Message | Hl7AckSubject): value is Hl7Message {
  return 'segments' in value && Array.isArray((value as { segments?: unknown }).segments);
}

/** Re-escapes the first repetition of an original MSH field, component by component. */
function echoField(msh: Hl7Segment, field: number): string {
  const rep = msh.repetitions(field)[0];
  if (rep === undefined) return '';
  const components: string[] = [];
  for (let c = 1; c <= rep.componentCount; c++) components.push(rep.subComponents(c).map(esc).join(ENC.subComponent));
  return trimComponents(components);
}

/** v2.1–2.4 use ERR-1 (ELD) and MSA-3; v2.5 introduced ERR-2..ERR-12. */
function isLegacyErrVersion(version: string): boolean {
  const match = /^2\.(\d+)/.exec(version);
  return match !== null && Number(match[1]) < 5;
}

/** MSG.3 (message structure) was added in v2.3.1. */
function hasMessageStructure(version: string): boolean {
  return !/^2\.[12](\.|$)/.test(version) && version !== '2.3';
}

/** HL7 DTM in UTC with explicit offset (v2.5 §2.A.22), e.g. 20240301101500+0000. */
export function formatDtm(date: Date): string {
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${p(date.getUTCFullYear(), 4)}${p(date.getUTCMonth() + 1)}${p(date.getUTCDate())}${p(date.getUTCHours())}${p(date.getUTCMinutes())}${p(date.getUTCSeconds())}+0000`;
}

function num(value: number | undefined): string {
  return value === undefined ? '' : String(value);
}

function trimComponents(components: readonly string[]): string {
  let end = components.length;
  while (end > 0 && components[end - 1] === '') end--;
  return components.slice(0, end).join(ENC.component);
}

function joinFields(fields: readonly string[]): string {
  let end = fields.length;
  while (end > 1 && fields[end - 1] === '') end--;
  return fields.slice(0, end).join(ENC.field);
}
