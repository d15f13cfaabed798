/** Why a message could not be parsed. Stable codes for metrics and operator dashboards. */
export type Hl7ParseErrorCode =
  | 'EMPTY_MESSAGE'
  | 'MISSING_MSH'
  | 'BATCH_NOT_SUPPORTED'
  | 'INVALID_FIELD_SEPARATOR'
  | 'INVALID_ENCODING_CHARACTERS'
  | 'INVALID_SEGMENT_ID'
  | 'UNEXPECTED_MSH';

/** Where a parse error was found. Segment index is 1-based in message order (MSH = 1). */
export interface Hl7ErrorLocation {
  readonly segmentIndex: number;
  /** Segment id when it is a well-formed id (never the raw text of a malformed line). */
  readonly segmentName?: string;
  readonly field?: number;
}

/**
 * A message that cannot be parsed at all. The message text says what was wrong and where
 * (docs/conventions.md §12) and never contains field values, so it may be logged and returned to the
 * sender in ERR-8 as is.
 */
export class Hl7ParseError extends Error {
  override readonly name = 'Hl7ParseError';

  constructor(
    readonly code: Hl7ParseErrorCode,
    readonly location: Hl7ErrorLocation,
    message: string,
  ) {
    super(message);
  }

  /** "MSH-2", "segment 4 (PID)", … for log lines. */
  get where(): string {
    const { segmentName, segmentIndex, field } = this.location;
    if (segmentName !== undefined && field !== undefined) return `${segmentName}-${field}`;
    return segmentName !== undefined ? `segment ${segmentIndex} (${segmentName})` : `segment ${segmentIndex}`;
  }
}

export function isHl7ParseError(value: unknown): value is Hl7ParseError {
  return value instanceof Hl7ParseError;
}
